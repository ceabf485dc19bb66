"""Provisioning shared by `make up` and the test suites (never imported by service code)."""
SCHEMA_SERVICES = ("auth", "payments", "pre_inference")
