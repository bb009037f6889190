"""supplytrack: supplier launch-program tracking (milestones, due dates, audit, reports)."""

__version__ = "0.1.0"
