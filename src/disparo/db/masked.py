"""Column types that mask secrets on the way into the database and on the way out.

Every stored error and provider answer (batch errors, attempts, a campaign's error, what
becomes `resposta_api`, webhook payloads) goes through these types, whatever code wrote it:
one sanitising function for every store instead of a call at each place that writes one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from disparo import redaction


class MaskedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else redaction.mask_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else redaction.mask_text(value)


class MaskedJSON(TypeDecorator[Any]):
    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return redaction.mask_value(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return redaction.mask_value(value)
