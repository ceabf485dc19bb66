"""Runs one test tier across every package and service, each in its own directory
(services may share top-level package names such as `config`), and prints one total.
Each tier's total is kept in var/test-totals/ so that `total` can sum a whole run.

    python infra/local/run_tests.py unit|integration|e2e|deploy
    python infra/local/run_tests.py total
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTEST = str(ROOT / ".venv" / "bin" / "pytest")
PROJECTS = [
    "packages/atelier_kit",
    "packages/atelier_contracts",
    "packages/atelier_messaging",
    "packages/atelier_identity",
    "packages/atelier_storage",
    "packages/atelier_devkit",
    "packages/atelier_django",
    "packages/atelier_client",
    "services/auth",
    "services/payments",
    "services/pre_inference",
    "services/inference",
    "services/gateway",
    "infra/monitoring",
    "infra/images",
    "infra/k8s",
]
MARKERS = {"unit": "not integration", "integration": "integration"}
COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TOTALS_DIR = ROOT / "var" / "test-totals"


def run(command: list[str], directory: Path, summary: re.Pattern[str]) -> tuple[dict[str, int], int, float]:
    """Stream the command's output; count from its last line matching ``summary``."""
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        plain = ANSI.sub("", line)
        if summary.search(plain):
            tail = plain
    code = proc.wait()
    counts: dict[str, int] = {}
    for number, word in COUNTS.findall(tail):
        word = "error" if word.startswith("error") else word
        counts[word] = counts.get(word, 0) + int(number)
    return counts, code, time.monotonic() - started


def print_grand_total() -> int:
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for path in sorted(TOTALS_DIR.glob("*.json")):
        for key, value in json.loads(path.read_text()).items():
            totals[key] += value
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 1 if totals["failed"] else 0


def main() -> int:
    tier = sys.argv[1]
    if tier == "total":
        return print_grand_total()
    totals = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    broken = []
    pytest_summary = re.compile(r"\d+ (passed|failed|errors?|skipped|deselected)|no tests ran")
    pytest = [PYTEST, "-q", "-p", "no:cacheprovider"]
    if tier in ("e2e", "deploy"):
        targets = [(ROOT / "tests", [*pytest, "-m", tier], pytest_summary)]
    else:
        targets = [(ROOT / project, [*pytest, "-m", MARKERS[tier]], pytest_summary) for project in PROJECTS]
    if tier == "unit":
        targets.append((ROOT / "web_client", ["npm", "test", "--silent"], re.compile(r"^\s*Tests\s+\d+")))
    for directory, command, summary in targets:
        print(f"\n=== {tier}: {directory.relative_to(ROOT)} ===", flush=True)
        counts, code, seconds = run(command, directory, summary)
        for key, value in counts.items():
            totals[key] += value
        # 5 = nothing collected for this tier here, which is fine for a single project.
        if code not in (0, 5):
            broken.append(f"{directory.relative_to(ROOT)} (exit {code})")
        print(f"--- {directory.relative_to(ROOT)}: {counts or 'no tests'} in {seconds:.1f}s", flush=True)
    print()
    if broken:
        print(f"{tier} tier failures in: {', '.join(broken)}")
    failed = totals["failed"] + totals["error"]
    if failed == 0 and broken:
        failed = len(broken)
    print(f"{tier}: {totals['passed']} passed, {failed} failed, {totals['skipped']} skipped")
    TOTALS_DIR.mkdir(parents=True, exist_ok=True)
    (TOTALS_DIR / f"{tier}.json").write_text(json.dumps({"passed": totals["passed"], "failed": failed, "skipped": totals["skipped"]}))
    return 1 if broken or failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
