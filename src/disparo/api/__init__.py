"""What the HTTP API's routers share below the campaign domain: the runtime dependency and
the request limits (deps.py), and the routes of the webhook outbox (webhooks.py)."""
