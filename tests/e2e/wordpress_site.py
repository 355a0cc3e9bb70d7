"""A real WordPress (Debian's package) with our plugin, on its own MariaDB database, served by
`php -S` on a free loopback port; driven like wp-cli through wordpress-plugin/tests/bin/wp.php,
and like an administrator through its login page and admin screens."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "wordpress-plugin" / "tests" / "bin"
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-password"
MYSQL = ["mysql", "-h", "127.0.0.1", "-P", "3306", "-u", "root"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WordPressSite:
    url: str
    path: Path
    database: str
    server: subprocess.Popen[bytes]
    # The review screen approve_as_admin last confirmed on (it shows disparo's preflight).
    last_review: str = ""

    def wp(self, command: str, argument: Any = "", *, check: bool = True) -> str:
        """Run one wp.php command against the site (options, seed, rows, approve)."""
        text = argument if isinstance(argument, str) else json.dumps(argument)
        done = subprocess.run(
            ["php", str(BIN / "wp.php"), str(self.path), command, text],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"wp.php {command} failed: {done.stdout}{done.stderr}")
        return done.stdout

    async def wp_async(self, command: str, argument: Any = "", *, check: bool = True) -> str:
        """`wp` off the event loop: WordPress may call the disparo API served by this loop."""
        return await asyncio.to_thread(self.wp, command, argument, check=check)

    async def rows(self, agendamento_id: str) -> list[dict[str, Any]]:
        return list(json.loads(await self.wp_async("rows", agendamento_id)))

    async def outcomes(self, agendamento_id: str) -> dict[str, Any]:
        """Our plugin's per-row outcomes of the agendamento (first 1,000) and its pull state."""
        return dict(json.loads(await self.wp_async("outcomes", agendamento_id)))

    async def run_cron(self) -> None:
        """What a system cron does: request wp-cron.php, which runs the events that are due."""
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as client:
            response = await client.get("/wp-cron.php")
        assert response.status_code == 200, response.text[:500]

    async def approve_as_admin(self, agendamento_id: str) -> str:
        """Log in, open the Disparo screen, follow the campaign's row to its review screen
        (kept in `last_review`) and confirm there, as a person would; returns the notice the
        screen shows afterwards."""
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as client:
            await client.get("/wp-login.php")
            login = await client.post(
                "/wp-login.php",
                data={
                    "log": ADMIN_USER,
                    "pwd": ADMIN_PASSWORD,
                    "testcookie": "1",
                    "redirect_to": f"{self.url}/wp-admin/",
                },
            )
            assert login.status_code == 302, login.text[:500]
            page = await client.get("/wp-admin/admin.php?page=disparo-campanhas")
            row = re.search(
                rf'<tr data-agendamento="{re.escape(agendamento_id)}">(.*?)</tr>', page.text, re.S
            )
            assert row is not None, f"{agendamento_id} is not listed for approval"
            # The row leads to the review screen: disparo's preflight, then the approve form.
            link = re.search(r'href="([^"]+review=[^"]+)"', row.group(1))
            assert link is not None
            review = await client.get(html.unescape(link.group(1)))
            self.last_review = review.text
            form = re.search(
                rf'data-review="{re.escape(agendamento_id)}">(.*?)</form>', review.text, re.S
            )
            assert form is not None, review.text[:500]
            nonce = re.search(r'name="_wpnonce" value="([^"]+)"', form.group(1))
            assert nonce is not None
            answer = await client.post(
                "/wp-admin/admin-post.php",
                data={
                    "action": "disparo_connector_approve",
                    "agendamento_id": agendamento_id,
                    "_wpnonce": nonce.group(1),
                    "schedule_at": "",
                },
            )
            assert answer.status_code == 302, answer.text[:500]
            after = await client.get(answer.headers["location"])
            notice = re.search(r'class="notice [^"]*disparo-notice"><p>(.*?)</p>', after.text, re.S)
            return notice.group(1) if notice else ""

    def stop(self) -> None:
        os.killpg(self.server.pid, signal.SIGTERM)
        self.server.wait(timeout=10)
        subprocess.run([*MYSQL, "-e", f"DROP DATABASE IF EXISTS `{self.database}`"], check=False)


def start_wordpress(path: Path) -> WordPressSite:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = f"disparo_wp_e2e_{uuid.uuid4().hex[:10]}"
    subprocess.run(
        [str(BIN / "make-site.sh"), str(path), database, url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # Several workers: WordPress's call to disparo waits while disparo calls WordPress back.
    server = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", "-t", str(path)],
        env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    site = WordPressSite(url, path, database, server)
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/wp-login.php", timeout=2).status_code == 200:
                return site
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            site.stop()
            raise AssertionError("WordPress did not answer within 20 s")
        time.sleep(0.1)
