"""Safety at the door: no secret reaches git, no silent no-op, no accidental fleet-wide edit.

Every refusal here is checked the same way: exit 1, one line of error and one of hint, no
secret value anywhere in the output, and the manifests repo byte for byte as it was.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_UNITS, Cli, Result, snapshot

EU, ASIA, BASE = "traderx-prod-eu", "traderx-prod-asia", "traderx-base"
PASSWORD = "P@ssw0rd123"
GITHUB_TOKEN = "ghp_" + "Zq9Xk2Lm4Np6Rt8Vw1Yb3Cd5Fg7Hj0Ks2Mn4"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75y6Vw2hPq0fFUbY1uKhL8xk\n"
       "-----END RSA PRIVATE KEY-----\n")


def refused(cli: Cli, *args: str, secret: str | None = None, says: str = "") -> Result:
    """Run a command that must be refused; check the refusal is clean."""
    before = snapshot(cli.repo)
    result = cli(*args)
    assert result.code == 1, (args, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.err
    assert "Traceback" not in result.err
    assert says in lines[0], (says, lines[0])
    if secret is not None:
        assert secret not in result.out + result.err
        assert base64.b64encode(secret.encode()).decode() not in result.out + result.err
    assert snapshot(cli.repo) == before
    return result


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def hand_commit(cli: Cli, rel: str, text: str | None, message: str = "by hand") -> None:
    path = cli.repo / rel
    if text is None:
        path.unlink()
    else:
        path.write_text(text)
    cli.git("add", "-A")
    cli.git("commit", "-qm", message)


def with_env(text: str, name: str, value: str) -> str:
    data = yaml.safe_load(text)
    container = data["spec"]["template"]["spec"]["containers"][0]
    container.setdefault("env", []).append({"name": name, "value": value})
    return yaml.safe_dump(data, sort_keys=False)


def hand_commit_on_changeset(cli: Cli, tmp_path: Path, name: str, unit: str, env: str, value: str) -> None:
    """Open changeset NAME and commit on its branch, by hand, a literal env var in EU's unit."""
    cli.ok("changeset", "create", name)
    work = tmp_path / f"wt-{name}"
    cli.git("worktree", "add", "-q", str(work), f"changeset/{name}")
    manifest = work / "spaces" / EU / f"{unit}.yaml"
    manifest.write_text(with_env(manifest.read_text(), env, value))
    cli.git("-C", str(work), "commit", "-qam", "by hand on the branch")
    cli.git("worktree", "remove", "--force", str(work))


def unit_text(cli: Cli, space: str, unit: str) -> str:
    return (cli.repo / "spaces" / space / f"{unit}.yaml").read_text()


def secret_manifest(field: str = "stringData", value: str = PASSWORD) -> dict[str, object]:
    shown = base64.b64encode(value.encode()).decode() if field == "data" else value
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-creds"},
            field: {"password": shown}}


# --- 1. the secret guard, on every path that writes a unit ---------------------------------------


@pytest.mark.parametrize("field", ["stringData", "data"])
def test_unit_create_of_a_secret_with_values_is_refused(rendered: Cli, tmp_path: Path, field: str) -> None:
    manifest = write(tmp_path, "secret.yaml", secret_manifest(field))
    result = refused(rendered, "unit", "create", "db-creds", "--space", EU, "--file", manifest,
                     secret=PASSWORD, says=f"{EU}/db-creds: {field}.password: a Secret's value")
    assert "secretRef" in result.err and "SealedSecret" in result.err and "SOPS" in result.err


def test_unit_update_with_a_literal_password_is_refused(rendered: Cli) -> None:
    patch = json.dumps({"spec": {"template": {"spec": {"containers": [
        {"name": "trade-service", "env": [{"name": "DB_PASSWORD", "value": PASSWORD}]}]}}}})
    refused(rendered, "unit", "update", "trade-service", "--space", EU, "--patch", patch,
            secret=PASSWORD, says="env[DB_PASSWORD].value: a literal credential in an env var")


