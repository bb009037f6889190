"""Contract tests: scope, bad input, OpenAPI and schemathesis over the whole API."""
