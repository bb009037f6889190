"""The operations that span domains, each one unit of work: the only callers of several services.

Routers, the CLI and jobs call a flow (or a single service); a flow calls each domain's
service in turn and the date engine (``planning``) in between. Domain services never call
each other.
"""
