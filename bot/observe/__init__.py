"""What an operator sees of a running bot (issue #14): Prometheus metrics and the ids bound to log records.

Services import `bot.observe.context` (bound ids) and take the `Metrics` the wiring builds; nothing here
imports a service, an adapter or an SDK beyond prometheus_client and structlog.
"""
