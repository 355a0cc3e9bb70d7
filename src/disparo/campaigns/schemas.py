"""Request and response bodies of the campaign API (CONTRACTS.md 1 and 4.1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from disparo.campaigns.models import CampaignStatus
from disparo.campaigns.repository import MessageView


def _at_most_100_as_sent(value: object) -> object:
    # The length limit holds for the value as sent, not only once stripped: what the OpenAPI
    # document promises (maxLength applies to the JSON string).
    if isinstance(value, str) and len(value) > 100:
        raise ValueError("agendamento_id has more than 100 characters")
    return value


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
