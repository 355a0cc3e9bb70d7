"""What happens after recipients' replies are stored: the seam for opt-outs.

The suppressions work (issue: opt-out) reads each reply here, in the same transaction that
stored it, e.g. `await opt_out_from_reply(session, reply.phone, reply.text)` per reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from disparo.campaigns.deliveries import Reply


async def after_replies_stored(session: AsyncSession, replies: Sequence[Reply]) -> None:
    """Called once per flush with the replies just inserted (not yet committed): nothing yet."""
    return None
