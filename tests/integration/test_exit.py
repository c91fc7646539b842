"""``gitops`` leaves without the interpreter's teardown, and still as ``sys.exit`` would: its
exit code, its output flushed, the exit functions run, and a thread still working waited for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENTRY = """
import atexit, sys, threading, time
from generator.cli import entry
atexit.register(lambda: print("exit functions ran", flush=True))
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.5), print("the thread finished", flush=True))).start()
sys.stdout.write("unflushed ")  # buffered: a pipe is not a terminal
sys.argv = ["gitops", *sys.argv[2:]]
entry()
"""


def _gitops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, timeout=60)


def test_a_command_exits_with_its_code_its_output_and_its_exit_functions(tmp_path: Path) -> None:
    done = _gitops("plain", "--version")
    assert done.returncode == 0
    assert done.stdout.startswith("unflushed gitops ") and done.stdout.endswith("exit functions ran\n")
    failed = _gitops("plain", "--repo", str(tmp_path / "nowhere"), "space", "list")
    assert failed.returncode == 1 and "not a manifests repo" in failed.stderr
    assert failed.stdout == "unflushed exit functions ran\n"


def test_a_thread_still_working_is_waited_for() -> None:
    done = _gitops("thread", "--version")
    assert done.returncode == 0 and "the thread finished" in done.stdout
