"""What Ótima's two bulk APIs (RCS 5.5, WhatsApp 5.7) share: the static credentials block."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from disparo.providers.base import require_credentials


@dataclass(frozen=True, slots=True)
class OtimaAccount:
    token: str
    api_url: str
    broker_code: str = ""
    customer_code: str = ""
    template_code: str = ""

    def __repr__(self) -> str:  # never print the token
        return f"{type(self).__name__}(api_url={self.api_url!r}, token='***')"

    @classmethod
    def parse(cls, label: str, raw: Mapping[str, Any], default_url: str) -> OtimaAccount:
        """The raw token (the original also called it `authorization`), trimmed; the codes
        optional; the API URL without its trailing slash, else `default_url`."""
        token = str(raw.get("token") or raw.get("authorization") or "").strip()
        require_credentials(label, {"token": token})
        codes = {
            name: str(raw.get(name) or "").strip()
            for name in ("broker_code", "customer_code", "template_code")
        }
        api_url = str(raw.get("api_url") or "").strip().rstrip("/") or default_url
        return cls(token=token, api_url=api_url, **codes)
