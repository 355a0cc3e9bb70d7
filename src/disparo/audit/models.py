"""The audit_events table (migration 0008)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from disparo.db.base import Base, BigIntId, UTCDateTime, utcnow


class AuditEvent(Base):
    """One operator action or sign-in. Never holds a key: `actor` is the key's name."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # api, dashboard, cli
    # pause, resume, cancel, retry-failed, retry-unknown, redrive, replay, sign-in,
    # failed-sign-in, sign-out, suppress, unsuppress, suppress-import, opt-out-reply
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # done, refused, failed
    batches: Mapped[int | None] = mapped_column(Integer)
    recipients: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(500))
    client: Mapped[str | None] = mapped_column(String(64))