def test_run_set_env_var_with_a_token_is_refused(rendered: Cli) -> None:
    refused(rendered, "run", "set-env-var", "--container-name", "trade-service", "--env-var",
            f"API_TOKEN={GITHUB_TOKEN}", "--space", EU, secret=GITHUB_TOKEN, says="env[API_TOKEN]")
    # A token under a name that says nothing is found by the detector.
    refused(rendered, "run", "set-env-var", "--container-name", "trade-service", "--env-var",
            f"GH={GITHUB_TOKEN}", "--space", EU, secret=GITHUB_TOKEN, says="GitHub Token")


@pytest.mark.parametrize("data,found", [
    ({"AWS_ACCESS_KEY_ID": AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET}, "AWS Access Key"),
    ({"tls.key": PEM}, "Private Key"),
])
def test_a_configmap_holding_keys_is_refused(rendered: Cli, tmp_path: Path, data: dict[str, str],
                                             found: str) -> None:
    manifest = write(tmp_path, "cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "keys"}, "data": data})
    result = refused(rendered, "unit", "create", "keys", "--space", EU, "--file", manifest, says=found)
    for value in data.values():
        assert value.strip() not in result.err + result.out
        assert value.splitlines()[1 if "\n" in value else 0] not in result.err


def test_render_refuses_a_template_that_writes_a_secret(rendered: Cli) -> None:
    template = rendered.config / "templates" / "units" / "trade-service.yaml.j2"
    text = template.read_text()
    template.write_text(text.replace("          resources:", "          env:\n"
                                     f"            - name: DB_PASSWORD\n              value: \"{PASSWORD}\"\n"
                                     "          resources:", 1))
    refused(rendered, "render", secret=PASSWORD, says=f"{BASE}/trade-service")


def test_upgrade_refuses_to_carry_a_secret_committed_by_hand(rendered: Cli) -> None:
    hand_commit(rendered, f"spaces/{BASE}/trade-service.yaml",
                with_env(unit_text(rendered, BASE, "trade-service"), "JWT_SECRET", "s3cr3t-signing"))
    refused(rendered, "upgrade", "--space", "*", secret="s3cr3t-signing", says="env[JWT_SECRET]")


def test_promote_and_merge_unit_refuse_a_secret_committed_by_hand(rendered: Cli) -> None:
    hand_commit(rendered, f"spaces/{EU}/trade-service.yaml",
                with_env(unit_text(rendered, EU, "trade-service"), "API_KEY", "k-123456"))
    refused(rendered, "promote", "--from", EU, "--to", ASIA, secret="k-123456", says=f"{ASIA}/trade-service")
    refused(rendered, "unit", "update", "trade-service", "--space", ASIA, "--merge-unit",
            f"{EU}/trade-service", secret="k-123456", says="env[API_KEY]")


def test_rollback_refuses_to_restore_a_secret(rendered: Cli) -> None:
    clean = unit_text(rendered, EU, "trade-service")
    hand_commit(rendered, f"spaces/{EU}/trade-service.yaml", with_env(clean, "DB_PASSWORD", PASSWORD))
    hand_commit(rendered, f"spaces/{EU}/trade-service.yaml", clean, "take the password out again")
    refused(rendered, "rollback", "trade-service", "--space", EU, "--revision", "-1", secret=PASSWORD,
            says="env[DB_PASSWORD]")


def test_changeset_apply_refuses_a_secret_committed_by_hand_on_its_branch(rendered: Cli, tmp_path: Path) -> None:
    hand_commit_on_changeset(rendered, tmp_path, "creds", "trade-service", "DB_PASSWORD", PASSWORD)
    refused(rendered, "changeset", "apply", "creds", secret=PASSWORD, says="env[DB_PASSWORD]")


def test_lint_and_render_check_find_a_secret_committed_by_hand(rendered: Cli, tmp_path: Path) -> None:
    assert rendered.ok("lint").code == 0 and rendered.ok("render", "--check").code == 0
    hand_commit(rendered, f"spaces/{EU}/db-creds.yaml", yaml.safe_dump(secret_manifest()))
    refused(rendered, "render", "--check", secret=PASSWORD, says=f"{EU}/db-creds: stringData.password")
    result = rendered("lint", "-o", "json")
    assert result.code == 1 and PASSWORD not in result.out + result.err
    problems = json.loads(result.out)["problems"]
    assert [(p["space"], p["unit"], p["path"], p["rule"]) for p in problems] == [
        (EU, "db-creds", "stringData.password", "secret-data")]
    table = rendered("lint", "--space", "traderx-prod-*")
    assert table.code == 1 and "db-creds" in table.out and PASSWORD not in table.out


def test_the_shipped_example_renders_clean(rendered: Cli) -> None:
    result = rendered.ok("lint", "-o", "json")
    assert json.loads(result.out) == {"checked": 6 * EXAMPLE_UNITS, "problems": []}


@pytest.mark.parametrize("name,manifest", [
    ("empty-secret", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"},
                      "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
    ("sealed", {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "db"},
                "spec": {"encryptedData": {"password": "AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq" * 4}}}),
    ("sops", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
              "data": {"password": "ENC[AES256_GCM,data:Tr7o=,iv:1=,tag:k=,type:str]"},
              "sops": {"mac": "ENC[AES256_GCM,data:x=,iv:y=,tag:z=,type:str]", "version": "3.8.1",
                       "age": [{"recipient": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
                                "enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"}]}}),
    ("external", {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
                  "metadata": {"name": "db"}, "spec": {"secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"},
                                                       "data": [{"secretKey": "password",
                                                                 "remoteRef": {"key": "db/password"}}]}}),
])
def test_references_and_encrypted_forms_pass(rendered: Cli, tmp_path: Path, name: str,
                                             manifest: dict[str, object]) -> None:
    rendered.ok("unit", "create", name, "--space", EU, "--file", write(tmp_path, f"{name}.yaml", manifest))
    assert rendered.ok("lint").code == 0


