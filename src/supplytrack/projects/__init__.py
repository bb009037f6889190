"""Projects: launch programs with a start date and a start of production (SOP)."""
