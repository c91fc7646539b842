"""A render that the stamp finds has nothing to do still notices what a person did in the repo
or the config dir: uncommitted edits where the render reads or writes are refused (elsewhere they
stay, uncommitted), committed ones kept, and anything the stamp did not see renders (in full, or
the regions that changed)."""

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


def _change(cli: Cli, path: str, change: str) -> None:
    """An uncommitted change to a file of the repo: edited, deleted, or edited and staged."""
    file = cli.repo / path
    if change == "delete":
        file.unlink()
    else:
        file.write_text(file.read_text().replace("replicas: 5", "replicas: 8") + "# mine\n")
        if change == "stage":
            cli.git("add", str(file))


@pytest.mark.parametrize("change", ["edit", "delete", "stage"])
def test_an_uncommitted_change_to_a_record_is_refused_by_a_fresh_stamp(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """The records are what a plan reads from the work tree: an edit there is always refused."""
    _change(stamped, f".gitops/spaces/{EU}.json", change)
    loads, before = Loads(monkeypatch), snapshot(stamped.repo, work_tree_only=True)
    head, staged = stamped.git("rev-parse", "HEAD"), stamped.git("diff", "--cached", "--name-only")
    result = stamped("render")
    assert result.code == 1 and loads.regions == []
    assert f"uncommitted changes in the manifests repo: .gitops/spaces/{EU}.json" in result.err
    assert snapshot(stamped.repo, work_tree_only=True) == before  # nothing swept, nothing committed
    assert (stamped.git("rev-parse", "HEAD"), stamped.git("diff", "--cached", "--name-only")) == (head, staged)


@pytest.mark.parametrize("change", ["edit", "delete", "stage"])
def test_an_uncommitted_change_to_a_unit_stays_through_a_render_with_nothing_to_do(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """A render that writes nothing leaves a unit file's uncommitted change as it is."""
    _change(stamped, f"spaces/{EU}/trade-service.yaml", change)
    loads, before = Loads(monkeypatch), snapshot(stamped.repo, work_tree_only=True)
    head, status = stamped.git("rev-parse", "HEAD"), stamped.git("status", "--porcelain")
    assert "nothing changed" in stamped.ok("render").err and loads.regions == []
    assert snapshot(stamped.repo, work_tree_only=True) == before
    assert (stamped.git("rev-parse", "HEAD"), stamped.git("status", "--porcelain")) == (head, status)


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


@pytest.mark.parametrize("change", ["edit", "delete", "stage"])
def test_a_region_edit_with_an_uncommitted_edit_in_its_space_is_refused(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    region = stamped.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 7"))
    _change(stamped, f"spaces/{EU}/web-gui.yaml", change)
    loads, before = Loads(monkeypatch), snapshot(stamped.repo, work_tree_only=True)
    head, status = stamped.git("rev-parse", "HEAD"), stamped.git("status", "--porcelain")
    result = stamped("render")
    assert result.code == 1 and f"uncommitted changes in the manifests repo: spaces/{EU}/web-gui.yaml" in result.err
    assert loads.regions == [{"regions/eu.yaml"}]  # planned, refused before anything is written
    assert snapshot(stamped.repo, work_tree_only=True) == before
    assert (stamped.git("rev-parse", "HEAD"), stamped.git("status", "--porcelain")) == (head, status)


@pytest.mark.parametrize("change", ["edit", "delete", "stage"])
def test_a_region_edit_leaves_an_uncommitted_edit_in_another_space_as_it_is(
        stamped: Cli, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """A render of one region checks the spaces it writes: an uncommitted change elsewhere is
    neither read, committed, swept nor unstaged."""
    other = "spaces/traderx-dev/web-gui.yaml"
    region = stamped.config / "regions" / "eu.yaml"
    region.write_text(region.read_text().replace("trade-service: 5", "trade-service: 7"))
    _change(stamped, other, change)
    mine = None if change == "delete" else (stamped.repo / other).read_text()
    status, head = stamped.git("status", "--porcelain", "--", other), stamped.git("rev-parse", "HEAD")
    committed = stamped.git("rev-parse", f"HEAD:{other}")
    loads = Loads(monkeypatch)
    stamped.ok("render")
    assert loads.regions == [{"regions/eu.yaml"}]
    assert stamped.git("rev-parse", "HEAD~1") == head
    assert stamped.git("show", "--name-only", "--format=", "HEAD").split() == [
        f".gitops/spaces/{EU}.json", f"spaces/{EU}/trade-service.yaml"]
    assert "replicas: 7" in (stamped.repo / f"spaces/{EU}/trade-service.yaml").read_text()
    assert stamped.git("rev-parse", f"HEAD:{other}") == committed  # not committed
    assert stamped.git("status", "--porcelain", "--", other) == status  # still there, staged or not
    assert (None if change == "delete" else (stamped.repo / other).read_text()) == mine
    assert stamped.git("status", "--porcelain", "--", f"spaces/{EU}", ".gitops") == ""


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
