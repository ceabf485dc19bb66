"""The SPA's precompressed files, through a real gateway: the coding the client accepts, the
right type and caching for each kind of file, and Vary so a shared cache keeps them apart."""
from __future__ import annotations

import gzip

import httpx
import pytest

from app.api.routes.spa import accepted_encodings

pytestmark = pytest.mark.integration

SCRIPT = b"console.log('atelier');" * 200
PAGE = b"<!doctype html><title>Atelier</title><div id=root></div>" + b"<!-- padding -->" * 100
# The gateway never decodes what it sends, so a stand-in for Brotli bytes shows which file went out.
BROTLI_STAND_IN = b"brotli bytes of the script"


@pytest.fixture
def dist(gateway, swap_state, tmp_path):
    (tmp_path / "assets").mkdir()
    script = tmp_path / "assets" / "index-4f9a2c.js"
    script.write_bytes(SCRIPT)
    script.with_name(script.name + ".gz").write_bytes(gzip.compress(SCRIPT))
    script.with_name(script.name + ".br").write_bytes(BROTLI_STAND_IN)
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "index.html.gz").write_bytes(gzip.compress(PAGE))
    (tmp_path / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    swap_state("settings", gateway.state.settings.model_copy(update={"atelier_web_dist": tmp_path}))
    return tmp_path


@pytest.fixture
async def client(gateway):
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10, trust_env=False) as c:
        yield c


async def raw_get(client, path: str, accept_encoding: str) -> tuple[httpx.Response, bytes]:
    """The bytes as they crossed the wire, undecoded."""
    async with client.stream("GET", path, headers={"Accept-Encoding": accept_encoding}) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


async def test_hashed_assets_go_out_in_the_best_accepted_coding_and_are_cached_forever(client, dist):
    for accept, coding, body in (("gzip, deflate, br", "br", BROTLI_STAND_IN),
                                 ("gzip", "gzip", gzip.compress(SCRIPT)),
                                 ("br;q=0, gzip;q=0.5", "gzip", gzip.compress(SCRIPT)),
                                 ("identity", None, SCRIPT)):
        response, raw = await raw_get(client, "/assets/index-4f9a2c.js", accept)
        assert response.status_code == 200, accept
        assert response.headers.get("content-encoding") == coding, accept
        assert raw == body, accept
        assert int(response.headers["content-length"]) == len(body)
        assert response.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["vary"] == "Accept-Encoding"


async def test_a_gzipped_script_decodes_to_the_original(client, dist):
    response = await client.get("/assets/index-4f9a2c.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip" and response.content == SCRIPT


async def test_pages_are_compressed_but_never_cached(client, dist):
    for path in ("/", "/gallery", "/no/such/page?x=1"):
        response, raw = await raw_get(client, path, "gzip, br")
        # No Brotli copy of index.html here: the gateway falls back to the gzip one.
        assert response.headers["content-encoding"] == "gzip", path
        assert gzip.decompress(raw) == PAGE
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["vary"] == "Accept-Encoding"


async def test_the_service_worker_is_revalidated_on_every_load(client, dist):
    response = await client.get("/sw.js")
    assert response.status_code == 200 and "addEventListener" in response.text
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert "content-encoding" not in response.headers  # no precompressed copy: sent as it is


def test_accept_encoding_is_read_with_its_weights():
    assert accepted_encodings("gzip, deflate, br, zstd") >= {"gzip", "br"}
    assert accepted_encodings("br;q=0, gzip") == {"gzip"}
    assert accepted_encodings("*") >= {"br", "gzip"}
    assert accepted_encodings("*, br;q=0") == {"*", "gzip"}
    assert accepted_encodings("gzip;q=abc") == set()
    assert accepted_encodings("") == set()
