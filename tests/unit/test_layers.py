"""The layering rules of DESIGN.md, enforced by import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import os
from pathlib import Path

from importlinter.cli import lint_imports


def test_import_contracts_hold(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", os.getcwd())
    assert lint_imports(config_filename="pyproject.toml", no_cache=True) == 0


def test_the_package_type_checks_strictly(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """STYLE.md: type everything; mypy --strict on the package (settings in pyproject.toml)."""
    from mypy import api

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    out, err, status = api.run([])
    assert status == 0, out + err
