"""Task instances: each supplier's copy of each milestone, and its status machine."""
