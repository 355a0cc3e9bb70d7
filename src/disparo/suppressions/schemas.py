"""What the suppression routes take and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from disparo.api.deps import SAFE_TEXT

Text = Annotated[str, Field(max_length=500, pattern=SAFE_TEXT)]
# What disparo.phones.normalize_phone accepts: (55) + DDD (not 0) + 8 or 9 digits, with the
# spaces, parentheses, dots, dashes and plus signs people write between them.
_NOISE = r"[ ().+\-]*"
PHONE_REGEX = rf"{_NOISE}(?:5{_NOISE}5{_NOISE})?[1-9](?:{_NOISE}[0-9]){{9,10}}{_NOISE}"
PHONE_PATTERN = f"^{PHONE_REGEX}$"
# A phone filter: a phone or its first digits (at least one).
PHONE_FILTER_PATTERN = r"^[ ().+\-]*[0-9][0-9 ().+\-]*$"


class SuppressionIn(BaseModel):
    phone: Annotated[str, Field(min_length=10, max_length=40, pattern=PHONE_PATTERN)] = Field(
        description="any way WordPress writes it: 11 99999-0001, +55 (11) 99999-0001…"
    )
    cpf_cnpj: Annotated[str, Field(max_length=32, pattern=SAFE_TEXT)] | None = None
    reason: Text | None = None


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str
    cpf_cnpj: str | None
    source: str = Field(description="operator, import, reply or provider")
    reason: str | None
    created_at: datetime
    actor: str


class AddedOut(BaseModel):
    added: bool = Field(description="false when the phone already was on the list")
    suppression: SuppressionOut


class SuppressionPage(BaseModel):
    items: list[SuppressionOut]
    total: int
    next_before: int | None


class LineErrorOut(BaseModel):
    line: int
    message: str


class ImportOut(BaseModel):
    lines: int = Field(description="data lines read (header and blank lines not counted)")
    added: int
    already_listed: int = Field(description="repeated in the file or listed before")
    invalid: int
    errors: list[LineErrorOut] = Field(description="the first 100 invalid lines")
