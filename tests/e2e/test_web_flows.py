"""Every flow of the single-page app in headless Chromium (web_client/e2e/flows.mjs): account
life cycle, generation with live progress and cancel, gallery, pricing -> sandbox checkout ->
billing, API keys and usage. Screenshots (1280 and 390 px wide) go to test-results/e2e/web/.

A flow whose route the platform does not serve yet exits 3 and is skipped with the reason,
never counted as passed."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results" / "e2e" / "web"
UNSUPPORTED = 3


@pytest.mark.parametrize("flow", ["account", "generate", "billing", "keys", "finish", "jobs", "gallery", "edit", "preview", "plans", "webhooks", "loras"])
def test_web_flow(platform, flow):
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = platform["env"]
    # The browser uses the public address: the sandbox checkout returns there, and the session
    # (localStorage) belongs to one origin.
    base_url = env.get("ATELIER_PUBLIC_URL") or platform["base_url"]
    result = subprocess.run(
        ["node", "e2e/flows.mjs", flow],
        cwd=ROOT / "web_client",
        env={**os.environ, "BASE_URL": base_url, "SCREENSHOT_DIR": str(SHOTS),
             "ATELIER_MAIL_DIR": str(env["ATELIER_MAIL_DIR"])},
        capture_output=True, text=True, timeout=400,
    )
    print(result.stdout, result.stderr)
    if result.returncode == UNSUPPORTED:
        pytest.skip(f"{flow}: the platform lacks a route: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(SHOTS.glob(f"{flow}-*-1280.png")), "the flow saved no screenshot"
