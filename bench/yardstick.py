"""The machine's yardstick for admission: the least a job API can do on this machine.

    .venv/bin/python bench/yardstick.py --port 8200 --redis-url redis://127.0.0.1:6379/0 --prefix yard_1234:

One uvicorn process (uvloop, httptools, no access log: as the gateway runs). POST /jobs
validates a small JSON body with pydantic, LPUSHes it onto a Redis list and answers 202 with
an id; a null worker task in the same process BRPOPs each job and publishes "done" on a
pub/sub channel of its own. No auth, no database, no broker: bench/admission.py puts it
under the same load as the platform, in the same run, so the platform's figures can be read
against what this machine gives the simplest possible endpoint. Every key it writes starts
with --prefix; the caller deletes them (admission.py does, also on errors).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator, Literal

import redis.asyncio as redis
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

REDIS_TIMEOUT_S = 5
# BRPOP waits at most this long, so the worker notices a shutdown (its socket timeout stays above it).
BRPOP_WAIT_S = 1


class JobIn(BaseModel):
    """The same fields and bounds as the platform's small jobs, validated as strictly."""
    model_config = ConfigDict(strict=True, extra="forbid")

    kind: Literal["txt2img"]
    prompt: str = Field(min_length=1, max_length=2000)
    width: int = Field(ge=64, le=2048, multiple_of=8)
    height: int = Field(ge=64, le=2048, multiple_of=8)
    steps: int = Field(ge=1, le=150)


class Accepted(BaseModel):
    id: str


def queue_key(prefix: str) -> str:
    return f"{prefix}queue"


def done_channel(prefix: str, job_id: str) -> str:
    return f"{prefix}done:{job_id}"


async def null_worker(client: redis.Redis, prefix: str) -> None:
    """Takes each job off the list and says it is done, like a worker whose model takes no time."""
    while True:
        popped = await client.brpop([queue_key(prefix)], timeout=BRPOP_WAIT_S)
        if popped is not None:
            job = json.loads(popped[1])
            await client.publish(done_channel(prefix, job["id"]), "done")


def create_app(redis_url: str, prefix: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Two clients: the worker's BRPOP holds a connection while it waits.
        app.state.redis = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_S,
                                               socket_connect_timeout=REDIS_TIMEOUT_S)
        worker_redis = redis.Redis.from_url(redis_url, socket_timeout=BRPOP_WAIT_S + REDIS_TIMEOUT_S,
                                            socket_connect_timeout=REDIS_TIMEOUT_S)
        worker = asyncio.create_task(null_worker(worker_redis, prefix))
        try:
            yield
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await worker_redis.aclose()
            await app.state.redis.aclose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/jobs", status_code=202)
    async def submit(job: JobIn) -> Accepted:
        job_id = str(uuid.uuid4())
        await app.state.redis.lpush(queue_key(prefix), json.dumps({"id": job_id, **job.model_dump()}))
        return Accepted(id=job_id)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", required=True, help="every Redis key starts with it")
    args = parser.parse_args()
    uvicorn.run(create_app(args.redis_url, args.prefix), host="127.0.0.1", port=args.port, loop="uvloop",
                http="httptools", access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
