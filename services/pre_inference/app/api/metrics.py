"""Prometheus metrics of the API process (served at /metrics)."""
from prometheus_client import Counter

JOBS_SUBMITTED = Counter("pre_inference_jobs_submitted_total", "Jobs accepted, by tier", ["tier"])
