"""`disparo demo --provider WHATSAPP_OTIMA` runs its sample through the whole pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DISPARO = str(Path(sys.executable).with_name("disparo"))


def test_the_demo_sends_the_template_sample_to_completion(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    env |= {"DISPARO_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    result = subprocess.run(
        [DISPARO, "demo", "--provider", "whatsapp_otima", "--recipients", "1200"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "COMPLETED" in result.stdout and "second step" not in result.stdout
    # 1,200 recipients in batches of at most 1,000: two requests.
    assert "requests received by the WHATSAPP_OTIMA simulator │ 2" in result.stdout
    assert "processando, enviado" in result.stdout
