"""`gitops render` end to end against real git repos in tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_UNITS, Cli, snapshot


def commits(cli: Cli) -> list[str]:
    return cli.git("rev-list", "HEAD").split()


def test_first_render_is_one_commit_of_every_manifest(rendered: Cli) -> None:
    files = rendered.git("ls-files").split()
    manifests = [f for f in files if f.startswith("spaces/")]
    assert len(manifests) == 6 * EXAMPLE_UNITS
    assert len({f.split("/")[1] for f in manifests}) == 6
    assert sorted(f for f in files if f.startswith(".gitops/")) == [".gitops/settings.json"] + [
        f".gitops/spaces/traderx-{s}.json"
        for s in ("base", "dev", "prod-asia", "prod-eu", "prod-us", "staging")]
    assert len(commits(rendered)) == 1
    assert rendered.git("status", "--porcelain") == ""


def test_commit_carries_trailers_and_the_person(rendered: Cli) -> None:
    message = rendered.git("log", "-1", "--format=%B")
    assert message.splitlines()[0] == f"render: {6 * EXAMPLE_UNITS} units in 6 spaces"
    trailers = dict(line.split(": ", 1) for line in message.strip().splitlines()[2:])
    assert trailers["Gitops-Operation"] == "render"
    assert trailers["Gitops-Spaces"].split(", ") == [
        "traderx-base", "traderx-dev", "traderx-staging", "traderx-prod-asia", "traderx-prod-eu",
        "traderx-prod-us"] or set(trailers["Gitops-Spaces"].split(", ")) == {
        "traderx-base", "traderx-dev", "traderx-staging", "traderx-prod-asia", "traderx-prod-eu",
        "traderx-prod-us"}
    assert "traderx-prod-eu/*" in trailers["Gitops-Units"]
    assert rendered.git("log", "-1", "--format=%an <%ae>").strip() == "Ada Operator <ada@example.com>"


def test_region_replicas(rendered: Cli) -> None:
    replicas = {}
    for space in ("dev", "staging", "prod-us", "prod-eu", "prod-asia"):
        text = (rendered.repo / f"spaces/traderx-{space}/trade-service.yaml").read_text()
        obj = yaml.safe_load(text)
        replicas[space] = obj["spec"]["replicas"]
        assert obj["metadata"]["namespace"] == f"traderx-{space}"
    assert replicas == {"dev": 1, "staging": 2, "prod-us": 3, "prod-eu": 5, "prod-asia": 2}


def test_prod_resources_larger_than_dev(rendered: Cli) -> None:
    def limits(space: str) -> dict:
        obj = yaml.safe_load((rendered.repo / f"spaces/{space}/trade-service.yaml").read_text())
        return obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]

    def mebibytes(value: str) -> float:
        return float(value[:-2]) * (1024 if value.endswith("Gi") else 1)

    assert mebibytes(limits("traderx-prod-eu")["memory"]) > mebibytes(limits("traderx-dev")["memory"])


def test_second_render_makes_no_commit(rendered: Cli) -> None:
    before = snapshot(rendered.repo)
    result = rendered.ok("render")
    assert "nothing changed" in result.err
    assert len(commits(rendered)) == 1
    assert snapshot(rendered.repo) == before


def test_check_passes_when_up_to_date(rendered: Cli) -> None:
    assert rendered("render", "--check").code == 0


def test_check_names_stale_files_after_a_hand_edit_upstream(rendered: Cli) -> None:
    path = rendered.repo / "spaces/traderx-base/trade-service.yaml"
    path.write_text(path.read_text().replace("traderx/trade-service:v1", "traderx/trade-service:v2"))
    rendered.git("commit", "-qam", "hand edit of the base")
    result = rendered("render", "--check")
    assert result.code == 1
    assert "spaces/traderx-prod-eu/trade-service.yaml" in result.err
    assert "Traceback" not in result.err


def test_check_names_stale_files_after_a_config_change(rendered: Cli) -> None:
    eu = rendered.config / "regions/eu.yaml"
    eu.write_text(eu.read_text().replace("trade-service: 5", "trade-service: 6"))
    result = rendered("render", "--check")
    assert result.code == 1
    assert "spaces/traderx-prod-eu/trade-service.yaml" in result.err
    head = commits(rendered)
    rendered.ok("render", "-m", "eu: 6 trade-service replicas")
    assert len(commits(rendered)) == len(head) + 1
    changed = rendered.git("show", "--name-only", "--format=", "HEAD").split()
    assert changed == [".gitops/spaces/traderx-prod-eu.json", "spaces/traderx-prod-eu/trade-service.yaml"]
    assert rendered("render", "--check").code == 0


def test_template_change_flows_to_every_space(rendered: Cli) -> None:
    values = rendered.config / "templates/values.yaml"
    values.write_text(values.read_text().replace("imageTag: v1", "imageTag: v2"))
    rendered.ok("render")
    changed = rendered.git("show", "--name-only", "--format=", "HEAD").split()
    assert "spaces/traderx-prod-asia/web-gui.yaml" in changed
    assert "spaces/traderx-base/namespace.yaml" not in changed  # unchanged units are not rewritten
    assert "image: traderx/web-gui:v2" in (rendered.repo / "spaces/traderx-dev/web-gui.yaml").read_text()


def test_removed_region_removes_its_space(rendered: Cli) -> None:
    (rendered.config / "regions/asia.yaml").unlink()
    rendered.ok("render")
    assert not (rendered.repo / "spaces/traderx-prod-asia").exists()
    assert not (rendered.repo / ".gitops/spaces/traderx-prod-asia.json").exists()
    assert rendered.git("status", "--porcelain") == ""


def test_uncommitted_edit_is_refused_not_swept(rendered: Cli) -> None:
    path = rendered.repo / "spaces/traderx-dev/web-gui.yaml"
    path.write_text(path.read_text() + "# mine\n")
    dev = rendered.config / "environments/dev.yaml"  # a render that writes the space
    dev.write_text(dev.read_text() + "\n")
    before = snapshot(rendered.repo)
    result = rendered("render")
    assert result.code == 1
    assert "uncommitted changes in the manifests repo: spaces/traderx-dev/web-gui.yaml" in result.err
    assert snapshot(rendered.repo) == before


def test_unrelated_work_tree_changes_are_not_committed(rendered: Cli) -> None:
    (rendered.repo / "NOTES.md").write_text("mine\n")
    eu = rendered.config / "regions/eu.yaml"
    eu.write_text(eu.read_text().replace("trade-service: 5", "trade-service: 4"))
    rendered.ok("render")
    assert "NOTES.md" not in rendered.git("show", "--name-only", "--format=", "HEAD")
    assert rendered.git("status", "--porcelain") == "?? NOTES.md\n"


# --- bad input: one line, exit 1, no traceback, the repo exactly as it was -------------------

def break_template(config: Path) -> None:
    path = config / "templates/units/trade-service.yaml.j2"
    path.write_text(path.read_text().replace("{{ svc.replicas }}", "{{ svc.replicaz }}"))


def break_overlay_yaml(config: Path) -> None:
    (config / "regions/eu.yaml").write_text("environment: prod\nreplicas: [5\n")


def overlay_unknown_unit(config: Path) -> None:
    path = config / "regions/eu.yaml"
    path.write_text(path.read_text() + "\nimages:\n  no-such-unit: ':v2'\n")


def invalid_manifest(config: Path) -> None:
    path = config / "regions/eu.yaml"
    patch = ("patches:\n  trade-service:\n    spec:\n      template:\n        spec:\n"
             "          containers:\n          - name: trade-service\n            imagePullPolicy: 3\n")
    path.write_text(path.read_text().replace("patches:\n", patch, 1))


BAD_INPUTS = {
    "undefined template variable": (break_template, "templates/units/trade-service.yaml.j2:"),
    "YAML syntax error in an overlay": (break_overlay_yaml, "regions/eu.yaml:"),
    "overlay names an unknown unit": (overlay_unknown_unit, "no unit named 'no-such-unit'"),
    "invalid Kubernetes manifest": (invalid_manifest,
                                    "traderx-prod-eu/trade-service: invalid Deployment"),
}


@pytest.mark.parametrize("breakage", BAD_INPUTS.values(), ids=list(BAD_INPUTS))
def test_bad_input_leaves_the_repo_byte_for_byte(rendered: Cli, breakage) -> None:  # type: ignore[no-untyped-def]
    breaker, expected = breakage
    eu = rendered.config / "regions/eu.yaml"
    eu.write_text(eu.read_text().replace("trade-service: 5", "trade-service: 6"))  # a real change too
    breaker(rendered.config)
    before = snapshot(rendered.repo)
    result = rendered("render")
    assert result.code == 1
    assert expected in result.err
    assert "Traceback" not in result.err
    assert result.err.splitlines()[0].startswith("error: ")
    assert snapshot(rendered.repo) == before


@pytest.mark.parametrize("breakage", BAD_INPUTS.values(), ids=list(BAD_INPUTS))
def test_bad_input_creates_no_repo(cli: Cli, breakage) -> None:  # type: ignore[no-untyped-def]
    breaker, expected = breakage
    breaker(cli.config)
    result = cli("render")
    assert result.code == 1 and expected in result.err
    assert not cli.repo.exists()


def test_unknown_space(rendered: Cli) -> None:
    result = rendered("unit", "list", "--space", "traderx-prod-xx")
    assert result.code == 1
    assert "space 'traderx-prod-xx' not found; known spaces: traderx-base, traderx-dev" in result.err


def test_invalid_space_name(rendered: Cli) -> None:
    result = rendered("unit", "get", "x", "--space", "../etc")
    assert result.code == 1 and "invalid space name '../etc'" in result.err


def test_installed_command_prints_no_traceback(config_dir: Path, tmp_path: Path) -> None:
    break_overlay_yaml(config_dir)
    proc = subprocess.run([sys.executable, "-m", "generator.cli", "--config", str(config_dir),
                           "--repo", str(tmp_path / "m"), "render"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: regions/eu.yaml:3:1: invalid YAML: did not find expected")
    assert "(while parsing a flow sequence at line 2)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_error_exits_2(cli: Cli) -> None:
    assert cli("render", "--no-such-flag").code == 2


# --- reading -------------------------------------------------------------------------------

def test_space_list_and_get(rendered: Cli) -> None:
    spaces = json.loads(rendered.ok("space", "list", "-o", "json").out)
    assert [s["space"] for s in spaces] == ["traderx-base", "traderx-dev", "traderx-prod-asia",
                                            "traderx-prod-eu", "traderx-prod-us", "traderx-staging"]
    eu = json.loads(rendered.ok("space", "get", "traderx-prod-eu", "-o", "json").out)
    assert eu["upstream"] == "traderx-base"
    assert eu["target"] == {"context": "prod-eu", "namespace": "traderx-prod-eu"}
    assert len(eu["units"]) == EXAMPLE_UNITS
    table = rendered.ok("space", "list").out
    assert "traderx-prod-eu" in table and "SPACE" in table


def test_unit_list_across_spaces(rendered: Cli) -> None:
    rows = json.loads(rendered.ok("unit", "list", "--space", "traderx-prod-*", "-o", "json").out)
    assert len(rows) == 3 * EXAMPLE_UNITS
    eu = [r for r in rows if r["space"] == "traderx-prod-eu"]
    assert eu[0]["unit"] == "namespace"
    orders = [int(r["labels"]["order"]) for r in eu]
    assert orders == sorted(orders)  # in apply order
    assert eu[-1]["unit"] == "ingress"
    assert yaml.safe_load(rendered.ok("unit", "list", "-o", "yaml").out)[0]["space"] == "traderx-base"


def test_unit_get(rendered: Cli) -> None:
    got = json.loads(rendered.ok("unit", "get", "trade-service", "--space", "traderx-prod-eu", "-o", "json").out)
    assert set(got) == {"space", "unit", "labels", "upstream", "revision", "data"}
    assert got["upstream"] == "traderx-base/trade-service"
    assert got["revision"] == 1
    assert got["labels"]["order"] == "5"
    assert got["data"]["spec"]["replicas"] == 5
    text = rendered.ok("unit", "get", "trade-service", "--space", "traderx-prod-eu").out
    assert text == (rendered.repo / "spaces/traderx-prod-eu/trade-service.yaml").read_text()
