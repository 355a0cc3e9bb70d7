"""The preflight: what a dispatch of an agendamento would do, without doing any of it.

It reads the rows and credentials from WordPress the way a dispatch does and runs the rows
through the dispatch's own decision (row_plan.decide_rows), then keeps counters and a few
examples: nothing is sent, nothing is written to the database, a million rows cost what
the dispatch's own stream costs (the set of phones seen, to spot repeats).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import structlog

from disparo.campaigns.estimate import (
    FinishOf,
    NextAllowed,
    always_allowed,
    straight_through,
    timing,
)
from disparo.campaigns.followups import follow_up_for
from disparo.campaigns.opt_outs import reader_lookup
from disparo.campaigns.preflight_report import (
    PreflightReport,
    Problem,
    ReasonTally,
    problem_of,
)
from disparo.campaigns.row_plan import (
    IngestTally,
    chain,
    decide_rows,
    first_row,
    rules_for,
)
from disparo.campaigns.rows import text
from disparo.campaigns.service import served_provider
from disparo.campaigns.windows import WindowError, finish_time, next_opening, windows_from
from disparo.db.base import utcnow
from disparo.errors import Outcome, classify
from disparo.providers.base import GroupsRecipients, Provider
from disparo.providers.policy import policy_for
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

EMPTY_NAME = "nome vazio"
NEVER_OPEN = "a janela de envio da campanha e a do fornecedor nunca abrem juntas"


async def run_preflight(
    rt: Runtime,
    agendamento_id: str,
    *,
    now: datetime | None = None,
    next_allowed: NextAllowed | None = None,
    send_window: dict[str, Any] | None = None,
) -> PreflightReport:
    """The report of a dispatch that does not happen. An unknown prefix or a provider not
    served is the dispatch's 400; everything WordPress answers wrong is in the report.
    `send_window`: the body's janela_envio. `next_allowed` (tests) replaces the windows."""
    code = served_provider(rt, agendamento_id)
    provider = rt.providers[code]
    started = time.perf_counter()
    report = PreflightReport(agendamento_id=agendamento_id, provider=code)
    hours = sending_hours(rt, provider, send_window, report)
    if next_allowed is not None:
        hours = (next_allowed, straight_through)
    tally = IngestTally(batch_size=provider.batch_size())
    rows = rt.wordpress.stream_rows(agendamento_id)
    try:
        await _read(rt, provider, rows, tally, report)
    except Exception as exc:  # WordPress down or its answer unusable: said, not raised
        if classify(exc) == Outcome.CRASHED:
            log.exception("preflight.crashed", agendamento_id=agendamento_id)
        report.problems.append(problem_of(exc))
    finally:
        await rows.aclose()
    _fill_plan(rt, provider, tally, report, now or utcnow(), hours)
    report.seconds = round(time.perf_counter() - started, 3)
    log.info(
        "preflight.done", agendamento_id=agendamento_id, provider=code, rows=report.rows,
        valid=report.valid, batches=report.batches, problems=len(report.problems),
    )  # fmt: skip
    return report


async def _read(
    rt: Runtime,
    provider: Provider,
    rows: AsyncIterator[Any],
    tally: IngestTally,
    report: PreflightReport,
) -> None:
    first, env_id = await first_row(rows)
    report.env_id = env_id
    report.body_text = text(first, "mensagem")[:500]
    credentials = await _credentials(rt, provider, env_id, report)
    skipped, warnings = ReasonTally(), ReasonTally()
    rules = rules_for(provider, credentials, await reader_lookup(rt.sessions))
    async for decision in decide_rows(chain(first, rows), tally, rules):
        if decision.skip_reason is not None:
            skipped.add(decision.skip_reason, decision.index, decision.phone)
        elif not text(decision.row, "nome").strip():
            warnings.add(EMPTY_NAME, decision.index, decision.phone)
    report.skipped_by_reason = skipped.summary()
    report.warnings_by_reason = warnings.summary()


async def _credentials(
    rt: Runtime, provider: Provider, env_id: str, report: PreflightReport
) -> Any:
    """The credentials a dispatch would fetch, or None with the problem in the report."""
    try:
        credentials = await rt.wordpress.credentials_for(provider, env_id)
    except Exception as exc:
        report.problems.append(problem_of(exc, phase="credenciais"))
        if isinstance(provider, GroupsRecipients):
            report.problems.append(
                Problem(
                    phase="credenciais",
                    message="sem credenciais, os grupos de destinatários "
                    f"({provider.ungrouped_reason}) não foram verificados",
                    blocking=False,
                )
            )
        return None
    report.credentials_ok = True
    return credentials


def _fill_plan(
    rt: Runtime,
    provider: Provider,
    tally: IngestTally,
    report: PreflightReport,
    now: datetime,
    hours: tuple[NextAllowed, FinishOf],
) -> None:
    report.rows = tally.total
    report.skipped = tally.skipped
    report.valid = tally.total - tally.skipped
    report.batch_size = tally.batch_size
    report.batches = len(tally.batch_counts)
    report.requests = sum(requests_for(provider, count) for count in tally.batch_counts)
    if tally.total and not tally.batch_counts:
        report.problems.append(
            Problem(
                phase="dados",
                message=f"Nenhum destinatário válido ({tally.skipped} linhas ignoradas)",
            )
        )
    policy = policy_for(rt.settings, provider)
    report.requests_per_second = policy.requests_per_second
    report.recipients_per_second = policy.recipients_per_second
    follow_up = follow_up_for(rt.settings, str(provider.code))
    report.set_timing(timing(tally.batch_counts, policy, now, follow_up, *hours))


def sending_hours(
    rt: Runtime, provider: Provider, spec: dict[str, Any] | None, report: PreflightReport
) -> tuple[NextAllowed, FinishOf]:
    """The send windows the dispatch would obey (the campaign's janela_envio and the
    provider's policy), as the estimate's next opening and paused finish. Windows that never
    open together, or a janela_envio the dispatch would refuse, are a problem in the report
    (the report answers for everything it was given), and the estimate then ignores them."""
    try:
        windows = windows_from(rt.settings, spec, policy_for(rt.settings, provider))
    except WindowError as exc:  # the dispatch would refuse this janela_envio (400)
        report.problems.append(Problem(phase="janela", message=str(exc)))
        return always_allowed, straight_through
    if not windows:
        return always_allowed, straight_through
    if next_opening(windows, utcnow()) is None:
        report.problems.append(Problem(phase="janela", message=NEVER_OPEN))
        return always_allowed, straight_through
    return (
        lambda at: next_opening(windows, at) or at,
        lambda at, duration: finish_time(windows, at, duration),
    )


def requests_for(provider: Provider, recipients: int) -> int:
    """HTTP requests one batch of `recipients` makes: one, unless the adapter splits it."""
    per_request = getattr(provider, "max_recipients_per_request", None)
    if isinstance(per_request, int) and per_request > 0:
        return max(1, math.ceil(recipients / per_request))
    return 1
