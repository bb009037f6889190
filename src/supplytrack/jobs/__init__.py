"""Long operations run by the queue, with their progress in the jobs table."""
