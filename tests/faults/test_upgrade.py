"""Upgrading: `disparo migrate` of the new release runs first, while the previous release's
workers are still running; they must keep working on the new schema until they are
restarted. Here release N (the code at PREVIOUS_RELEASE, extracted with `git archive` and
run with this interpreter) sends a whole campaign on a database migrated by this tree."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.faults.harness import assert_clean, audit, report, rig, worker_env
from tests.faults.infra import RedisServer, Workers

pytestmark = pytest.mark.faults

PREVIOUS_RELEASE = "51c58ca"
REPO = Path(__file__).resolve().parents[2]
VERSIONS = "src/disparo/migrations/versions"
# Where release N kept them: a migration only moved here, unchanged, is not a new one.
PREVIOUS_VERSIONS = "src/disparo/db/migrations/versions"


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, timeout=120)


def _previous_release(into: Path) -> Path:
    found = _git("cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}")
    assert found.returncode == 0, (
        f"commit {PREVIOUS_RELEASE} (release N) is not in this clone's history: "
        "the upgrade test needs a full clone (git fetch --unshallow)"
    )
    archive = _git("archive", "--format=tar", PREVIOUS_RELEASE, "src")
    assert archive.returncode == 0, archive.stderr.decode()
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def _imported_from(env: dict[str, str]) -> str:
    command = [sys.executable, "-c", "import disparo; print(disparo.__file__)"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


class PreviousReleaseWorkers(Workers):
    """`disparo worker` of release N: its own source tree first on PYTHONPATH."""

    def _spawn(self, args: Sequence[str] = ()) -> tuple[subprocess.Popen[bytes], Path]:
        path = self.logdir / f"worker-{len(list(self.logdir.glob('worker-*.log'))) + 1}.log"
        command = [sys.executable, "-c", "from disparo.cli import main; main()", "worker", *args]
        with path.open("wb") as log:
            process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        return process, path


async def test_previous_release_workers_finish_a_campaign_on_the_new_schema(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    source = _previous_release(tmp_path / "release-n")
    # The rig migrates with this tree (release N+1), as `disparo migrate` would.
    async with rig(tmp_path, pg_url, own_redis.url, workers=0, cda_batch_size=20) as the_rig:
        env = worker_env(the_rig.settings) | {"PYTHONPATH": str(source)}
        probe = _imported_from(env)
        assert probe.startswith(str(source)), probe  # release N's code is what runs
        (tmp_path / "release-n-logs").mkdir()
        old = PreviousReleaseWorkers(env, tmp_path / "release-n-logs")
        old.start()
        old.start()
        try:
            await the_rig.seed_and_dispatch(300)
            await the_rig.wait_all_final(timeout=120)
            result = await audit(the_rig)
        finally:
            old.stop()
    logs = "".join(path.read_text() for path in old.logs)
    report("upgrade", {"release_n": PREVIOUS_RELEASE, **result.as_dict()})
    assert '"send.accepted"' in logs  # release N's workers did the sending
    assert_clean(result)
    assert result.by_status == {"SENT": 300}


# What a migration may do so that the release before it keeps running: add tables, add
# nullable columns or columns with a server default, add indexes. Dropping or renaming what
# the previous release reads, or a NOT NULL column it does not fill, waits for the release
# after (expand now, contract later).
BREAKING = [
    (r"op\.drop_(table|column)\(", "drops what the previous release reads"),
    (r"new_column_name\s*=", "renames a column the previous release reads"),
    (r"op\.rename_table\(", "renames a table the previous release reads"),
]


def _new_migrations() -> list[Path]:
    # -M100%: only a byte-identical move counts as a rename (and is left out); a migration
    # moved and edited is listed as added, so it is checked.
    changed = _git(
        "diff",
        "--name-only",
        "--diff-filter=AM",
        "-M100%",
        PREVIOUS_RELEASE,
        "--",
        VERSIONS,
        PREVIOUS_VERSIONS,
    )
    assert changed.returncode == 0, changed.stderr.decode()
    return [REPO / name for name in changed.stdout.decode().split() if name.endswith(".py")]


def _breaking_changes(name: str, text: str) -> list[str]:
    upgrade = text.split("def upgrade", 1)[-1].split("def downgrade", 1)[0]
    problems = [f"{name}: {why}" for rule, why in BREAKING if re.search(rule, upgrade)]
    for call in re.split(r"\bop\.", upgrade):
        not_null = call.startswith("add_column(") and "nullable=False" in call
        if not_null and "server_default" not in call:
            problems.append(f"{name}: adds a NOT NULL column without a server default")
    return problems


def test_the_expand_only_check_sees_a_breaking_migration() -> None:
    breaking = """
def upgrade() -> None:
    op.add_column("provider_batches", sa.Column("lane", sa.String(8), nullable=False))
    op.add_column("campaigns", sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.drop_column("campaigns", "error_message")

def downgrade() -> None:
    op.drop_column("provider_batches", "lane")
"""
    assert _breaking_changes("x.py", breaking) == [
        "x.py: drops what the previous release reads",
        "x.py: adds a NOT NULL column without a server default",
    ]


def test_migrations_since_the_previous_release_only_expand() -> None:
    problems = []
    for migration in _new_migrations():
        problems += _breaking_changes(migration.name, migration.read_text())
    assert not problems, problems
