"""Phone normalisation: one rule for ingest, the suppression list and everything that
compares phones (a suppressed number must match however WordPress or an operator wrote it)."""

from __future__ import annotations

import re

_PHONE_NOISE = re.compile(r"[\s()\-.+]")


def normalize_phone(raw: object) -> str | None:
    """Brazilian mobile with country code: 55 + DDD + 8/9 digits. WordPress already adds the
    55; the original only added it when absent, and never a second one."""
    if not isinstance(raw, str | int):
        return None
    digits = _PHONE_NOISE.sub("", str(raw))
    if not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) in (10, 11):  # DDD + number: too short to carry the country code already
        digits = "55" + digits
    if digits.startswith("55") and len(digits) in (12, 13) and digits[2] != "0":
        return digits
    return None
