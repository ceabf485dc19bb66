"""Property-based fuzzing of every public route from the gateway's merged OpenAPI document,
through the gateway, with inputs that fit the schema and inputs that break it: no answer is a
5xx, and every error is in the platform's shape. Bounded in examples and in time; the counts
go to test-results/fuzz-openapi.json and the end of the run's output."""
from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "test-results" / "fuzz-openapi.json"
EXAMPLES = int(os.environ.get("ATELIER_FUZZ_EXAMPLES", "25"))
BUDGET_S = float(os.environ.get("ATELIER_FUZZ_BUDGET_S", "180"))
# Routes whose whole point is to end the caller's session or account: fuzzing them with a real
# token could only log the fuzzer out, after which every other route answers 401.
SPARED = {("POST", "/api/auth/logout"), ("DELETE", "/api/auth/account"), ("POST", "/api/auth/password/change")}
# The compatible front doors that hold the answer until the images exist: inputs that fit would
# each wait for a generation, so they get only the inputs that break the schema.
SYNCHRONOUS = {("POST", "/v1/images/generations"), ("POST", "/v1/images/edits"), ("POST", "/sdapi/v1/txt2img"),
               ("POST", "/sdapi/v1/img2img")}


# uvicorn's HTTP parser answers bytes that are not legal in a request line or header (RFC 9110)
# itself, before any application code: a bare 400 with this text is the HTTP layer, not a leak.
HTTP_PARSER_REFUSAL = "Invalid HTTP request received."


class _FromAddress(HTTPAdapter):
    """Connections from one loopback address: each operation is fuzzed from its own, so the
    gateway's per-address limits on auth routes slow each operation, not the whole run."""

    def __init__(self, address: str):
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def _session_from(index: int) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(f"127.0.{10 + index // 250}.{1 + index % 250}"))
    return session


def _header(response, name: str) -> str:
    """schemathesis' Response keeps each header as a list of values."""
    values = response.headers.get(name) or [""]
    return values[0] if isinstance(values, list) else values


def _error_shape_problem(response, path: str) -> str | None:
    if response.status_code == 400 and response.text == HTTP_PARSER_REFUSAL:
        return None
    if not _header(response, "content-type").startswith("application/json"):
        return f"content-type {_header(response, 'content-type')!r}"
    if path.startswith("/sdapi/"):
        # AUTOMATIC1111's shapes: FastAPI's {"detail": [...]} or its {"error", "detail", ...}.
        body = response.json()
        return None if isinstance(body, dict) and "detail" in body else f"not A1111's error shape: {body!r}"
    try:
        error = response.json()["error"]
        if path.startswith("/v1/") and not isinstance(error.get("type"), str):
            return f"not OpenAI's error shape: {error!r}"
    except (ValueError, KeyError, TypeError):
        return "no error object"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return f"error without code/message: {error!r}"
    if not _header(response, "x-request-id"):
        return "no request id"
    return None


def test_every_public_route_survives_fuzzing(platform, client, person):
    base_url = platform["base_url"]
    document = client.get("/api/openapi.json").json()
    assert not document.get("x-atelier-missing"), document.get("x-atelier-missing")
    schema = schemathesis.openapi.from_dict(document)
    counts: dict[str, Counter] = defaultdict(Counter)
    failures: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, [op.label for op in operations]

    # As the signed-in user and as an anonymous outsider, with inputs that fit and that break the schema.
    passes = [(who, headers, mode) for who, headers in (("user", person["headers"]), ("anonymous", {}))
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    for index, operation in enumerate(operations):
        if (operation.method.upper(), operation.path) in SPARED:
            continue
        session = _session_from(index)
        for who, headers, mode in passes:
            if time.monotonic() - started > BUDGET_S:
                break
            if mode == GenerationMode.POSITIVE and (operation.method.upper(), operation.path) in SYNCHRONOUS:
                continue

            @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.generate], database=None,
                      suppress_health_check=list(HealthCheck), derandomize=False)
            @given(case=operation.as_strategy(generation_mode=mode))
            def probe(case):
                try:
                    response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
                except requests.RequestException as exc:
                    failures.append(f"{operation.label}: no answer ({exc!r})")
                    return
                counts[operation.label][str(response.status_code)] += 1
                if response.status_code >= 500:
                    failures.append(f"{operation.label} ({who}): {response.status_code} for {case.as_curl_command()[:600]}")
                elif response.status_code >= 400:
                    problem = _error_shape_problem(response, operation.path)
                    if problem:
                        failures.append(f"{operation.label} ({who}): {response.status_code} {problem}")

            try:
                probe()
            except Exception as exc:  # noqa: BLE001 - a strategy the library cannot build is reported, not fatal
                if "Unsatisfiable" not in type(exc).__name__ and "InvalidArgument" not in type(exc).__name__:
                    raise
    total = sum(sum(c.values()) for c in counts.values())
    server_errors = sum(n for c in counts.values() for status, n in c.items() if status.startswith("5"))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"requests": total, "routes": len(counts), "operations": len(operations),
                                  "server_errors": server_errors, "seconds": round(time.monotonic() - started, 1),
                                  "by_route": {k: dict(v) for k, v in sorted(counts.items())},
                                  "failures": failures[:50]}, indent=1))
    assert not failures, "\n".join(failures[:20])
    assert total >= 10 * len(counts) and len(counts) >= 20, (total, len(counts))