def test_env_references_pass(rendered: Cli) -> None:
    patch = json.dumps({"spec": {"template": {"spec": {"containers": [{"name": "trade-service", "env": [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "API_TOKEN", "value": "$(TOKEN_FROM_SECRET)"},
        {"name": "TOKEN_TTL", "value": "3600"}, {"name": "SECRET_NAME", "value": "db"}]}]}}}})
    rendered.ok("unit", "update", "trade-service", "--space", EU, "--patch", patch)


def test_the_allow_list_lets_a_false_positive_through_with_a_reason(rendered: Cli, tmp_path: Path) -> None:
    settings = rendered.config / "gitops.yaml"
    original = settings.read_text()
    settings.write_text(original + "secrets:\n  allow:\n    - {space: 'traderx-prod-*', unit: demo, "
                        "path: data.API_KEY}\n")
    refused(rendered, "render", says="no reason")
    settings.write_text(original + "secrets:\n  allow:\n    - space: 'traderx-prod-*'\n      unit: demo\n"
                        "      path: data.API_KEY\n      reason: the sandbox's published demo key\n")
    rendered.ok("render")
    recorded = json.loads((rendered.repo / ".gitops" / "settings.json").read_text())
    assert recorded["secrets"]["allow"][0]["reason"] == "the sandbox's published demo key"
    demo = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo"},
            "data": {"API_KEY": "Zq9Xk2Lm4Np6Rt8Vw1Yb3Cd5Fg7Hj0Ks"}}
    rendered.ok("unit", "create", "demo", "--space", EU, "--file", write(tmp_path, "demo.yaml", demo))
    refused(rendered, "unit", "create", "demo", "--space", BASE, "--file", write(tmp_path, "demo.yaml", demo),
            says=f"{BASE}/demo: data.API_KEY")
    assert rendered.ok("lint").code == 0


# --- 2. a function whose target does not exist is an error ------------------------------------------


