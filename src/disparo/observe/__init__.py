"""The state of the whole system read from the database and Redis when scraped (messages by
provider and status, queue depths, dead letters, the webhook outbox) and the /metrics route
that serves it with the process's own counters (disparo.metrics, at the bottom of the stack)."""
