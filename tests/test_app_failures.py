"""What the API answers when its own dependencies are down: a clear 503, never a bare 500."""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from structlog.testing import capture_logs

from disparo.app import create_app
from disparo.http_server import start_server
from disparo.runtime import open_runtime
from tests.conftest import REDIS_URL
from tests.support import clean_settings


async def test_database_down_answers_503_with_a_message(redis_prefix: str) -> None:
    settings = clean_settings(
        database_url="postgresql://postgres@127.0.0.1:1/nowhere",  # nothing listens on port 1
        redis_url=REDIS_URL,
        queue_prefix=redis_prefix,
        api_keys=[SecretStr("k")],
    )
    runtime = await open_runtime(settings)
    try:
        async with await start_server(create_app(runtime=runtime)) as server:
            headers = {"X-API-KEY": "k"}
            # What is asserted is the answer, not its speed: in one CI run late in the suite
            # this request got no answer within httpx's default 5 s (the body was still
            # being awaited when the client gave up; not reproduced, 0.6 s alone).
            client = httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30)
            async with client as api:
                with capture_logs():
                    dispatched = await api.post(
                        "/campaigns/dispatch", json={"agendamento_id": "C20250115093000"}
                    )
                    ready = await api.get("/ready")
    finally:
        await runtime.close()
    assert dispatched.status_code == 503
    assert dispatched.json()["message"] == "Banco de dados indisponível; tente novamente"
    assert ready.status_code == 503
    assert ready.json()["database"].startswith("error") and ready.json()["redis"] == "ok"
