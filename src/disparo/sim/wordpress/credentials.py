"""The WordPress simulator's credentials route (CONTRACTS 2.2): static blocks, blocks per
environment, and the Gen C panel's own completeness checks for RCS and Ótima."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from disparo.sim.wordpress.envelope import wp_error, wp_json

# The providers whose credentials the panel keeps as one static block. A block set without
# an environment is served for any other code too, so a new provider needs no entry here.
_STATIC_PROVIDERS = frozenset({"cda", "rcs", "rcs_otima", "whatsapp_otima", "salesforce", "mkc"})


def provider_code(provider: str) -> str:
    upper = provider.strip().upper()
    if "OTIMA" in upper and "RCS" in upper:
        return "rcs_otima"
    if "OTIMA" in upper and ("WPP" in upper or "WHATSAPP" in upper):
        return "whatsapp_otima"
    return upper.lower()


def _no_credentials(message: str) -> Response:
    return wp_json(404, wp_error("no_credentials", message, 404))


class CredentialStore:
    def __init__(self) -> None:
        self.static: dict[str, dict[str, Any]] = {}
        self.per_env: dict[tuple[str, str], dict[str, Any]] = {}

    def set_credentials(
        self, provider: str, value: dict[str, Any] | None, env_id: str | None = None
    ) -> None:
        """Static block when ``env_id`` is None, else the (provider, env) block.

        For ``salesforce`` an env block is merged over the static one (Gen C). ``None``
        removes the entry.
        """
        code = provider.strip().lower()
        if env_id is None:
            if value is None:
                self.static.pop(code, None)
            else:
                self.static[code] = dict(value)
        elif value is None:
            self.per_env.pop((code, env_id), None)
        else:
            self.per_env[(code, env_id)] = dict(value)

    def answer(self, provider: str, env_id: str) -> Response:
        code = provider_code(provider)
        if code == "rcs":
            return self._rcs()
        if code in ("rcs_otima", "whatsapp_otima"):
            return self._otima(code)
        if code == "salesforce":
            return self._salesforce(env_id)
        if code in _STATIC_PROVIDERS or code in self.static:
            value = self.static.get(code, {})
            if not any(v not in (None, "") for v in value.values()):
                return _no_credentials(
                    f"Credenciais estáticas não configuradas para {code.upper()}"
                )
            return wp_json(200, value)
        stored = self.per_env.get((code, env_id))
        if not stored:
            return _no_credentials(f"Credenciais não encontradas para {code.upper()}:{env_id}")
        return wp_json(200, stored)

    def _rcs(self) -> Response:
        value = dict(self.static.get("rcs", {}))
        if not value.get("chave_api"):
            return wp_json(
                400,
                wp_error(
                    "invalid_credentials",
                    "Credenciais RCS incompletas. Configure a chave_api no API Manager.",
                    400,
                    code="INCOMPLETE_RCS_CREDENTIALS",
                    missing_fields=["chave_api"],
                    provider="RCS",
                ),
            )
        return wp_json(200, value)

    def _otima(self, code: str) -> Response:
        value = dict(self.static.get(code, {}))
        if value.get("token"):
            return wp_json(200, value)
        if code == "rcs_otima":
            # Gen C shape: no missing_fields.
            err = wp_error(
                "invalid_credentials",
                "Credenciais Ótima RCS incompletas. Configure o token no API Manager.",
                400,
                code="INCOMPLETE_OTIMA_RCS_CREDENTIALS",
                provider="OTIMA RCS",
            )
        else:
            err = wp_error(
                "invalid_credentials",
                "Credenciais Ótima WhatsApp incompletas. Configure o token no API Manager.",
                400,
                code="INCOMPLETE_OTIMA_WPP_CREDENTIALS",
                missing_fields=["token"],
                provider="OTIMA WPP",
            )
        return wp_json(400, err)

    def _salesforce(self, env_id: str) -> Response:
        static = dict(self.static.get("salesforce", {}))
        blocks = {e: v for (p, e), v in self.per_env.items() if p == "salesforce"}
        block = _pick_salesforce_block(blocks, env_id)
        merged = {**static, **(block or {})}
        if not any(v not in (None, "") for v in merged.values()):
            return _no_credentials("Credenciais estáticas não configuradas para SALESFORCE")
        return wp_json(200, merged)


def _pick_salesforce_block(blocks: dict[str, dict[str, Any]], env_id: str) -> dict[str, Any] | None:
    # Gen C: exact id, integer form, the only block, first complete block.
    if env_id in blocks:
        return blocks[env_id]
    stripped = env_id.strip()
    if stripped.isdigit() and str(int(stripped)) in blocks:
        return blocks[str(int(stripped))]
    if len(blocks) == 1:
        return next(iter(blocks.values()))
    for block in blocks.values():
        if block.get("operacao") and block.get("automation_id"):
            return block
    return None
