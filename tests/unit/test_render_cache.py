"""render_cache: compiled templates kept in the user cache dir render exactly as compiling
them does, and kept normalized texts are what yamlio.normalize makes; a changed template or
text is derived again; a damaged or unwritable cache is a miss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import SandboxedEnvironment

from generator import templates, yamlio
from generator.config import load_project
from generator.errors import TemplateError
from generator.render_cache import Normalized, bytecode_cache

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A cache dir of this test's own; the names of the templates compiled, as they are."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    names: list[str] = []
    compile_ = SandboxedEnvironment.compile

    def counted(self: SandboxedEnvironment, source: Any, name: str | None = None, *args: Any, **kw: Any) -> Any:
        names.append(str(name))
        return compile_(self, source, name, *args, **kw)
    monkeypatch.setattr(SandboxedEnvironment, "compile", counted)
    return names


def test_traderx_renders_the_same_from_the_cache_without_compiling(compiled: list[str]) -> None:
    project = load_project(PROJECT)
    plain = templates.render_base(project.templates, project.values)
    compiled.clear()
    first = templates.render_base(project.templates, project.values, bytecode_cache=bytecode_cache())
    assert first == plain and len(compiled) >= len(project.values["units"])
    compiled.clear()
    again = templates.render_base(project.templates, project.values, bytecode_cache=bytecode_cache())
    assert again == plain and compiled == []


def test_a_changed_template_is_compiled_again(compiled: list[str]) -> None:
    values = {"units": {"a": {}}}
    assert templates.render_base({"units/a.yaml.j2": "x: 1\n"}, values, bytecode_cache=bytecode_cache()) \
        == {"a": "x: 1\n"}
    compiled.clear()
    assert templates.render_base({"units/a.yaml.j2": "x: 2\n"}, values, bytecode_cache=bytecode_cache()) \
        == {"a": "x: 2\n"}
    assert compiled == ["units/a.yaml.j2"]


def test_errors_from_cached_code_name_the_file_and_line_and_the_sandbox_holds(compiled: list[str]) -> None:
    sources = {"units/a.yaml.j2": "kind: x\nname: {{ values.n }}\n{{ values.o.__class__ if values.o else '' }}\n"}
    cache = bytecode_cache
    assert templates.render_base(sources, {"units": {"a": {}}, "n": 1, "o": 0}, bytecode_cache=cache()) \
        == {"a": "kind: x\nname: 1\n\n"}
    compiled.clear()
    with pytest.raises(TemplateError) as err:
        templates.render_base(sources, {"units": {"a": {}}}, bytecode_cache=cache())
    assert err.value.message == "templates/units/a.yaml.j2:2: 'dict object' has no attribute 'n'"
    with pytest.raises(TemplateError, match=r"templates/units/a.yaml.j2:3: .*unsafe"):
        templates.render_base(sources, {"units": {"a": {}}, "n": 1, "o": "text"}, bytecode_cache=cache())
    assert compiled == []  # all of it from the cache


def test_a_damaged_cache_file_is_compiled_again(tmp_path: Path, compiled: list[str]) -> None:
    sources, values = {"units/a.yaml.j2": "x: {{ 1 + 1 }}\n"}, {"units": {"a": {}}}
    templates.render_base(sources, values, bytecode_cache=bytecode_cache())
    files = [f for f in (tmp_path / "cache").rglob("*") if f.is_file()]
    assert files
    for damage in (b"", b"j2\x00garbage", files[0].read_bytes()[:20]):
        for f in files:
            f.write_bytes(damage)
        compiled.clear()
        assert templates.render_base(sources, values, bytecode_cache=bytecode_cache()) == {"a": "x: 2\n"}
        assert compiled == ["units/a.yaml.j2"]


def test_no_cache_dir_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled: list[str]) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    for _ in range(2):
        assert templates.render_base({"units/a.yaml.j2": "x: 1\n"}, {"units": {"a": {}}},
                                     bytecode_cache=bytecode_cache()) == {"a": "x: 1\n"}
    assert compiled == ["units/a.yaml.j2", "units/a.yaml.j2"]


# --- the base's units as ruamel writes them ---------------------------------------------------


def test_normalized_keeps_what_yamlio_normalize_makes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = "a:   1\nb:\n    - x   # a comment\n"
    normal = yamlio.normalize(text)
    cache = Normalized()
    assert cache.get(text) is None
    cache.put(text, normal)
    assert Normalized().get(text) == normal != text
    assert Normalized().get(text + "c: 2\n") is None  # keyed by the whole text


def test_a_damaged_or_unwritable_normalized_cache_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = Normalized()
    cache.put("a: 1\n", "a: 1\n")
    [kept] = [f for f in cache.dir.iterdir() if not f.name.startswith(".")]
    for damage in (b"", b"a: 1\n", kept.read_bytes()[:-2], kept.read_bytes().replace(b"a: 1", b"a: 2"), b"\xff\n\xff"):
        kept.write_bytes(damage)
        assert Normalized().get("a: 1\n") is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(kept))  # a file where the dir would be
    Normalized().put("b: 1\n", "b: 1\n")
    assert Normalized().get("b: 1\n") is None
