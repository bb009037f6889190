"""Task templates: the milestones every capable supplier on a project must meet."""
