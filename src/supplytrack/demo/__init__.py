"""Deterministic demo data at three scales (``supplytrack demo-data``), loaded set-based."""
