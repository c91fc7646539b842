"""Off a terminal, messages, errors and progress lines are plain lines on stderr, and rich (~36 ms
to import) is not loaded for them: a command in CI or under a script pays nothing for styling it
cannot show."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from generator import output
with output.progress_lines("applying traderx-dev") as step:
    step("wave 0: namespace")
    step("wave 2: 5 deployments")
output.info("traderx-dev: as git has it [not markup] :warning:")
output.error("unknown space 'x'", "see `gitops space list`")
print("rich" in sys.modules)
"""


def test_messages_off_a_terminal_are_plain_and_need_no_rich() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                          stdin=subprocess.DEVNULL)
    assert done.stdout.strip() == "False"
    assert done.stderr.splitlines() == ["applying traderx-dev: wave 0: namespace",
                                        "applying traderx-dev: wave 2: 5 deployments",
                                        "traderx-dev: as git has it [not markup] :warning:",
                                        "error: unknown space 'x'", "hint: see `gitops space list`"]
