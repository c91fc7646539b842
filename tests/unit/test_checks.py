"""operations.checks.Checks: what it remembers as good never lets through what a fresh check
would refuse. The schema check is skipped for data equal up to namespace, label and env var
values; the secret guard still reads every env var value."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from generator.errors import SchemaError
from generator.guard import SecretError
from generator.model import UnitRef
from generator.operations.checks import Checks
from generator.schema import SchemaValidator
from tests.unit.test_schema import VERSION, deployment


def region(name: str, value: Any) -> dict[str, Any]:
    data = deployment()
    data["metadata"] = {"name": "x", "namespace": f"ns-{name}", "labels": {"region": name}}
    data["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "REGION", "value": value}]
    return data


def counting(checks: Checks) -> list[str]:
    seen: list[str] = []
    validate = checks.validator.validate

    def counted(data: Any, source: str) -> None:
        seen.append(source)
        validate(data, source)
    checks.validator.validate = counted  # type: ignore[method-assign]
    return seen


def test_regions_that_differ_in_env_values_are_schema_checked_once() -> None:
    checks = Checks(VERSION, ())
    seen = counting(checks)
    for name in ("r1", "r2", "r3"):
        checks.validate(region(name, name.upper()), UnitRef(f"s-{name}", "web"))
    assert seen == ["s-r1/web"]


def test_an_env_value_of_another_type_is_still_refused() -> None:
    checks = Checks(VERSION, ())
    checks.validate(region("r1", "R1"), UnitRef("s-r1", "web"))
    with pytest.raises(SchemaError, match="s-r2/web"):
        checks.validate(region("r2", 5), UnitRef("s-r2", "web"))


def test_other_differences_are_checked_again() -> None:
    checks = Checks(VERSION, ())
    checks.validate(region("r1", "R1"), UnitRef("s-r1", "web"))
    bad = region("r2", "R2")
    bad["spec"]["template"]["spec"]["containers"][0]["env"][0]["valu"] = "x"
    with pytest.raises(SchemaError):
        checks.validate(bad, UnitRef("s-r2", "web"))
    custom = copy.deepcopy(region("r3", "R3"))
    custom["apiVersion"] = "example.com/v1"  # not a PodSpec for all we know: keyed in full
    seen = counting(checks)
    checks.validate(custom, UnitRef("s-r3", "web"))
    checks.validate(region("r4", "R4") | {"apiVersion": "example.com/v1"}, UnitRef("s-r4", "web"))
    assert seen == ["s-r3/web", "s-r4/web"]


def test_the_secret_guard_still_reads_every_env_value() -> None:
    checks = Checks(VERSION, ())
    checks.validate(region("r1", "R1"), UnitRef("s-r1", "web"))
    leaked = region("r2", "R2")
    leaked["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"}]
    with pytest.raises(SecretError):
        checks.validate(leaked, UnitRef("s-r2", "web"))


def test_the_schema_types_an_env_value_as_a_free_string() -> None:
    """What skipping the check for other env values rests on: kubernetes-validate's schema for
    EnvVar.value has no format, pattern or enum (if a version adds one, this fails)."""
    from generator import schema

    folders = list(schema._SCHEMA_ROOT.glob("v*-local-strict"))
    assert folders
    for folder in folders:
        definitions = json.loads((folder / "_definitions.json").read_text())
        env_var = (definitions.get("$defs") or definitions["definitions"])["io.k8s.api.core.v1.EnvVar"]
        value = env_var["properties"]["value"]
        assert set(value) <= {"type", "description"}, folder
        assert "string" in value["type"]
    SchemaValidator(VERSION).validate(region("r1", "any text at all: $(X) é"), "x")


def test_the_schema_types_object_names_namespaces_and_label_values_as_free_strings() -> None:
    """What skipping the check for other names, namespaces and label values rests on (the
    API server, not the schema, checks a name's form)."""
    from generator import schema

    folders = list(schema._SCHEMA_ROOT.glob("v*-local-strict"))
    assert folders
    for folder in folders:
        definitions = json.loads((folder / "_definitions.json").read_text())
        meta = (definitions.get("$defs") or definitions["definitions"])["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
        for field in ("name", "namespace"):
            assert set(meta["properties"][field]) <= {"type", "description"}, (folder, field)
        labels = meta["properties"]["labels"]["additionalProperties"]
        assert set(labels) <= {"type", "description", "default"}, folder


def test_namespaces_of_other_names_are_checked_once_and_an_empty_name_still_refused() -> None:
    checks = Checks(VERSION, ())
    seen = counting(checks)
    for name in ("traderx-prod-r1", "traderx-prod-r2"):
        checks.validate({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                        UnitRef(f"s-{name}", "namespace"))
    assert seen == ["s-traderx-prod-r1/namespace"]
    with pytest.raises(SchemaError, match="no metadata.name"):
        checks.validate({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ""}},
                        UnitRef("s-r3", "namespace"))
    with pytest.raises(SecretError, match="metadata.name"):
        checks.validate({"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": "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"}},
                        UnitRef("s-r4", "namespace"))


def test_a_secret_in_an_env_value_is_found_where_the_rest_was_found_clean() -> None:
    checks = Checks(VERSION, ())
    checks.validate(region("r1", "R1"), UnitRef("s-r1", "web"))
    with pytest.raises(SecretError, match=r"s-r2.*containers\[c\]\.env\[REGION\]\.value"):
        checks.validate(region("r2", "AKIAIOSFODNN7EXAMPLE"), UnitRef("s-r2", "web"))
    labelled = region("r3", "R3")
    labelled["metadata"]["labels"]["token"] = "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"
    with pytest.raises(SecretError, match="metadata.labels.token"):
        checks.validate(labelled, UnitRef("s-r3", "web"))
    other = region("r4", "R4")
    other["spec"]["template"]["spec"]["containers"][0]["args"] = ["AKIAIOSFODNN7EXAMPLE"]
    with pytest.raises(SecretError, match="args"):
        checks.validate(other, UnitRef("s-r4", "web"))


def test_what_the_guard_finds_is_what_a_fresh_check_finds() -> None:
    """The same findings, same paths, through the short way as through a fresh Checks."""
    seasoned = Checks(VERSION, ())
    seasoned.findings = []
    seasoned.validate(region("r1", "R1"), UnitRef("s", "web"))
    fresh = Checks(VERSION, ())
    fresh.findings = []
    leaked = region("r2", "sk_live_4eC39HqLyjWDarjtT1zdp7dc")
    leaked["metadata"]["labels"]["k"] = "AKIAIOSFODNN7EXAMPLE"
    seasoned.validate(leaked, UnitRef("s", "web"))
    fresh.validate(leaked, UnitRef("s", "web"))
    assert seasoned.findings and seasoned.findings == fresh.findings