def test_a_container_name_typo_is_an_error_listing_the_containers(rendered: Cli) -> None:
    result = refused(rendered, "run", "set-image-reference", "--container-name", "trade-servce",
                     "--image-reference", ":v2", "--space", "*", says="no selected unit has a container named 'trade-servce'")
    assert "trade-service" in result.err.splitlines()[0]


def test_removing_an_env_var_that_exists_nowhere_is_an_error(rendered: Cli) -> None:
    rendered.ok("run", "set-env-var", "--container-name", "trade-service", "--env-var", "CIRCUIT_BREAKER=true",
                "--space", EU)
    refused(rendered, "run", "set-env-var", "--container-name", "trade-service", "--env-var", "CIRCUTI_BREAKER-",
            "--space", "*", says="env var 'CIRCUTI_BREAKER' to remove")
    rendered.ok("run", "set-env-var", "--container-name", "trade-service", "--env-var", "CIRCUIT_BREAKER-",
                "--space", "*")
    assert "CIRCUIT_BREAKER" not in unit_text(rendered, EU, "trade-service")


def test_a_selection_that_matches_nothing(rendered: Cli) -> None:
    where = "spec.replicas > 100"
    listed = rendered.ok("unit", "list", "--space", "*", "--where", where)
    assert "0 units match --where 'spec.replicas > 100'" in listed.err
    refused(rendered, "run", "set-replicas", "--replicas", "1", "--space", "*", "--where", where,
            says="0 units match")
    refused(rendered, "upgrade", "--space", "*", "--where", where, says="0 units match")
    refused(rendered, "apply", "--space", EU, "--where", where, says="0 units match")
    refused(rendered, "run", "set-replicas", "--replicas", "1", "--space", "*", "--filter", "frontend",
            "--where", where, says="0 units match --filter frontend --where")


# --- 3. mutations across spaces need their scope typed ---------------------------------------------


@pytest.mark.parametrize("args", [
    ("run", "set-replicas", "--replicas", "1"),
    ("run", "set-image-reference", "--container-name", "trade-service", "--image-reference", ":v2"),
    ("upgrade",),
    ("apply",),
])
def test_no_space_is_refused_with_a_hint(rendered: Cli, args: tuple[str, ...]) -> None:
    result = refused(rendered, *args, says="needs --space")
    assert "--space '*'" in result.err


def test_a_dry_run_says_how_many_units_in_how_many_spaces_prod_marked(rendered: Cli) -> None:
    result = rendered.ok("run", "set-replicas", "--replicas", "1", "--space", "*", "--dry-run")
    assert ("would change 15 units in 4 spaces (3 production): traderx-prod-asia 4 (prod), "
            "traderx-prod-eu 4 (prod), traderx-prod-us 4 (prod), traderx-staging 3") in result.err
    data = json.loads(rendered.ok("run", "set-replicas", "--replicas", "1", "--space", "*", "--dry-run",
                                  "-o", "json").out)
    assert data["productionSpaces"] == ["traderx-prod-asia", "traderx-prod-eu", "traderx-prod-us"]


# --- 4. every reference is checked -----------------------------------------------------------------


def test_audit_of_an_unknown_space_or_unit(rendered: Cli) -> None:
    refused(rendered, "audit", "--space", "traderx-prod-ue", says="no space matches 'traderx-prod-ue'")
    refused(rendered, "audit", "--unit", "trade-servce", says="no unit 'trade-servce'")
    assert rendered.ok("audit", "--space", "traderx-prod-*").code == 0


def test_promote_into_itself(rendered: Cli) -> None:
    refused(rendered, "promote", "--from", EU, "--to", EU, says="into itself")


@pytest.mark.parametrize("manifest,says", [
    ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "apiVersion and kind are required"),
    ({"apiVersion": "v1", "metadata": {"name": "x"}}, "no kind"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}, "data": {"a": "b"}},
     "has no metadata.name"),
])
def test_a_manifest_without_apiversion_kind_or_name(rendered: Cli, tmp_path: Path,
                                                   manifest: dict[str, object], says: str) -> None:
    refused(rendered, "unit", "create", "x", "--space", EU, "--file", write(tmp_path, "x.yaml", manifest), says=says)


