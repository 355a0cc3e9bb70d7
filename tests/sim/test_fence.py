"""Simulators are fenced off: each provider's simulator imports nothing of disparo but
`disparo.sim`, never its adapter's constants; the API, the worker and the campaign code
never load a simulator."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "disparo"
PROVIDER_DIRS = sorted(p.parent for p in (SRC / "providers").glob("*/__init__.py"))


def disparo_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "disparo"}


def _is_sim(module: str) -> bool:
    return module == "disparo.sim" or module.startswith("disparo.sim.")


def _sim_part(folder: Path, module: str) -> bool:
    """A part of the simulator kept in its own file beside it (`…/soql_sim.py`), itself
    fenced: it imports nothing of disparo but `disparo.sim`."""
    package, _, name = module.rpartition(".")
    if package != f"disparo.providers.{folder.name}" or not name.endswith("_sim"):
        return False
    return all(_is_sim(m) for m in disparo_imports(folder / f"{name}.py"))


@pytest.mark.parametrize("folder", PROVIDER_DIRS, ids=lambda folder: folder.name)
def test_a_provider_simulator_imports_only_disparo_sim(folder: Path) -> None:
    own = f"disparo.providers.{folder.name}.simulator"
    simulator = disparo_imports(folder / "simulator.py")
    assert {m for m in simulator if not _is_sim(m) and not _sim_part(folder, m)} == set()
    dev = disparo_imports(folder / "dev.py")
    assert {m for m in dev if not _is_sim(m) and m != own} == set()


def test_the_service_never_loads_a_simulator() -> None:
    code = (
        "import sys, disparo.app, disparo.worker, disparo.campaigns.tasks, "
        "disparo.runtime, disparo.providers.registry;"
        "loaded = [m for m in sys.modules if m.startswith('disparo.sim') or "
        "(m.startswith('disparo.') and m.endswith(('.simulator', '.dev')))];"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("folder", PROVIDER_DIRS, ids=lambda folder: folder.name)
def test_an_adapter_never_imports_a_simulator(folder: Path) -> None:
    for name in ("__init__.py", "adapter.py", "mapper.py", "wire.py"):
        if (folder / name).exists():
            found = disparo_imports(folder / name)
            assert {m for m in found if _is_sim(m) or m.endswith((".simulator", ".dev"))} == set()
