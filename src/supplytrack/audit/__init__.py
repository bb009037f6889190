"""The audit trail: one history row for every change of a task instance."""
