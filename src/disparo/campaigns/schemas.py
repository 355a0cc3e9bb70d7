"""Request and response bodies of the campaign API (CONTRACTS.md 1 and 4.1)."""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
)

from disparo.campaigns.models import CampaignStatus
from disparo.campaigns.repository import MessageView


def _at_most_100_as_sent(value: object) -> object:
    # The length limit holds for the value as sent, not only once stripped: what the OpenAPI
    # document promises (maxLength applies to the JSON string).
    if isinstance(value, str) and len(value) > 100:
        raise ValueError("agendamento_id has more than 100 characters")
    return value


_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
_TIME = r"(([01][0-9]|2[0-3]):[0-5][0-9])"
DayKey = Annotated[str, StringConstraints(pattern=rf"^{_DAY}(-{_DAY})?$")]
TimeRange = Annotated[str, StringConstraints(pattern=rf"^{_TIME}-({_TIME}|24:00)$")]


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zones(schema: dict[str, Any]) -> None:
    # Documented as the zones this build knows (tzdata), so the schema is the whole promise.
    schema.clear()
    schema.update(type="string", enum=sorted(_zones()))


class JanelaEnvio(BaseModel):
    """A campaign's send window (README, "Send windows"): e.g. {"timezone":
    "America/Sao_Paulo", "hours": {"mon-fri": "08:00-20:00", "sat": "08:00-14:00"},
    "holidays": ["2026-12-25"]}. Days not named are closed; "fri-mon" wraps around the
    week; "22:00-06:00" runs past midnight. Absent: only the provider's window applies."""

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(None, json_schema_extra=_known_zones)
    hours: Annotated[
        dict[DayKey, TimeRange | Annotated[list[TimeRange], Field(min_length=1, max_length=8)]],
        # Keys are days or day ranges only (pydantic checks them; the schema says so too).
        Field(min_length=1, max_length=7, json_schema_extra={"additionalProperties": False}),
    ]
    # Strict: JSON's "2026-12-25" only (lax pydantic would take a number as a timestamp).
    holidays: Annotated[list[Annotated[date, Strict()]], Field(max_length=366)] = []

    @field_validator("timezone", mode="before")
    @classmethod
    def _a_known_zone(cls, value: object) -> object:
        # What the schema promises (one of the zones listed): not null, not an unknown name.
        if value is None or (isinstance(value, str) and value not in _zones()):
            raise ValueError(
                "not a time zone this disparo knows (IANA names, e.g. America/Sao_Paulo)"
            )
        return value

    def spec(self) -> dict[str, Any]:
        """As sendwindow.parse_window reads it, and as it is stored with the campaign."""
        return self.model_dump(mode="json", exclude_none=True, exclude_unset=True)


class DispatchRequest(BaseModel):
    # WordPress sends credential objects and template fields too; unknown fields are fine.
    model_config = ConfigDict(extra="allow")

    agendamento_id: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            min_length=1,
            max_length=100,
            strict=True,
            pattern=r"^[^\x00-\x1f\x7f]+$",  # no control characters (PostgreSQL refuses NUL)
        ),
        BeforeValidator(_at_most_100_as_sent),
    ]
    # The campaign's own send window; absent or null: none (the panel plugin never sends
    # it). Its shape is checked here, its sense by sendwindow.py at dispatch (400 naming it).
    janela_envio: JanelaEnvio | None = None


class DispatchAccepted(BaseModel):
    success: bool = True
    message: str
    agendamento_id: str
    campaign_id: uuid.UUID
    provider: str
    status: CampaignStatus
    estimated_time: str | None = None


class MessageError(BaseModel):
    phone: str
    error: str
    attempts: int


class WindowWait(BaseModel):
    opens_at: datetime | None = Field(description="When sending resumes; null: never.")
    opens_at_local: str = Field(description='The same in the window\'s zone: "Mon 08:00".')
    timezone: str


class CampaignStatusOut(BaseModel):
    campaign_id: uuid.UUID
    agendamento_id: str
    status: CampaignStatus
    provider: str
    total_messages: int
    sent_messages: int
    failed_messages: int
    skipped_messages: int
    unknown_messages: int
    progress_percentage: int
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error_message: str | None = None
    errors: list[MessageError] | None = None
    # Present only while an operator has the campaign paused.
    paused_at: datetime | None = None
    # Recipients by the provider's latest delivery receipt (SENT, DELIVERED, READ, FAILED,
    # FALLBACK); present once a receipt has arrived (providers with status callbacks).
    delivery: dict[str, int] | None = None
    # Present only while its send window (its own, its provider's) holds the campaign.
    waiting_for_window: WindowWait | None = None
    # Present only while its batches wait for their provider account (circuit breaker open,
    # or the account held by an operator): "aguardando o fornecedor: CDA account … paused …".
    waiting_for: str | None = None


class CampaignPage(BaseModel):
    items: list[CampaignStatusOut]
    total: int
    limit: int
    offset: int


class MessagePage(BaseModel):
    items: list[MessageView]
    next_after: int | None = Field(
        None, description="Pass as `after` to get the next page; null on the last page."
    )
    next_delivery_since: datetime | None = Field(
        None,
        description="With `delivery_since`: pass it back as `delivery_since` (with next_after) "
        "for the next page; null otherwise.",
    )
    as_of: datetime | None = Field(
        None,
        description="disparo's clock when the page was read: a later `delivery_since` pass "
        "starts a little before the as_of of the first page of the previous pass.",
    )