def test_a_where_path_into_a_list_needs_star_or_a_number(rendered: Cli) -> None:
    clause = "spec.template.spec.containers.x-1.image LIKE '%:v1'"
    result = refused(rendered, "unit", "list", "--space", "*", "--where", clause,
                     says="spec.template.spec.containers is a list: 'x-1' at column 31")
    assert "containers.*.image" in result.err
    refused(rendered, "run", "set-replicas", "--replicas", "1", "--space", "*", "--where", clause,
            says="is a list")


def test_binary_data_must_be_base64(rendered: Cli, tmp_path: Path) -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bin"},
                "binaryData": {"blob": "not base64!"}}
    refused(rendered, "unit", "create", "bin", "--space", EU, "--file", write(tmp_path, "b.yaml", manifest),
            says="binaryData.blob must be base64")


# --- 5. global options in either position; --space says whether it takes a glob --------------------


def test_global_options_after_the_subcommand(rendered: Cli) -> None:
    result = rendered.ok("unit", "list", "--space", EU, "--repo", str(rendered.repo), "-o", "json")
    assert len(json.loads(result.out)) == EXAMPLE_UNITS
    result = rendered.ok("space", "get", EU, "--repo", str(rendered.repo), "-o", "json")
    assert json.loads(result.out)["space"] == EU


def test_every_space_option_says_whether_it_takes_a_glob(rendered: Cli) -> None:
    from generator.cli import _command

    def commands(group: object, prefix: str) -> list[tuple[str, object]]:
        out = []
        for name, command in getattr(group, "commands", {}).items():
            out += commands(command, f"{prefix} {name}") if hasattr(command, "commands") else [(f"{prefix} {name}", command)]
        return out

    for name, command in commands(_command(), "gitops"):
        for param in getattr(command, "params", []):
            if "--space" in getattr(param, "opts", []):
                text = (param.help or "").lower()
                assert "glob" in text, (name, param.help)


# --- no secret in a diff, an override or a conflict, not even one being removed -----------------


def test_a_secret_committed_by_hand_is_masked_wherever_it_is_shown(rendered: Cli, tmp_path: Path) -> None:
    clean = unit_text(rendered, EU, "trade-service")
    hand_commit(rendered, f"spaces/{EU}/trade-service.yaml", with_env(clean, "DB_PASSWORD", PASSWORD))
    overrides = rendered.ok("overrides", "--space", EU, "-o", "json")
    assert PASSWORD not in overrides.out and "11 characters, masked" in overrides.out
    (tmp_path / "clean.yaml").write_text(clean)
    dry = rendered.ok("unit", "update", "trade-service", "--space", EU, "--file", str(tmp_path / "clean.yaml"),
                      "--dry-run")
    assert PASSWORD not in dry.out + dry.err and "-          value: ********" in dry.out
    rendered.ok("unit", "update", "trade-service", "--space", EU, "--file", str(tmp_path / "clean.yaml"))
    assert PASSWORD not in rendered.git("log", "-1", "--format=%B")

    hand_commit_on_changeset(rendered, tmp_path, "leak", "web-gui", "API_TOKEN", GITHUB_TOKEN)
    shown = rendered.ok("changeset", "show", "leak")
    assert GITHUB_TOKEN not in shown.out + shown.err and "value: ********" in shown.out


def test_conflict_values_are_masked_in_output_and_commit_messages() -> None:
    from generator.model import Conflict
    from generator.operations import mutation

    conflict = Conflict("spec.template.spec.containers[t].env[DB_PASSWORD].value", "a", "b", PASSWORD, "local")
    line = mutation.conflict_line(conflict)
    assert PASSWORD not in line and "11 characters, masked" in line
    plain = Conflict("spec.replicas", 1, 2, 3, "local")
    assert mutation.conflict_line(plain).endswith("origin 1, upstream 2, local 3; kept local")
