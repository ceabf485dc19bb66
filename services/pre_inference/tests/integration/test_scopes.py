"""Every route asks atelier_identity.scopes (the platform's one list and rule) for its scope:
an API key without it gets 403 insufficient_scope, one with it and a user's own session pass."""
import uuid

import pytest
from atelier_identity.scopes import KEY_SCOPES

from app.api.deps import require_scope

pytestmark = pytest.mark.integration
JOB = {"kind": "txt2img", "prompt": "a lighthouse", "width": 64, "height": 64, "steps": 1}
ROUTES = [
    ("POST", "/api/v1/jobs", "jobs:write"),
    ("DELETE", "/api/v1/jobs/{job}", "jobs:write"),
    ("GET", "/api/v1/jobs", "jobs:read"),
    ("GET", "/api/v1/jobs/{job}", "jobs:read"),
    ("GET", "/api/v1/jobs/{job}/events", "jobs:read"),
    ("GET", "/api/v1/images", "images:read"),
    ("DELETE", "/api/v1/images/{job}", "jobs:write"),
    ("GET", "/api/v1/usage", "usage:read"),
]


@pytest.mark.parametrize("method,path,scope", ROUTES)
async def test_a_key_without_the_routes_scope_is_refused(client, make_token, method, path, scope):
    others = [s for s in KEY_SCOPES if s != scope]
    token = make_token(key_id=str(uuid.uuid4()), scopes=others)
    response = await client.request(method, path.format(job=uuid.uuid4()), json=JOB if method == "POST" else None,
                                    headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "insufficient_scope" and scope in response.json()["error"]["message"]


@pytest.mark.parametrize("method,path,scope", ROUTES)
async def test_a_key_with_the_scope_and_a_session_get_past_the_check(client, make_token, method, path, scope):
    user = str(uuid.uuid4())
    for token in (make_token(sub=user, key_id=str(uuid.uuid4()), scopes=[scope]), make_token(sub=user)):
        response = await client.request(method, path.format(job=uuid.uuid4()), json=JOB if method == "POST" else None,
                                        headers={"Authorization": f"Bearer {token}"})
        # 404: the made-up job is nobody's; 429: the key's job holds the free user's one live slot.
        assert response.status_code in (200, 202, 404, 429), response.text


async def test_an_unknown_scope_in_a_route_fails_at_start():
    with pytest.raises(ValueError):
        require_scope("jobs:wirte")
