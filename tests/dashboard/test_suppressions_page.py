"""The opt-out page: listed, filtered, added and removed through the dashboard, CSRF-checked
and audited; a key without `operate` sees the list but no buttons."""

from __future__ import annotations

import re

from pydantic import SecretStr
from sqlalchemy import select

from disparo.audit.models import AuditEvent
from tests.conftest import StackFactory
from tests.dashboard.helpers import browser, csrf_of, sign_in

FLASH = re.compile(r'<p class="notice" role="status">([^<]+)</p>')
OPS = "ops:read+operate+dashboard:" + "o" * 32
VIEWER = "viewer:read+dashboard:" + "v" * 32


async def test_add_filter_remove_from_the_page(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False, api_keys=[SecretStr(OPS), SecretStr(VIEWER)])
    async with browser(stack) as client:
        await sign_in(client, "o" * 32)
        empty = await client.get("/dashboard/suppressions")
        token = csrf_of(empty.text)
        added = await client.post(
            "/dashboard/suppressions",
            data={"csrf_token": token, "phone": "(11) 99999-0001", "reason": "ligou pedindo"},
        )
        after_add = await client.get(added.headers["location"])
        await client.post(
            "/dashboard/suppressions", data={"csrf_token": token, "phone": "21988880002"}
        )
        bad = await client.post(
            "/dashboard/suppressions", data={"csrf_token": token, "phone": "12"}
        )
        after_bad = await client.get(bad.headers["location"])
        forged = await client.post(
            "/dashboard/suppressions", data={"csrf_token": "x", "phone": "31977770003"}
        )
        filtered = await client.get("/dashboard/suppressions", params={"phone": "5521"})
        removed = await client.post(
            "/dashboard/suppressions/5511999990001/remove", data={"csrf_token": token}
        )
        after_remove = await client.get(removed.headers["location"])
    async with browser(stack) as viewer:
        await sign_in(viewer, "v" * 32)
        read_only = await viewer.get("/dashboard/suppressions")

    assert empty.status_code == 200 and "No one on the list" in empty.text
    assert added.status_code == 303
    assert FLASH.search(after_add.text).group(1) == "5511999990001 added to the list."  # type: ignore[union-attr]
    assert "ligou pedindo" in after_add.text
    assert FLASH.search(after_bad.text).group(1) == (  # type: ignore[union-attr]
        "Add: not done, that is not a phone number we could send to."
    )
    assert forged.status_code == 403
    assert "5521988880002" in filtered.text and "5511999990001" not in filtered.text
    assert "5511999990001 removed from the list." in after_remove.text
    assert "5511999990001" not in after_remove.text.split("</form>", 3)[-1]
    assert "5521988880002" in read_only.text and "Remove</button>" not in read_only.text
    assert 'name="phone" required' in empty.text
    assert 'name="phone" required' not in read_only.text  # no add form without operate
    async with stack.runtime.sessions() as session:
        events = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.in_(["suppress", "unsuppress"]))
                .order_by(AuditEvent.id)
            )
        )
    assert [(e.action, e.target, e.outcome, e.actor) for e in events] == [
        ("suppress", "5511999990001", "done", "ops"),
        ("suppress", "5521988880002", "done", "ops"),
        ("suppress", "12", "refused", "ops"),
        ("unsuppress", "5511999990001", "done", "ops"),
    ]
