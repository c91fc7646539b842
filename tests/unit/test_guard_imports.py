"""The secret guard loads detect-secrets' detectors without ``requests`` (only its online
verification uses it, which gitops never asks for), and finds secrets all the same."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
{before}
from generator import guard
assert guard._detected("x", "AKIAIOSFODNN7EXAMPLE") == "AWS Access Key"
assert guard._detected("DB_PASSWORD", "hunter2hunter2Xq9!") is not None
assert guard._detected("image", "traderx/trade-service:v2") is None
print(sorted(m for m in ("requests", "urllib3") if m in sys.modules))
"""


def run(before: str = "") -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(before=before)], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def test_the_detectors_load_without_requests() -> None:
    assert run() == "[]"


def test_a_requests_loaded_before_is_left_alone() -> None:
    assert run("import requests") == "['requests', 'urllib3']"
