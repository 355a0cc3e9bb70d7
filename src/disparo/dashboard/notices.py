"""What the dashboard tells an operator after an action, in its one language (English).

The services answer the API and WordPress in Portuguese (`ControlResult.message`, the
errors' `message`); the dashboard words the same facts itself, from their fields and the
error's kind, so that no page mixes the two languages."""

from __future__ import annotations

from disparo.campaigns.controls import ControlResult
from disparo.dashboard.views import counted
from disparo.errors import BadRequest, Conflict, DisparoError, NotFound, Unavailable

# Why an action was not done, by the kind of error the service raised.
_REFUSALS: list[tuple[type[DisparoError], str]] = [
    (NotFound, "it no longer exists"),
    (Conflict, "it changed meanwhile (it ended, or was cancelled): reload to see it now"),
    (BadRequest, "the value given is not valid"),
    (Unavailable, "a service it needs is not answering: try again in a moment"),
]


def refused(label: str, exc: DisparoError, own: dict[type[DisparoError], str] | None = None) -> str:
    """ "Pause: not done, it changed meanwhile (…)". `own`: what a page knows better, e.g.
    that the value its form refused is a phone number."""
    reasons = list((own or {}).items()) + _REFUSALS
    reason = next((text for kind, text in reasons if isinstance(exc, kind)), None)
    return f"{label}: not done, {reason or f'the service answered {exc.status_code}'}."


def _goes(count: int) -> str:
    return "goes" if count == 1 else "go"


def control_notice(result: ControlResult) -> str:
    """What a campaign control (campaigns/controls.py) did, from its counts."""
    batches, recipients = result.batches, result.recipients
    if result.action == "pause":
        if not result.changed:
            return "The campaign was already paused."
        return f"Campaign paused: {counted(batches, 'batch')} waiting until you resume it."
    if result.action == "resume":
        if not result.changed:
            return "The campaign was not paused."
        return f"Campaign resumed: {counted(batches, 'batch')} back in the queue."
    if result.action == "cancel":
        if not result.changed:
            return "The campaign was already cancelled."
        return (
            f"Campaign cancelled: {counted(batches, 'batch')} "
            f"({counted(recipients, 'recipient')}) will not be sent."
        )
    if not result.changed:
        return "No batch left to send again."
    return (
        f"{counted(batches, 'batch')} with {counted(recipients, 'recipient')} "
        f"{_goes(batches)} back to the queue."
    )
