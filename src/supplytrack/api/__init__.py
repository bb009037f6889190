"""The HTTP API: routers, their dependencies and parameters (thin: parse, authorise, call)."""
