"""A tiny ASGI app for test_asgi_workers.py: answers its worker's pid, counts each request with
the kit's HTTP metrics and serves /metrics through the kit's exposition."""
import os

from atelier_kit.metrics import exposition, observe_request


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/metrics":
        body, content_type = exposition()
    else:
        observe_request("demo", "/pid", "GET", 200, 0.001)
        body, content_type = str(os.getpid()).encode(), "text/plain"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type.encode())]})
    await send({"type": "http.response.body", "body": body})
