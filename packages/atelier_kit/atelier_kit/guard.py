"""The production secret guard: one list of development markers, one minimum length.

Pure functions raising ``InsecureSetting`` (a ValueError, so a pydantic validator turns it
into a ValidationError as it is; the Django face converts it to ImproperlyConfigured). Either
way the process stops before it serves anything.
"""
from __future__ import annotations

from .defaults import dev_secret

ENVIRONMENTS = ("development", "test", "production")
# One list: a value containing any of these was written for a development checkout (or is
# RabbitMQ's well-known guest login).
DEVELOPMENT_MARKERS = ("insecure", "change-me", "changeme", "development", "example", "secret-key", "dev-only",
                       "guest:guest")
# A value starting with these names its purpose instead of being random ("dev-...", "test-...").
DEVELOPMENT_PREFIXES = ("dev-", "dev_", "test-", "test_", "example", "changeme", "change-me", "secret-", "secret_")
MIN_SECRET_LENGTH = 32
MIN_SECRET_UNIQUE_CHARS = 5


class InsecureSetting(ValueError):
    """A setting production must not start with. ``problems`` lists every one found."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("refusing to start in production: " + "; ".join(self.problems))


def atelier_env(value: str | None) -> str:
    env = (value or "development").strip()
    if env not in ENVIRONMENTS:
        raise InsecureSetting(f"ATELIER_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    return env


def has_development_marker(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in DEVELOPMENT_MARKERS)


def looks_like_development(value: str) -> bool:
    return has_development_marker(value) or value.lower().startswith(DEVELOPMENT_PREFIXES)


def secret_problem(name: str, value: str | None, *, development_default: str | None = None,
                   min_length: int = MIN_SECRET_LENGTH) -> str | None:
    """Why ``value`` may not be a production secret, or None when it may."""
    if not value:
        return f"{name} must be set when ATELIER_ENV=production"
    if (len(value) < min_length or len(set(value)) < MIN_SECRET_UNIQUE_CHARS or looks_like_development(value)
            or value == development_default):
        return (f"{name} looks like a development default or is weak: use at least {min_length} random "
                f"characters in production")
    return None


def secret(env: str, name: str, value: str | None, *, development_default: str | None = None,
           min_length: int = MIN_SECRET_LENGTH) -> str:
    """A secret (a signing key, a shared token, a webhook secret). Outside production an unset
    one falls back to a marked development value; production refuses missing, short,
    repetitive or development-looking ones."""
    if env != "production":
        return value or development_default or dev_secret(name)
    problem = secret_problem(name, value, development_default=development_default, min_length=min_length)
    if problem:
        raise InsecureSetting(problem)
    return value  # type: ignore[return-value]


def url_problem(name: str, value: str | None, *, schemes: tuple[str, ...]) -> str | None:
    """A URL production relies on: set, of the expected scheme, no development credentials."""
    if not value:
        return f"{name} must be set when ATELIER_ENV=production"
    if not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        return f"{name} must be a {'/'.join(schemes)} URL"
    if has_development_marker(value.split("://", 1)[1]):
        return f"{name} uses development credentials"
    return None


def refuse(problems: list[str | None]) -> None:
    """Raise once with every problem found, so an operator fixes them in one go."""
    found = [problem for problem in problems if problem]
    if found:
        raise InsecureSetting(found)
