"""Bulk operations: many statuses or dates at once, previewed, chunked, audited, undoable."""
