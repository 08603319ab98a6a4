"""The REST API's shared machinery: token authentication, JSON errors, body limit, throttling,
idempotency keys, cursor pagination and the schema. The resources are in each app's api.py
(accounts: companies; orders: services, subscriptions; imports: scheduled provisionings, imports)."""
