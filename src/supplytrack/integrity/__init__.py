"""Data checks: consistency that must hold, quality worth a look."""
