"""Pure parts of admission: the allowance/credit split, phases, rate-limit headers, uploads."""
import base64
import io
import uuid
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from PIL import Image

from app.adapters import uploads
from app.adapters.admission import seconds_to_midnight, split_charge
from app.adapters.ratelimit import Decision, LimitState
from app.api.presenters import phase_of

TODAY = date(2030, 1, 2)


@pytest.mark.parametrize(
    "used,day,images,expected",
    [(0, TODAY, 3, (3, 0)), (49, TODAY, 3, (1, 2)), (50, TODAY, 2, (0, 2)), (50, date(2030, 1, 1), 2, (2, 0)), (10, None, 4, (4, 0))],
)
def test_allowance_first_then_credits_and_a_new_day_starts_fresh(used, day, images, expected):
    account = SimpleNamespace(allowance_used=used, allowance_day=day)
    assert split_charge(account, images, 50, TODAY) == expected


def test_seconds_to_midnight():
    assert seconds_to_midnight(datetime(2030, 1, 1, 23, 59, 0, tzinfo=timezone.utc)) == 60


@pytest.mark.parametrize(
    "status,step,progress,phase",
    [("running", 0, 0.0, "warming_up"), ("running", None, 0.0, "running"), ("running", 3, 0.1, "running"), ("queued", None, 0.0, "queued"), ("failed", 0, 0.0, "failed")],
)
def test_phase(status, step, progress, phase):
    assert phase_of(SimpleNamespace(status=status, step=step, progress=progress)) == phase


def test_rate_limit_headers():
    refused = Decision(False, 7, [LimitState("key", 600, 0, 12)])
    assert refused.headers() == {"RateLimit-Policy": '"key";q=600;w=60;qu="cost-units"', "RateLimit": '"key";r=0;t=12', "Retry-After": "7"}
    assert "Retry-After" not in Decision(True, 0, [LimitState("user", 5, 4, 12)]).headers()


def png(size=(32, 16), fmt="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, format=fmt)
    return buffer.getvalue()


def test_data_url_and_image_id_sources():
    source = uploads.parse_source("init_image", "data:image/png;base64," + base64.b64encode(png()).decode(), 1024)
    assert source.data == png() and source.image_id is None
    image_id = uuid.uuid4()
    assert uploads.parse_source("mask", str(image_id), 1024).image_id == image_id


@pytest.mark.parametrize("value", ["data:text/plain;base64,AAAA", "data:image/png;base64,@@@", "nope", "data:image/png,raw"])
def test_bad_sources(value):
    with pytest.raises(uploads.UploadError):
        uploads.parse_source("init_image", value, 1024)


def test_oversized_source_is_refused_before_decoding():
    with pytest.raises(uploads.UploadError) as caught:
        uploads.parse_source("init_image", "data:image/png;base64," + "A" * 2000, 1000)
    assert caught.value.code == "payload_too_large"


def test_normalise_reencodes_to_png_and_checks_the_tier():
    out, width, height = uploads.normalise("mask", png(fmt="JPEG"), max_width=64, max_height=64, mask=True)
    assert (width, height) == (32, 16)
    with Image.open(io.BytesIO(out)) as image:
        assert image.format == "PNG" and image.mode == "L"
    with pytest.raises(uploads.UploadError) as caught:
        uploads.normalise("init_image", png((128, 16)), max_width=64, max_height=64, mask=False)
    assert caught.value.code == "exceeds_tier"
    with pytest.raises(uploads.UploadError):
        uploads.normalise("init_image", png(fmt="BMP"), max_width=64, max_height=64, mask=False)
