"""What each image installs: the closure of its service's declared dependencies, checked against
what its code imports, and written as a pinned lock per image (infra/images/locks/<image>.txt).

    .venv/bin/python infra/images/deps.py            # check: every import declared, nothing forbidden, locks current
    .venv/bin/python infra/images/deps.py --write    # rewrite the locks after a dependency change

Declared: the service's pyproject.toml `dependencies` (plus the extras an image needs), followed
through the shared packages' pyproject.toml files and, for third-party distributions, through
the installed metadata (extras and environment markers honoured). Imported: every `import` in the
service's code and in the shared modules it reaches, inside functions too (they run), except
those guarded by `except ImportError` or `if TYPE_CHECKING`. Versions come from
requirements/constraints.txt, the one set every environment is pinned to.
"""
from __future__ import annotations

import argparse
import ast
import importlib.metadata as metadata
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# The Pythons that install these locks: this environment's and the images' (Debian bookworm's
# python3, infra/images/base). A dependency whose marker holds for either is locked: redis, for
# one, needs async-timeout below 3.11.3 only, which the images' 3.11.2 is.
TARGET_PYTHONS = ({}, {"python_full_version": "3.11.2", "python_version": "3.11"})
LOCKS = ROOT / "infra" / "images" / "locks"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
SKIPPED_PARTS = {"tests", "test", "e2e"}


@dataclass(frozen=True)
class Image:
    name: str
    service: str  # folder under services/
    extras: tuple[str, ...] = ()  # requirements the image adds to the service's own
    forbidden: tuple[str, ...] = ()


# Every image: no test tools. The API images: no torch. The worker: no web framework.
TEST_TOOLS = ("pytest", "pytest-asyncio", "pytest-django", "pytest-timeout", "factory-boy", "moto", "aiosmtpd", "honcho")
IMAGES = (
    Image("gateway", "gateway", ("atelier-kit[tracing]",), ("torch", "django", *TEST_TOOLS)),
    Image("auth", "auth", ("atelier-kit[tracing]",), ("torch", "fastapi", *TEST_TOOLS)),
    Image("payments", "payments", ("atelier-kit[tracing]",), ("torch", "fastapi", *TEST_TOOLS)),
    Image("pre-inference", "pre_inference", ("atelier-kit[tracing]",), ("torch", "django", *TEST_TOOLS)),
    Image("inference", "inference", ("atelier-kit[tracing]",), ("django", "fastapi", *TEST_TOOLS)),
)


def local_projects() -> dict[str, dict]:
    """The repository's own distributions (shared packages and services) by canonical name."""
    projects = {}
    for pyproject in [*ROOT.glob("packages/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")]:
        project = tomllib.loads(pyproject.read_text())["project"]
        projects[canonicalize_name(project["name"])] = {**project, "_dir": pyproject.parent}
    return projects


def _requires(name: str, extras: frozenset[str], local: dict[str, dict]) -> list[Requirement]:
    if name in local:
        project = local[name]
        found = [Requirement(r) for r in project.get("dependencies", [])]
        for extra in extras:
            found += [Requirement(r) for r in project.get("optional-dependencies", {}).get(extra, [])]
        return found
    try:
        raw = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        raise SystemExit(f"{name} is required but not installed here: run `make venv`") from None
    found = []
    for text in raw:
        requirement = Requirement(text)
        environments = [{**python, "extra": e} for e in (extras or {""}) for python in TARGET_PYTHONS]
        if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
            found.append(requirement)
    return found


def closure(roots: list[str], local: dict[str, dict]) -> set[str]:
    """Canonical names of every distribution the roots need, the roots included."""
    extras_done: dict[str, set[str]] = {}
    pending = [Requirement(r) for r in roots]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in extras_done:
            new = set(requirement.extras) - extras_done[name]
            if not new:
                continue
        else:
            new = set(requirement.extras)
            extras_done[name] = set()
        extras_done[name] |= new
        pending += _requires(name, frozenset(new), local)
    return set(extras_done)


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside `try: ... except ImportError` or `if TYPE_CHECKING:`: optional, not required."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in parent.handlers):
            return True
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test) and child in parent.body:
            return True
        child, parent = parent, parents.get(parent)
    return False


