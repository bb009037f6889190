"""Suppliers, their capabilities and their assignments to projects."""
