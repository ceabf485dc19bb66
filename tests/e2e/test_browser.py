"""The same path a person takes, in headless Chromium driven by playwright-core."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_sign_up_to_image_in_the_browser(platform):
    shots = ROOT / "test-results" / "e2e"
    shots.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["node", "e2e/skeleton.mjs"],
        cwd=ROOT / "web_client",
        env={**os.environ, "BASE_URL": platform["base_url"], "SCREENSHOT_DIR": str(shots)},
        capture_output=True, text=True, timeout=300,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(shots.glob("*.png")), "the browser test saved no screenshot"
