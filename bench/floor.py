"""The physical floor of a CDA campaign: the least work any dispatcher must do, done bare.

Fetch the rows from WordPress, check and de-duplicate the phones, COPY the recipients into
PostgreSQL, POST one CDA import of every valid recipient (per 100,000), and POST the
`enviado` webhook: no queue, no batches, no retries, no recovery, one process. What disparo
does beyond this is what its guarantees cost; `bench_cda_100k.py` runs both in one run and
prints the ratio (issue 13: ≤ 2×).

Fair to the floor: it uses the fastest tools at hand (orjson on the whole body, asyncpg's
binary COPY, one pre-built CDA body per request) and the same phone rule as disparo
(`normalize_phone`). It holds the whole campaign in memory, which disparo must not.

    .venv/bin/python bench/floor.py [--recipients 100000]    # alone, with its own simulators

bench_cda_100k.py runs it as its own process (as disparo's worker is), against its stand.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson

from disparo.campaigns.rows import env_id_of, normalize_phone, text

CDA_BATCH = 100_000
TABLE = "floor_messages"
COLUMNS = ("campaign_id", "row_index", "phone", "name", "cpf_cnpj", "env_id", "status")


@dataclass(frozen=True)
class Stand:
    """Where the floor finds WordPress (with its master key) and its scratch database."""

    wordpress_url: str
    wordpress_key: str
    database_url: str  # a plain postgresql:// URL, for asyncpg


async def run_floor(stand: Stand, agendamento_id: str) -> dict[str, Any]:
    """One campaign, timed from the first byte asked of WordPress to the webhook's answer."""
    headers = {"X-API-KEY": stand.wordpress_key, "Accept": "application/json"}
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(phase: str) -> None:  # where the floor's own time goes (bench/README.md)
        phases[phase] = round(time.perf_counter() - started - sum(phases.values()), 3)

    async with httpx.AsyncClient(base_url=stand.wordpress_url, headers=headers, timeout=300) as wp:
        rows = await fetch_rows(wp, agendamento_id)
        lap("fetch_and_parse_s")
        credentials = await fetch_credentials(wp, "cda", env_id_of(rows[0]))
        valid = await record(stand.database_url, rows)
        lap("check_and_copy_s")
        requests = await _post_cda(credentials, valid, rows[0])
        lap("cda_posts_s")
        await post_webhook(wp, agendamento_id, len(valid), "CDA")
        lap("webhook_s")
    return {
        "seconds": time.perf_counter() - started,
        "rows": len(rows),
        "valid": len(valid),
        "cda_requests": requests,
        "phases": phases,
    }


async def fetch_rows(wp: httpx.AsyncClient, agendamento_id: str) -> list[dict[str, Any]]:
    body = bytearray()
    async with wp.stream("GET", f"/wp-json/campaigns/v1/data/{agendamento_id}") as answer:
        answer.raise_for_status()
        async for chunk in answer.aiter_raw():
            body += chunk
    rows: list[dict[str, Any]] = orjson.loads(body)
    return rows


async def fetch_credentials(wp: httpx.AsyncClient, provider: str, env_id: str) -> dict[str, Any]:
    answer = await wp.get(f"/wp-json/api-manager/v1/credentials/{provider}/{env_id}")
    answer.raise_for_status()
    credentials: dict[str, Any] = answer.json()
    return credentials


async def record(database_url: str, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as recipients (valid ones PENDING, the rest SKIPPED), COPYed in one go."""
    campaign = uuid.uuid4()
    seen: set[str] = set()
    records, valid = [], []
    for index, row in enumerate(rows):
        phone = normalize_phone(text(row, "telefone").strip())
        ok = phone is not None and phone not in seen
        if ok:
            seen.add(phone)  # type: ignore[arg-type]
        record = (
            campaign, index, phone or "", text(row, "nome")[:255], text(row, "cpf_cnpj")[:32],
            env_id_of(row), "PENDING" if ok else "SKIPPED",
        )  # fmt: skip
        records.append(record)
        if ok:
            valid.append(record)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.copy_records_to_table(TABLE, records=records, columns=COLUMNS)
    finally:
        await connection.close()
    return valid


async def _post_cda(
    credentials: dict[str, Any], valid: list[tuple[Any, ...]], first: dict[str, Any]
) -> int:
    url, key = credentials["api_url"], credentials["api_key"]
    requests = 0
    async with httpx.AsyncClient(timeout=300) as client:
        for start in range(0, len(valid), CDA_BATCH):
            chunk = valid[start : start + CDA_BATCH]
            body = {
                "chave_api": key,
                "codigo_equipe": chunk[0][5],
                "codigo_usuario": "1",
                "nome": f"campanha_{chunk[0][5]}_{int(time.time() * 1000)}",
                "ativo": True,
                "corpo_mensagem": text(first, "mensagem"),
                "mensagens": [f"{r[5]};{r[2]};{r[3]};{r[4]};{r[4][-2:]}" for r in chunk],
            }
            answer = await client.post(url, content=orjson.dumps(body))
            answer.raise_for_status()
            requests += 1
    return requests


async def post_webhook(
    wp: httpx.AsyncClient, agendamento_id: str, sent: int, provider: str
) -> None:
    payload = {
        "agendamento_id": agendamento_id,
        "status": "enviado",
        "provider": provider,
        "data_disparo": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "total_enviados": sent,
    }
    answer = await wp.post(
        "/wp-json/webhook-status/v1/update",
        content=orjson.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    answer.raise_for_status()


async def create_table(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, campaign_id uuid, "
            "row_index int, phone varchar(32), name varchar(255), cpf_cnpj varchar(32), "
            "env_id varchar(100), status varchar(16))"
        )
    finally:
        await connection.close()


async def _alone(recipients: int) -> None:
    from disparo.db.scratch import scratch_database
    from disparo.http_server import start_server
    from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
    from disparo.sim.wordpress import WordPressSimulator

    wordpress, cda = WordPressSimulator(master_key="floor-key"), CdaSimulator(api_key="cda-key")
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    async with (
        scratch_database(admin, "disparo_floor") as database_url,
        await start_server(wordpress.app) as wp_server,
        await start_server(cda.app) as cda_server,
    ):
        wordpress.set_credentials(
            "cda", {"api_url": cda_server.url + IMPORT_PATH, "api_key": "cda-key"}
        )
        await create_table(database_url)
        wordpress.seed_campaign("C20251201000000", recipients)
        stand = Stand(wp_server.url, "floor-key", database_url)
        print(await run_floor(stand, "C20251201000000"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument(
        "--stand", help="JSON of a Stand: run against these (bench_cda_100k.py passes its own)"
    )
    parser.add_argument("--agendamento", help="with --stand: the campaign seeded there")
    args = parser.parse_args()
    # A bare script holding a whole campaign's objects would not let the collector walk
    # them again and again while it builds them (3 of orjson's 7 s at 1,000,000 rows).
    gc.disable()
    if args.stand:
        stand = Stand(**orjson.loads(args.stand))
        print(orjson.dumps(asyncio.run(run_floor(stand, args.agendamento))).decode())
    else:
        asyncio.run(_alone(args.recipients))


if __name__ == "__main__":
    main()
