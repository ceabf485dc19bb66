#!/opt/s3/bin/python
"""`mc ready local`, as compose.yml's healthcheck asks MinIO: exits 0 once the S3 API answers."""
import sys
import urllib.request

try:
    urllib.request.urlopen("http://127.0.0.1:9000/", timeout=2)
except Exception as error:  # noqa: BLE001 (any failure means not ready)
    print(f"not ready: {error}", file=sys.stderr)
    sys.exit(1)
