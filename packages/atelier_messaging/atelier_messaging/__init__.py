"""Reliable messaging for Atelier services.

- ``topology``: exchanges, queues, bindings and dead-letter queues, declared idempotently.
- ``publisher``: publishing with broker confirms (the worker, and the relay).
- ``schema``: outbox and inbox tables, shared by Django and SQLAlchemy services.
- ``relay``: publishes committed outbox rows (LISTEN/NOTIFY, polling as fallback).
- ``consumer``: inbox de-duplication, bounded retries with backoff, dead-lettering.
- ``django`` / ``sqlalchemy``: the framework glue.
"""
