"""Shell completion, driven as the shell drives it: ``_GITOPS_COMPLETE=complete_bash`` with
``COMP_WORDS`` and ``COMP_CWORD``, against a rendered repo; and once through real bash, with the
script `gitops --show-completion bash` prints. Expected names come from `gitops ... -o json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.cli import run
from tests.conftest import PROJECT, Cli

EU = "traderx-prod-eu"
Complete = Callable[[str], list[str]]


@pytest.fixture
def complete(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Complete:
    """The candidates bash gets for a command line (its last word is the one being completed)."""

    def candidates(line: str) -> list[str]:
        capsys.readouterr()
        with monkeypatch.context() as shell:
            shell.setenv("_GITOPS_COMPLETE", "complete_bash")
            shell.setenv("COMP_WORDS", line)
            shell.setenv("COMP_CWORD", str(len(line.split(" ")) - 1))
            with pytest.raises(SystemExit) as done:
                run([])
        out, err = capsys.readouterr()
        assert (done.value.code, err) == (0, ""), f"{line!r}: exit {done.value.code}, stderr {err!r}"
        return out.split()

    return candidates


def names(cli: Cli, *args: str, key: str) -> set[str]:
    return {row[key] for row in json.loads(cli.ok(*args, "-o", "json").out)}


def test_space_names(rendered: Cli, complete: Complete) -> None:
    spaces = names(rendered, "space", "list", key="space")
    prod = {s for s in spaces if s.startswith("traderx-prod-")}
    assert len(prod) == 3
    repo = rendered.repo
    assert set(complete(f"gitops --repo {repo} overrides --space traderx-prod-")) == prod
    assert set(complete(f"gitops --repo {repo} unit list --space ")) == spaces
    assert set(complete(f"gitops --repo {repo} promote --from {EU} --to traderx-prod-")) == prod
    assert complete(f"gitops --repo {repo} space get traderx-sta") == ["traderx-staging"]


def test_unit_names_of_the_space_given(rendered: Cli, complete: Complete) -> None:
    rendered.ok("unit", "create", "trade-extra", "--space", "traderx-dev",
                "--upstream-space", "traderx-base", "--upstream-unit", "trade-service")
    repo = rendered.repo
    eu = {u for u in names(rendered, "unit", "list", "--space", EU, key="unit") if u.startswith("trade-")}
    assert "trade-service" in eu and "trade-extra" not in eu

    assert set(complete(f"gitops --repo {repo} unit get --space {EU} trade-")) == eu
    assert set(complete(f"gitops --repo {repo} history --space {EU} trade-")) == eu
    assert set(complete(f"gitops --repo {repo} unit get trade-")) == eu | {"trade-extra"}  # no --space: all
    assert "trade-extra" in complete(f"gitops --repo {repo} upgrade --space 'traderx-d*' --unit trade-")
    assert set(complete(f"gitops --repo {repo} promote --from {EU} --to traderx-dev --unit trade-")) == eu
    # --repo after the command, as every command takes it
    assert set(complete(f"gitops unit get --repo {repo} --space {EU} trade-")) == eu


def test_merge_unit_completes_the_space_then_its_units(rendered: Cli, complete: Complete) -> None:
    update = f"gitops --repo {rendered.repo} unit update trade-service --space traderx-prod-asia --merge-unit"
    assert set(complete(f"{update} traderx-prod-")) == {f"traderx-prod-{r}/" for r in ("us", "eu", "asia")}
    units = names(rendered, "unit", "list", "--space", EU, key="unit")
    assert set(complete(f"{update} traderx-prod-e")) == {f"{EU}/{u}" for u in units}
    assert complete(f"{update} {EU}/trade-serv") == [f"{EU}/trade-service", f"{EU}/trade-service-svc"]


def test_open_changesets_loose_and_packed(rendered: Cli, complete: Complete) -> None:
    rendered.ok("changeset", "create", "market-data-v2")
    rendered.git("pack-refs", "--all")  # now only in .git/packed-refs
    rendered.ok("changeset", "create", "market-fix")
    opened = names(rendered, "changeset", "list", key="changeset")
    assert opened == {"market-data-v2", "market-fix"}
    repo = rendered.repo
    assert set(complete(f"gitops --repo {repo} changeset show ")) == opened
    assert complete(f"gitops --repo {repo} changeset apply market-d") == ["market-data-v2"]
    assert set(complete(f"gitops --repo {repo} run set-replicas --replicas 2 --changeset market-")) == opened
    assert complete(f"gitops --repo {repo} changeset create ") == []  # a new name: nothing to offer


def test_named_filters(rendered: Cli, complete: Complete) -> None:
    filters = names(rendered, "filter", "list", key="filter")
    assert {"data", "data-services"} <= filters
    repo = rendered.repo
    assert set(complete(f"gitops --repo {repo} unit list --filter ")) == filters
    assert set(complete(f"gitops --repo {repo} run set-replicas --replicas 1 --filter d")) \
        == {f for f in filters if f.startswith("d")}
    (repo / ".gitops/settings.json").write_text("{damaged")
    assert complete(f"gitops --repo {repo} unit list --filter ") == []


def test_the_repo_from_the_environment_or_the_nearest_gitops_yaml(
        rendered: Cli, complete: Complete, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITOPS_REPO", str(rendered.repo))
    assert complete("gitops overrides --space traderx-sta") == ["traderx-staging"]
    monkeypatch.delenv("GITOPS_REPO")
    (tmp_path / "here/deeper").mkdir(parents=True)
    (tmp_path / "here/gitops.yaml").write_text(f"project: traderx\nrepo: {rendered.repo}\n")
    monkeypatch.chdir(tmp_path / "here/deeper")
    assert complete("gitops overrides --space traderx-sta") == ["traderx-staging"]


def test_outside_a_repo_nothing_and_no_error(complete: Complete, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert complete("gitops overrides --space traderx") == []
    assert complete("gitops unit get --space traderx-prod-eu trade-") == []
    assert complete("gitops changeset show ") == []
    assert complete("gitops unit list --filter ") == []
    assert complete(f"gitops --repo {tmp_path / 'missing'} unit list --space ") == []
    assert complete("gitops unit get --revision notanumber --space ") == []  # a bad value already typed
    assert "unit" in complete("gitops un")  # commands still complete
    assert complete("gitops --version un") == ["unit"]  # an eager option prints nothing while completing


def test_show_and_install_completion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run(["--show-completion", "bash"])
    assert done.value.code == 0
    script = capsys.readouterr().out
    assert "_GITOPS_COMPLETE=complete_bash" in script
    assert "complete -o default -F _gitops_completion gitops" in script
    with pytest.raises(SystemExit):
        run(["--show-completion", "zsh"])
    assert "_GITOPS_COMPLETE=complete_zsh" in capsys.readouterr().out
    assert run(["--show-completion", "tcsh"]) == 2

    with pytest.raises(SystemExit) as done:
        run(["--install-completion", "bash"])  # HOME is a temp dir (tests/conftest.py)
    assert done.value.code == 0
    installed = Path.home() / ".bash_completions" / "gitops.sh"
    assert installed.read_text().strip() == script.strip()
    assert f"source '{installed}'" in (Path.home() / ".bashrc").read_text()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_real_bash_with_the_shown_script(rendered: Cli, tmp_path: Path) -> None:
    """bash runs the function the script defines, which runs `gitops` (here a shim of this
    checkout) with the completion variables set, and fills COMPREPLY."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "gitops"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m generator.cli \"$@\"\n")
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(PROJECT),
               GITOPS_REPO=str(rendered.repo))
    script = subprocess.run(["gitops", "--show-completion", "bash"], env=env, capture_output=True, text=True,
                            check=True).stdout
    driver = (f"{script}\nCOMP_WORDS=(gitops unit get --space {EU} trade-s)\nCOMP_CWORD=5\n"
              "_gitops_completion gitops\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    shown = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver], env=env, capture_output=True,
                           text=True, check=True)
    assert shown.stdout.split() == ["trade-service", "trade-service-svc"], shown.stderr
