"""The public tier table is the policy admission enforces, and needs no token."""
import pytest

from app.domain import policy

pytestmark = pytest.mark.integration


async def test_anyone_reads_what_each_tier_allows(client, app):
    response = await client.get("/api/v1/tiers")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=60"
    body = response.json()
    by_tier = {tier["tier"]: tier for tier in body["tiers"]}
    enforced: policy.TierPolicy = app.state.tier_policy
    assert set(by_tier) == set(enforced.tiers)
    free = enforced.limits_for("free")
    assert by_tier["free"]["cost_units_per_minute"] == free.requests_per_minute
    assert (by_tier["free"]["max_width"], by_tier["free"]["images_per_day"]) == (free.max_width, free.images_per_day)
    assert by_tier["partner"]["per_key"] is True and by_tier["free"]["per_key"] is False
    assert body["cost_unit"] == {"width": 512, "height": 512, "steps": 30}
