"""The WordPress simulator: state, credentials, webhook receiver and admin routes."""

from __future__ import annotations

from disparo.sim.wordpress.envelope import ROUTES, Route
from disparo.sim.wordpress.simulator import WordPressSimulator
from disparo.sim.wordpress.state import PENDING_STATUSES, wp_row_status
from disparo.sim.wordpress.webhooks import ReceivedWebhook

__all__ = [
    "PENDING_STATUSES",
    "ROUTES",
    "ReceivedWebhook",
    "Route",
    "WordPressSimulator",
    "wp_row_status",
]
