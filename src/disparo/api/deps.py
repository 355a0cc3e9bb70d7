"""FastAPI dependencies every router uses (the API key and scope check is security.RequireScope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from disparo.runtime import Runtime

MAX_BIGINT = 2**63 - 1  # larger numbers overflow the database's integers
# Characters PostgreSQL and the provider files can hold (no NUL, no control characters).
SAFE_TEXT = r"^[^\x00-\x1f\x7f]*$"


async def runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    # hand-off on every request for one attribute read.
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]
