"""The preflight's report (the answer of POST /campaigns/preflight) and its counters."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, computed_field

from disparo.campaigns.estimate import Timing
from disparo.campaigns.rows import reason_kind
from disparo.errors import Outcome, classify, message_of

MAX_EXAMPLES = 20


def mask_phone(phone: str) -> str:
    """Enough of a phone to find the row (country code, area code, last digits), not to
    call it: "5511987654321" -> "5511*****4321"."""
    if len(phone) <= 8:
        return "*" * len(phone)
    return phone[:4] + "*" * (len(phone) - 8) + phone[-4:]


class Example(BaseModel):
    row: int = Field(description="the row's position in WordPress's answer, from 0")
    phone: str = Field(description="masked")


class ReasonCount(BaseModel):
    reason: str
    count: int
    examples: list[Example]


class ReasonTally:
    """Counts per reason kind, with the first MAX_EXAMPLES rows of each: memory bounded by
    the number of kinds, whatever the number of rows."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._examples: dict[str, list[Example]] = {}

    def add(self, reason: str, index: int, phone: str) -> None:
        kind = reason_kind(reason)
        count = self._counts.get(kind, 0)
        self._counts[kind] = count + 1
        if count < MAX_EXAMPLES:
            self._examples.setdefault(kind, []).append(Example(row=index, phone=mask_phone(phone)))

    def summary(self) -> list[ReasonCount]:
        ordered = sorted(self._counts.items(), key=lambda item: (-item[1], item[0]))
        return [ReasonCount(reason=k, count=n, examples=self._examples[k]) for k, n in ordered]


class Problem(BaseModel):
    phase: str = Field(
        description='"dados" (the rows), "credenciais", or "janela" (the send windows)'
    )
    message: str
    # True when a dispatch would fail on it; False for a limit of this report.
    blocking: bool = True
    # True when WordPress was down or busy: a dispatch would retry.
    retryable: bool = False


def problem_of(error: BaseException, phase: str | None = None) -> Problem:
    outcome = classify(error)
    if phase is None:
        credentials = outcome == Outcome.CREDENTIALS or getattr(error, "phase", "") == "credenciais"
        phase = "credenciais" if credentials else "dados"
    if outcome == Outcome.CRASHED:
        message = f"erro ao processar os dados: {type(error).__name__}"
    else:
        message = message_of(error)
    return Problem(phase=phase, message=message, retryable=outcome == Outcome.RETRY)


class SecondStep(BaseModel):
    step: str
    at: datetime
    runs: int = Field(description="requests of the step: one per send batch (GOSAC) or one")


class PreflightReport(BaseModel):
    agendamento_id: str
    provider: str
    env_id: str = ""
    body_text: str = Field("", description="the first row's message (up to 500 characters)")
    rows: int = 0
    valid: int = 0
    skipped: int = 0
    skipped_by_reason: list[ReasonCount] = Field(default_factory=list)
    warnings_by_reason: list[ReasonCount] = Field(
        default_factory=list, description="rows that are sent but look wrong (an empty name)"
    )
    batch_size: int = 0
    batches: int = 0
    requests: int = Field(0, description="HTTP requests to the provider for the sends")
    requests_per_second: float = 0.0
    recipients_per_second: float = 0.0
    earliest_start: datetime | None = None
    estimated_finish: datetime | None = None
    send_seconds: float = 0.0
    second_step: SecondStep | None = None
    credentials_ok: bool = False
    problems: list[Problem] = Field(default_factory=list)
    seconds: float = Field(0.0, description="how long the preflight took")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def would_dispatch(self) -> bool:
        """Whether a dispatch now would plan batches (nothing blocking, someone to send to)."""
        return self.valid > 0 and not any(problem.blocking for problem in self.problems)

    def set_timing(self, value: Timing) -> None:
        self.earliest_start = value.earliest_start
        self.estimated_finish = value.estimated_finish
        self.send_seconds = round(value.send_seconds, 3)
        if value.second_step and value.second_step_at:
            self.second_step = SecondStep(
                step=value.second_step, at=value.second_step_at, runs=value.second_step_runs
            )
