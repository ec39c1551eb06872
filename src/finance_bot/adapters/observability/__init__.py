"""What an operator sees of the running bot (docs/adr/0007-observability.md): the Prometheus
metrics (`metrics`), the /metrics and /healthz endpoints (`http_endpoints`), the periodic
checks that feed them (`watchdog`) and the JSON logs (`logs`).
"""
