"""Staff, against the real services through the gateway: `make staff` makes one identity
that logs into both admins (payments' asks auth), /admin/ leads to both, and staff find a
person's job with its owner and remove an image (pre_inference's staff routes)."""
from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from .flows import claims, verified_user

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STAFF_PASSWORD = "a staff passphrase for the e2e run"


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def staff_email(platform) -> str:
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    made = subprocess.run(["make", "--no-print-directory", "staff", f"EMAIL={email}",
                           f"ENV_FILE={platform['run_dir'] / 'platform.env'}"],
                          cwd=ROOT, env={**os.environ, "ATELIER_STAFF_PASSWORD": STAFF_PASSWORD},
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"created {email} as superuser" in made.stdout
    return email


def admin_login(base_url: str, admin: str, email: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    browser = httpx.Client(base_url=base_url, timeout=30)
    page = browser.get(f"/admin/{admin}/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = browser.post(f"/admin/{admin}/login/", data={"username": email, "password": password,
                                                            "csrfmiddlewaretoken": csrf, "next": f"/admin/{admin}/"})
    return browser, response


def test_admin_home_leads_to_both_admins(client):
    page = client.get("/admin/")
    assert page.status_code == 200
    assert 'href="/admin/auth/"' in page.text and 'href="/admin/payments/"' in page.text


def test_one_staff_identity_logs_into_both_admins(platform, staff_email):
    for admin in ("auth", "payments"):
        browser, response = admin_login(platform["base_url"], admin, staff_email, STAFF_PASSWORD)
        try:
            assert response.status_code == 302 and response.headers["location"] == f"/admin/{admin}/", response.text[:500]
            assert browser.get(f"/admin/{admin}/").status_code == 200
            if admin == "payments":
                entries = browser.get("/admin/payments/ledger/ledgerentry/")
                assert entries.status_code == 200 and "Ledger entries" in entries.text
        finally:
            browser.close()
    browser, wrong = admin_login(platform["base_url"], "payments", staff_email, "not the password")
    browser.close()
    assert wrong.status_code == 200 and "staff account" in wrong.text


def person_with_a_finished_job(client, platform) -> tuple[dict, dict]:
    person = verified_user(client, Path(platform["env"]["ATELIER_MAIL_DIR"]), prefix="staffed")
    job = client.post("/api/v1/jobs", headers=person["headers"],
                      json={"kind": "txt2img", "prompt": "a staff test", "width": 64, "height": 64, "steps": 2}).json()
    deadline = time.monotonic() + 180
    while (body := client.get(f"/api/v1/jobs/{job['id']}", headers=person["headers"]).json())["status"] not in (
            "succeeded", "failed", "canceled"):
        assert time.monotonic() < deadline, body
        time.sleep(0.25)
    assert body["status"] == "succeeded", body
    return person, job


def test_staff_find_a_persons_job_with_its_owner_and_remove_an_image(client, platform, staff_email):
    person, job = person_with_a_finished_job(client, platform)
    person_id = claims(person["tokens"]["access"])["sub"]

    tokens = client.post("/api/auth/token", json={"email": staff_email, "password": STAFF_PASSWORD}).json()
    assert claims(tokens["access"])["staff"] is True
    staff = {"Authorization": f"Bearer {tokens['access']}"}
    found = client.get("/api/v1/staff/jobs", params={"user": person_id}, headers=staff)
    assert found.status_code == 200, found.text
    [seen] = found.json()["items"]
    assert seen["id"] == job["id"] and seen["user_id"] == person_id
    image = seen["images"][0]
    assert client.get("/api/v1/staff/jobs", params={"user": person_id}, headers=person["headers"]).status_code == 403

    # The admin's page finds the same job by the owner's e-mail address and removes the image.
    browser, _ = admin_login(platform["base_url"], "auth", staff_email, STAFF_PASSWORD)
    try:
        page = browser.get("/admin/auth/accounts/user/jobs/", params={"q": person["email"]})
        assert page.status_code == 200 and job["id"] in page.text and image["id"] in page.text, page.text[-2000:]
        assert browser.get(image["url"]).status_code == 200  # the thumbnail's signed URL works
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        removed = browser.post("/admin/auth/accounts/user/jobs/remove-image/",
                               data={"image": image["id"], "q": person["email"], "csrfmiddlewaretoken": csrf})
        assert removed.status_code == 302
        assert "Image removed." in browser.get(removed.headers["location"]).text
    finally:
        browser.close()
    assert client.get("/api/v1/images", headers=person["headers"]).json()["items"] == []
    assert client.get(image["url"]).status_code == 404
    assert client.delete(f"/api/v1/staff/images/{image['id']}", headers=staff).status_code == 404


def test_the_staff_browser_flow(client, platform, staff_email):
    """web_client/e2e/staffFlow.mjs in headless Chromium: screenshots at 1280 and 390 px in
    test-results/e2e/web/staff-*.png."""
    person, _ = person_with_a_finished_job(client, platform)
    shots = ROOT / "test-results" / "e2e" / "web"
    shots.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["node", "e2e/staffFlow.mjs"], cwd=ROOT / "web_client", capture_output=True, text=True, timeout=300,
        env={**os.environ, "BASE_URL": platform["env"].get("ATELIER_PUBLIC_URL") or platform["base_url"],
             "SCREENSHOT_DIR": str(shots), "STAFF_EMAIL": staff_email, "STAFF_PASSWORD": STAFF_PASSWORD,
             "OWNER_EMAIL": person["email"]})
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (shots / "staff-jobs-390.png").is_file() and (shots / "staff-home-1280.png").is_file()
    assert client.get("/api/v1/images", headers=person["headers"]).json()["items"] == []
