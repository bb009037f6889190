"""Moving due dates: shifts in calendar or working days, cascades along dependencies."""
