"""Working-day calendars of projects (working weekdays and holidays)."""
