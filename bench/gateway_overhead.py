"""Latency the gateway adds: the same requests sent straight to an upstream and through the
gateway, in the same run, from 200 concurrent keep-alive clients; p50/p99 of each and the
difference.

    .venv/bin/python bench/gateway_overhead.py                 # starts upstream + gateway itself
    .venv/bin/python bench/gateway_overhead.py --rate 0        # closed loop: as fast as they go

The upstream is a bare ASGI app (uvicorn, uvloop, httptools) that also serves a JWKS, so the
authenticated route pays for real RS256 verification. The client is a minimal asyncio HTTP/1.1
client so that measuring costs little CPU next to what is measured. Phases alternate
(direct, gateway, direct, ...) so drift in machine load hits both sides alike.

By default the clients are paced (an open loop at --rate requests/s in total): at saturation a
closed loop measures queueing in whichever process is slowest, not the work the gateway adds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")


# ---------------------------------------------------------------- upstream (child process)
def serve_upstream(port: int, jwks_file: str) -> None:
    import uvicorn

    jwks = Path(jwks_file).read_bytes()
    body = json.dumps({"id": "job-1", "status": "queued", "progress": 0.0, "images": []}).encode()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        payload = jwks if scope["path"].endswith("jwks.json") else body
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                loop="uvloop", http="httptools", lifespan="off")


# ---------------------------------------------------------------- client
class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


async def run_phase(port: int, raw: bytes, *, clients: int, requests: int, rate: float, max_s: float) -> dict:
    conns = [Conn(*await asyncio.open_connection("127.0.0.1", port)) for _ in range(clients)]
    latencies: list[float] = []
    errors = 0
    per_client = max(1, requests // clients)
    interval = clients / rate if rate > 0 else 0.0
    start = time.perf_counter()
    deadline = start + max_s

    async def worker(i: int, conn: Conn) -> None:
        nonlocal errors
        next_at = start + (interval * i / clients if interval else 0)
        for _ in range(per_client):
            now = time.perf_counter()
            if now > deadline:
                return
            if interval and next_at > now:
                await asyncio.sleep(next_at - now)
            sent = time.perf_counter()
            status = await conn.request(raw)
            latencies.append(time.perf_counter() - sent)
            if status != 200:
                errors += 1
            next_at += interval

    await asyncio.gather(*(worker(i, c) for i, c in enumerate(conns)))
    elapsed = time.perf_counter() - start
    for conn in conns:
        conn.writer.close()
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# ---------------------------------------------------------------- orchestration
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def make_keys(tmp: Path) -> tuple[str, Path]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = secrets.token_hex(6)
    jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "RS256"}
    jwks_file = tmp / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    now = int(time.time())
    token = jwt.encode({"iss": "atelier-auth", "aud": "atelier", "sub": "00000000-0000-4000-8000-000000000001",
                        "email": "bench@example.com", "tier": "pro", "verified": True, "token_type": "access",
                        "iat": now, "exp": now + 3600, "jti": secrets.token_hex(8)}, key, algorithm="RS256",
                       headers={"kid": kid})
    return token, jwks_file


def start_processes(args, tmp: Path) -> tuple[list[subprocess.Popen], int, int, str]:
    token, jwks_file = make_keys(tmp)
    upstream_port = args.upstream_port or free_port()
    gateway_port = args.gateway_port or free_port()
    procs = [subprocess.Popen([PYTHON, __file__, "--serve-upstream", str(upstream_port), str(jwks_file)])]
    wait_listening(upstream_port)
    upstream = f"http://127.0.0.1:{upstream_port}"
    env = {**os.environ, "ATELIER_ENV": "test", "AUTH_URL": upstream, "PAYMENTS_URL": upstream,
           "PRE_INFERENCE_URL": upstream, "ATELIER_JWKS_URL": f"{upstream}/api/auth/.well-known/jwks.json",
           "ATELIER_REDIS_PREFIX": f"bench_{secrets.token_hex(4)}:",
           # No broker needed: the revocation listener just keeps retrying quietly in the background.
           "ATELIER_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/none",
           "ATELIER_STORAGE_SIGNING_KEY": secrets.token_hex(32)}
    log = open(tmp / "gateway.log", "wb")
    procs.append(subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", str(gateway_port),
         "--no-access-log", "--no-proxy-headers", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning"],
        cwd=ROOT / "services" / "gateway", env=env, stdout=log, stderr=subprocess.STDOUT))
    wait_listening(gateway_port)
    return procs, upstream_port, gateway_port, token


def request_bytes(path: str, token: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: bench", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def measure(args, upstream_port: int, gateway_port: int, token: str) -> None:
    cases = [("public route (/api/auth/...)", "/api/auth/bench", None),
             ("JWT route (/api/v1/..., RS256 verified)", "/api/v1/jobs/bench", token)]
    phase = dict(clients=args.clients, requests=args.requests, rate=args.rate, max_s=args.max_seconds)
    print(f"clients={args.clients} requests/phase={args.requests} rate={'closed loop' if args.rate <= 0 else f'{args.rate:g}/s'} "
          f"rounds={args.rounds}")
    for name, path, tok in cases:
        raw = request_bytes(path, tok)
        await run_phase(gateway_port, raw, **{**phase, "requests": min(1000, args.requests)})  # warm up
        await run_phase(upstream_port, raw, **{**phase, "requests": min(1000, args.requests)})
        direct: list[float] = []
        through: list[float] = []
        errors = 0
        rps = {"direct": [], "gateway": []}
        for _ in range(args.rounds):
            for label, port, sink in (("direct", upstream_port, direct), ("gateway", gateway_port, through)):
                result = await run_phase(port, raw, **phase)
                sink.extend(result["latencies"])
                errors += result["errors"]
                rps[label].append(len(result["latencies"]) / result["elapsed"])
        d50, d99, g50, g99 = pct(direct, .5), pct(direct, .99), pct(through, .5), pct(through, .99)
        print(f"\n{name}: {len(direct)} direct + {len(through)} gateway requests, {errors} non-200")
        print(f"  direct : p50 {d50:7.2f} ms  p99 {d99:7.2f} ms  ({statistics.mean(rps['direct']):.0f} req/s)")
        print(f"  gateway: p50 {g50:7.2f} ms  p99 {g99:7.2f} ms  ({statistics.mean(rps['gateway']):.0f} req/s)")
        verdict = "OK" if g50 - d50 <= 2.0 else "ABOVE TARGET"
        print(f"  added  : p50 {g50 - d50:7.2f} ms  p99 {g99 - d99:7.2f} ms   target p50 <= 2 ms: {verdict}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-upstream":
        serve_upstream(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10_000, help="per phase")
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s in total; 0 = closed loop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per phase")
    parser.add_argument("--upstream-port", type=int, default=0)
    parser.add_argument("--gateway-port", type=int, default=0)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        procs, upstream_port, gateway_port, token = start_processes(args, Path(tmp))
        try:
            try:
                from uvloop import run
            except ImportError:
                run = asyncio.run
            run(measure(args, upstream_port, gateway_port, token))
        finally:
            for proc in reversed(procs):
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    main()
