"""Plumbing shared by every domain: settings, database, errors, schemas, logging."""
