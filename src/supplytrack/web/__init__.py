"""The web app: pages for managers and suppliers, rendered on the server (ADR 0017)."""
