"""A render that the stamp finds has nothing to do still notices what a person did in the repo
or the config dir: uncommitted edits are refused, committed ones kept, and anything the stamp did
not see renders (in full, or the regions that changed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.config import Project
from generator.operations import render as render_op
from generator.operations import render_stamp
from tests.conftest import Cli, snapshot

EU = "traderx-prod-eu"


class Loads:
    """The config dir loads a render makes (none: it planned nothing)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.regions: list[set[str] | None] = []
        real = render_op.load_project

        def counting(root: Path, regions: set[str] | None = None) -> Project:
            self.regions.append(regions)
            return real(root, regions)

        monkeypatch.setattr(render_op, "load_project", counting)


def units(cli: Cli, space: str) -> list[str]:
    return sorted(u["unit"] for u in json.loads(cli.ok("unit", "list", "--space", space, "-o", "json").out))


@pytest.fixture
def stamped(rendered: Cli) -> Cli:
    """Rendered twice: the second found the stamp fresh."""
    assert "nothing changed" in rendered.ok("render").err
    return rendered


@pytest.mark.parametrize("change", ["edit", "delete", "stage"])
def test_an_uncommitted_change_to_a_unit_is_refused_by_a_fresh_stamp(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    unit = stamped.repo / f"spaces/{EU}/trade-service.yaml"
    if change == "delete":
        unit.unlink()
    else:
        unit.write_text(unit.read_text().replace("replicas: 5", "replicas: 8"))
        if change == "stage":
            stamped.git("add", str(unit))
    loads, before = Loads(monkeypatch), snapshot(stamped.repo, work_tree_only=True)
    head, staged = stamped.git("rev-parse", "HEAD"), stamped.git("diff", "--cached", "--name-only")
    result = stamped("render")
    assert result.code == 1 and loads.regions == []
    assert f"uncommitted changes in the manifests repo: spaces/{EU}/trade-service.yaml" in result.err
    assert snapshot(stamped.repo, work_tree_only=True) == before  # nothing swept, nothing committed
    assert (stamped.git("rev-parse", "HEAD"), stamped.git("diff", "--cached", "--name-only")) == (head, staged)


def test_a_touched_unit_file_is_not_an_edit(stamped: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    unit = stamped.repo / f"spaces/{EU}/trade-service.yaml"
    unit.write_text(unit.read_text())  # new times, same content
    loads, head = Loads(monkeypatch), stamped.git("rev-parse", "HEAD")
    assert "nothing changed" in stamped.ok("render").err
    assert loads.regions == [] and stamped.git("rev-parse", "HEAD") == head


def test_a_new_unit_file_is_left_alone_then_kept_once_committed(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = stamped.repo / f"spaces/{EU}/my-config.yaml"
    mine.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: my-config\ndata:\n  a: b\n")
    loads, head = Loads(monkeypatch), stamped.git("rev-parse", "HEAD")
    stamped.ok("render")  # untracked: not the render's business, as in a full render
    assert loads.regions == [] and stamped.git("rev-parse", "HEAD") == head and mine.exists()
    stamped.git("add", str(mine))
    stamped.git("commit", "-q", "-m", "my own unit")
    stamped.ok("render")  # HEAD moved: in full, and the unit is the person's
    assert loads.regions == [None] and "my-config" in units(stamped, EU)
    assert "a: b" in mine.read_text()
    assert "nothing changed" in stamped.ok("render").err and loads.regions == [None]


def test_a_template_edit_renders_every_space(stamped: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    values = stamped.config / "templates" / "values.yaml"
    values.write_text(values.read_text().replace("image: traderx/trade-service", "image: traderx/trade-next", 1))
    loads = Loads(monkeypatch)
    stamped.ok("render")
    assert loads.regions == [None]
    assert "traderx/trade-next" in (stamped.repo / f"spaces/{EU}/trade-service.yaml").read_text()


def test_a_changed_gitops_renders_in_full(stamped: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    real = render_stamp._code
    monkeypatch.setattr(render_stamp, "_code", lambda: real() + " edited")  # a module edited
    loads = Loads(monkeypatch)
    stamped.ok("render")
    assert loads.regions == [None]
    stamped.ok("render")
    assert loads.regions == [None]  # stamped again, with the new code


def test_a_region_edit_with_an_uncommitted_unit_edit_is_refused(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    region = stamped.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 7"))
    unit = stamped.repo / "spaces/traderx-dev/web-gui.yaml"
    unit.write_text(unit.read_text() + "# mine\n")
    head, loads = stamped.git("rev-parse", "HEAD"), Loads(monkeypatch)
    result = stamped("render")
    assert result.code == 1 and "uncommitted changes in the manifests repo: spaces/traderx-dev/web-gui.yaml" in result.err
    assert loads.regions == [] and stamped.git("rev-parse", "HEAD") == head
    assert unit.read_text().endswith("# mine\n")


def test_an_edit_left_by_a_commit_made_while_a_render_starts_is_refused(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check beside the look counts for HEAD as it was then: HEAD moved, it runs again."""
    real = render_op.load_project
    unit = stamped.repo / "spaces/traderx-dev/web-gui.yaml"

    def meanwhile(root: Path, regions: set[str] | None = None) -> Project:
        readme = stamped.repo / "NOTES.md"
        readme.write_text("mine\n")
        stamped.git("add", "NOTES.md")
        stamped.git("commit", "-q", "-m", "meanwhile, by hand")
        unit.write_text(unit.read_text() + "# mine\n")  # and not committed
        return real(root, regions)

    monkeypatch.setattr(render_op, "load_project", meanwhile)
    region = stamped.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 7"))
    head = stamped.git("rev-parse", "HEAD")
    result = stamped("render")
    assert result.code == 1 and "uncommitted changes in the manifests repo: spaces/traderx-dev/web-gui.yaml" in result.err
    assert stamped.git("rev-parse", "HEAD~1") == head  # only the person's commit
    assert unit.read_text().endswith("# mine\n")
