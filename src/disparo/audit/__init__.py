"""Who did what to which campaign: every operator action (API, dashboard, CLI) and every
dashboard sign-in, in the audit_events table."""

from __future__ import annotations

from disparo.audit.service import (
    Actor,
    Audited,
    audited,
    describe_filter,
    list_events,
    record_event,
)

__all__ = ["Actor", "Audited", "audited", "describe_filter", "list_events", "record_event"]
