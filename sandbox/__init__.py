"""A Partner Center sandbox: a small HTTP service that stands in for Microsoft on development and test
machines (issue 25, point 2). It runs in its own process (`python -m sandbox --port 8001`) with its own
SQLite file, and only the standard library: the portal never imports it and it imports nothing of the
portal (import-linter contract in pyproject.toml); they talk HTTP, as the portal talks to Microsoft.

Modules: `config` (the environment), `faults` (the fault knobs), `store` (customers, carts, orders,
subscriptions, remembered answers, request counts), `partner_center` (the Partner Center subset),
`server` (HTTP: authentication, headers, idempotency, throttling, faults, the /_sandbox/ endpoints).
"""
