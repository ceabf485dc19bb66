"""A container's HEALTHCHECK: `python -m atelier_kit.healthcheck http://127.0.0.1:PORT/healthz`.

The images carry no curl; this asks the URL with a short timeout and exits 0 on a 2xx answer,
1 on anything else (refused, timed out, an error status), printing why for `podman inspect`.
"""
from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_S = 3.0


def check(url: str, *, timeout_s: float = TIMEOUT_S) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (a fixed local URL)
            return 200 <= response.status < 300, f"{response.status} from {url}"
    except urllib.error.HTTPError as error:
        return False, f"{error.code} from {url}"
    except (OSError, ValueError) as error:
        return False, f"{url}: {error}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m atelier_kit.healthcheck URL", file=sys.stderr)
        return 2
    healthy, why = check(argv[0])
    print(why)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
