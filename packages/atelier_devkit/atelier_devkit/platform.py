"""The environment of a whole platform run: `make up` (var/dev.env) and the end-to-end
tests (a fresh database, vhost and ports per run) build it the same way.

    python -m atelier_devkit.platform var/dev.env   # write or complete the dev env file
"""
from __future__ import annotations

import hashlib
import os
import secrets
import socket
import sys
from pathlib import Path

from . import SCHEMA_SERVICES
from .postgres import service_dsn

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PORTS = {
    "GATEWAY_PORT": 8000, "AUTH_PORT": 8101, "PAYMENTS_PORT": 8102, "PRE_INFERENCE_PORT": 8103,
    # Prometheus endpoints of the processes that serve no HTTP (loopback only); the Procfile
    # hands each to its process as ATELIER_METRICS_PORT.
    "AUTH_RELAY_METRICS_PORT": 9101, "AUTH_CONSUMER_METRICS_PORT": 9102,
    "PAYMENTS_RELAY_METRICS_PORT": 9111, "PAYMENTS_CONSUMER_METRICS_PORT": 9112, "PAYMENTS_WORKER_METRICS_PORT": 9113,
    "PRE_INFERENCE_RELAY_METRICS_PORT": 9121, "PRE_INFERENCE_CONSUMER_METRICS_PORT": 9122,
    "INFERENCE_METRICS_PORT": 9131,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports() -> dict[str, int]:
    """A free port for each of DEFAULT_PORTS: a platform beside another (the tests, the benches)."""
    return {name: free_port() for name in DEFAULT_PORTS}


def _secret() -> str:
    return secrets.token_urlsafe(48)


def ensure_jwt_key(path: Path) -> None:
    if path.is_file():
        return
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


TINY_FAMILIES = ("sdxl", "sd3", "flux")


def tiny_family_models() -> str:
    """ATELIER_MODELS naming each family's tiny model that `make model` has written."""
    models = ROOT / "var" / "models"
    return ",".join(f"tiny-{family}={models / f'tiny-{family}'}" for family in TINY_FAMILIES
                    if (models / f"tiny-{family}" / "model_index.json").is_file())


def tiny_loras_dir() -> str:
    """The folder of LoRAs `make model` writes for the tiny SD model, once it has ("": none)."""
    loras = ROOT / "var" / "models" / "loras"
    return str(loras) if (loras / ".complete").is_file() else ""


def platform_env(*, var_dir: Path, connections: dict[str, str], ports: dict[str, int] | None = None, keep: dict[str, str] | None = None) -> dict[str, str]:
    """Everything every process reads. ``connections`` holds the database URLs, the AMQP
    URL and the Redis URL/prefix; ``keep`` holds values (secrets) to preserve."""
    keep = keep or {}
    ports = {**DEFAULT_PORTS, **(ports or {})}
    host = "127.0.0.1"
    env = {
        "ATELIER_ENV": keep.get("ATELIER_ENV", "development"),
        "ATELIER_ROOT": str(ROOT),
        **{name: str(port) for name, port in ports.items()},
        "GATEWAY_HOST": keep.get("GATEWAY_HOST", host),
        "AUTH_URL": f"http://{host}:{ports['AUTH_PORT']}",
        "PAYMENTS_URL": f"http://{host}:{ports['PAYMENTS_PORT']}",
        "PRE_INFERENCE_URL": f"http://{host}:{ports['PRE_INFERENCE_PORT']}",
        "ATELIER_JWKS_URL": f"http://{host}:{ports['AUTH_PORT']}/api/auth/.well-known/jwks.json",
        "ATELIER_PUBLIC_URL": keep.get("ATELIER_PUBLIC_URL", f"http://localhost:{ports['GATEWAY_PORT']}"),
        "AUTH_SECRET_KEY": keep.get("AUTH_SECRET_KEY") or _secret(),
        "PAYMENTS_SECRET_KEY": keep.get("PAYMENTS_SECRET_KEY") or _secret(),
        "ATELIER_STORAGE_SIGNING_KEY": keep.get("ATELIER_STORAGE_SIGNING_KEY") or _secret(),
        "ATELIER_INTERNAL_TOKEN": keep.get("ATELIER_INTERNAL_TOKEN") or _secret(),
        "AUTH_API_KEY_PEPPER": keep.get("AUTH_API_KEY_PEPPER") or _secret(),
        "PAYMENTS_SANDBOX_WEBHOOK_SECRET": keep.get("PAYMENTS_SANDBOX_WEBHOOK_SECRET") or _secret(),
        "PAYMENTS_STRIPE_WEBHOOK_SECRET": keep.get("PAYMENTS_STRIPE_WEBHOOK_SECRET", ""),
        "PAYMENTS_STRIPE_API_KEY": keep.get("PAYMENTS_STRIPE_API_KEY", ""),
        "PAYMENTS_PROVIDER": keep.get("PAYMENTS_PROVIDER", "sandbox"),
        "PRE_INFERENCE_WEBHOOK_SECRETS_KEY": keep.get("PRE_INFERENCE_WEBHOOK_SECRETS_KEY") or _secret(),
        # One machine: a partner's receiver in development (and the e2e tests') is on loopback.
        "PRE_INFERENCE_WEBHOOKS_ALLOW_PRIVATE_TARGETS": keep.get("PRE_INFERENCE_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true"),
        "AUTH_JWT_PRIVATE_KEY_FILE": str(var_dir / "keys" / "jwt_private.pem"),
        "ATELIER_STORAGE_DIR": str(var_dir / "storage"),
        "ATELIER_MAIL_DIR": str(var_dir / "mail"),
        "ATELIER_MODEL": keep.get("ATELIER_MODEL", str(ROOT / "var" / "models" / "tiny-sd")),
        # The other families' tiny models (make model), offered beside the default one.
        "ATELIER_MODELS": keep.get("ATELIER_MODELS", tiny_family_models()),
        # The tiny SD model's LoRAs (make model), offered as a partner's would be.
        "ATELIER_LORA_DIR": keep.get("ATELIER_LORA_DIR", tiny_loras_dir()),
        "ATELIER_WEB_DIST": str(ROOT / "web_client" / "dist"),
        "PYTHONUNBUFFERED": "1",
        **connections,
    }
    ensure_jwt_key(Path(env["AUTH_JWT_PRIVATE_KEY_FILE"]))
    for folder in ("storage", "mail"):
        (var_dir / folder).mkdir(parents=True, exist_ok=True)
    return env


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                name, _, value = line.partition("=")
                values[name.strip()] = value.strip()
    return values


def write_env_file(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# Written by `make up`; secrets are random and kept across runs.\n"
    body += "".join(f"{name}={value}\n" for name, value in sorted(env.items()))
    path.write_text(body)
    path.chmod(0o600)


def checkout_id(root: Path = ROOT) -> str:
    """A short, stable name for one checkout of the project on this machine."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]


def state_file(root: Path = ROOT) -> Path:
    """Where a checkout's development secrets are kept outside the work tree as well, so that
    `git clean` (which removes var/) cannot leave the database encrypted under a lost key."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "atelier" / f"{checkout_id(root)}.env"


def dev_env(path: Path, *, root: Path = ROOT) -> dict[str, str]:
    """The development environment of one checkout: its own database, roles, vhost and Redis
    prefix (named after the checkout, so two clones on one machine never share state or reset
    each other's passwords) and stable secrets. An env file written before checkouts were
    named keeps the names it has."""
    keep = {**read_env_file(state_file(root)), **read_env_file(path)}
    name = f"atelier_{checkout_id(root)}"
    database = keep.get("ATELIER_DB_NAME", name)
    role_prefix = keep.get("ATELIER_DB_ROLE_PREFIX", name)
    passwords = {s: keep.get(f"{s.upper()}_DB_PASSWORD") or secrets.token_hex(16) for s in SCHEMA_SERVICES}
    admin = read_env_file(root / "var" / "pg-admin.env").get("ATELIER_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    connections = {
        "ATELIER_PG_ADMIN_DSN": admin,
        "ATELIER_DB_NAME": database,
        "ATELIER_DB_ROLE_PREFIX": role_prefix,
        "ATELIER_AMQP_URL": keep.get("ATELIER_AMQP_URL", f"amqp://guest:guest@127.0.0.1:5672/{name}"),
        "ATELIER_REDIS_URL": "redis://127.0.0.1:6379/0",
        "ATELIER_REDIS_PREFIX": keep.get("ATELIER_REDIS_PREFIX", f"{name}:"),
        **{f"{s.upper()}_DB_PASSWORD": pw for s, pw in passwords.items()},
        **{f"{s.upper()}_DATABASE_URL": service_dsn("127.0.0.1", 5432, database, role_prefix, s, pw) for s, pw in passwords.items()},
    }
    ports = {name: int(keep[name]) for name in DEFAULT_PORTS if name in keep}
    return platform_env(var_dir=path.parent, connections=connections, ports=ports, keep=keep)


def vhost_of(amqp_url: str) -> str:
    return amqp_url.rsplit("/", 1)[-1] or "/"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "var" / "dev.env").resolve()
    env = dev_env(target)
    write_env_file(target, env)
    if target.parent == (ROOT / "var").resolve():
        write_env_file(state_file(), env)  # the development platform's copy outside the tree
    print(f"environment: {os.path.relpath(target, ROOT)} ready (database {env['ATELIER_DB_NAME']}, "
          f"vhost {vhost_of(env['ATELIER_AMQP_URL'])})")
