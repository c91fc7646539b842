"""examples/microtraderx's scripts: named as the tutorial names them, executable, shellcheck-clean
(every finding, style included), and refusing a stage that does not exist. Running them is
tests/e2e/test_microtraderx.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_workflows_lint import lint, tool

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "microtraderx"
STAGES = ["stage1-hello-traderx.sh", "stage2-three-envs.sh", "stage3-three-regions.sh", "stage4-push-upgrade.sh",
          "stage5-find-and-fix.sh", "stage6-atomic-updates.sh", "stage7-emergency-bypass.sh", "stage8-blue-green.sh"]
COMMANDS = ["setup-structure", "deploy", "validate", "test/validate.sh"]


def scripts() -> list[Path]:
    return [EXAMPLE / "lib.sh", *(EXAMPLE / c for c in COMMANDS), *(EXAMPLE / "stages" / s for s in STAGES)]


def test_every_stage_and_command_is_there_and_executable() -> None:
    assert sorted(p.name for p in (EXAMPLE / "stages").glob("*.sh")) == sorted(STAGES)
    for path in scripts()[1:]:
        assert os.access(path, os.X_OK), f"{path} is not executable"


def test_shellcheck_finds_nothing() -> None:
    lint(tool("shellcheck"), "--external-sources", "--severity=style", *map(str, scripts()))


@pytest.mark.parametrize("command", ["setup-structure", "deploy", "validate"])
@pytest.mark.parametrize("stage", ["", "9", "two"])
def test_a_stage_that_does_not_exist_is_a_usage_error(command: str, stage: str, tmp_path: Path) -> None:
    env = {**os.environ, "MTX_WORKDIR": str(tmp_path)}
    done = subprocess.run([str(EXAMPLE / command), *([stage] if stage else [])], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2 and "usage:" in done.stderr and "1 to 8" in done.stderr
    assert not any(tmp_path.iterdir())  # nothing written
