"""Run the collector, Prometheus and Alertmanager natively, from the repository's configs."""