def _imports_of(path: Path, package: str | None) -> set[str]:
    """Dotted names a module imports (relative imports resolved against ``package``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and not _guarded(node, parents):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not _guarded(node, parents):
            if node.level and package:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
                names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
            elif node.module:
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _shared_module_file(dotted: str) -> Path | None:
    top, *rest = dotted.split(".")
    base = ROOT / "packages" / top / top
    if not base.is_dir():
        return None
    candidate = base.joinpath(*rest)
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_distributions(service_dir: Path) -> dict[str, set[str]]:
    """Distribution -> the files of the service's code (or of shared modules it reaches) that import it."""
    by_module = metadata.packages_distributions()
    queue = [(path, ".".join(path.relative_to(service_dir).with_suffix("").parts[:-1]) or None)
             for path in service_dir.rglob("*.py")
             if not SKIPPED_PARTS & set(path.relative_to(service_dir).parts)
             and not path.name.startswith("test_") and path.name != "conftest.py"]
    seen_files: set[Path] = set()
    found: dict[str, set[str]] = {}
    while queue:
        path, package = queue.pop()
        if path in seen_files:
            continue
        seen_files.add(path)
        where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        for dotted in _imports_of(path, package):
            top = dotted.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            shared = _shared_module_file(dotted)
            if shared is not None:
                queue.append((shared, ".".join(shared.relative_to(ROOT / "packages" / top).with_suffix("").parts[:-1])
                              if shared.name != "__init__.py" else ".".join(shared.parent.relative_to(ROOT / "packages" / top).parts)))
            for distribution in by_module.get(top, []):
                found.setdefault(canonicalize_name(distribution), set()).add(where)
    return found


def pins() -> dict[str, str]:
    pinned = {}
    for line in CONSTRAINTS.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            pinned[canonicalize_name(match.group(1))] = match.group(2)
    return pinned


def lock_text(image: Image, needed: set[str], local: dict[str, dict]) -> str:
    pinned = pins()
    lines = [f"# {image.name}: every distribution its image installs, pinned (infra/images/deps.py --write).",
             f"# The service itself and the shared packages it needs are installed from the checkout:",
             f"# {', '.join(sorted(needed & set(local)))}"]
    for name in sorted(needed - set(local)):
        version = pinned.get(name) or metadata.version(name)
        lines.append(f"{name}=={version}")
    return "\n".join(lines) + "\n"


def check(image: Image, local: dict[str, dict]) -> tuple[list[str], str]:
    project = local[canonicalize_name(local_name(image))]
    needed = closure([*project["dependencies"], *image.extras], local) | {canonicalize_name(project["name"])}
    problems = []
    for distribution, where in sorted(imported_distributions(ROOT / "services" / image.service).items()):
        if distribution not in needed:
            problems.append(f"{image.name}: imports {distribution} (in {', '.join(sorted(where)[:3])}) but does not declare it")
    for name in image.forbidden:
        if canonicalize_name(name) in needed:
            problems.append(f"{image.name}: installs {name}, which it must not")
    return problems, lock_text(image, needed, local)


def local_name(image: Image) -> str:
    return tomllib.loads((ROOT / "services" / image.service / "pyproject.toml").read_text())["project"]["name"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the lock files")
    args = parser.parse_args()
    local = local_projects()
    failed = False
    for image in IMAGES:
        problems, lock = check(image, local)
        for problem in problems:
            print(problem)
        failed |= bool(problems)
        path = LOCKS / f"{image.name}.txt"
        if args.write:
            LOCKS.mkdir(parents=True, exist_ok=True)
            path.write_text(lock)
        elif not path.is_file() or path.read_text() != lock:
            print(f"{image.name}: {path.relative_to(ROOT)} is out of date: run infra/images/deps.py --write")
            failed = True
        print(f"{image.name}: {len(lock.splitlines()) - 3} pinned distributions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
