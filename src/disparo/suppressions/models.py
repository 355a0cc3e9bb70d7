"""The suppressions table (migration 0011)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from disparo.db.base import Base, BigIntId, UTCDateTime, utcnow


class SuppressionSource(StrEnum):
    OPERATOR = "operator"  # added by hand (API, CLI, dashboard)
    IMPORT = "import"  # a CSV import
    REPLY = "reply"  # the person answered an opt-out word (an MO callback)
    PROVIDER = "provider"  # a provider reported the number as opted out or blocked


class Suppression(Base):
    """One person who must never be contacted again, whichever campaign, provider or channel.
    The phone is normalised (disparo.phones), so it matches however a row writes it."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    cpf_cnpj: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # a SuppressionSource value
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # the key name, cli:USER, or the provider
