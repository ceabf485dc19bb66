"""gunicorn settings of the auth API (infra/local/Procfile: `gunicorn -c config/gunicorn.py`).

Its 2 workers each count their own requests; prometheus_client's multiprocess mode has them
write to files that /metrics adds up. The folder is chosen, wiped and exported here, in the
master, before any worker is forked or anything imports prometheus_client.
"""
from atelier_kit.metrics_multiprocess import child_exit, prepare_multiprocess_dir

prepare_multiprocess_dir("auth")

__all__ = ["child_exit"]  # gunicorn reads hooks from this module's globals
