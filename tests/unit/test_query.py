"""The WHERE grammar: what matches, what is parsed, and what a bad clause says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from generator.query import QueryError, parse


@dataclass
class FakeUnit:
    space: str = "traderx-prod-eu"
    unit: str = "trade-service"
    labels: dict[str, str] = field(default_factory=lambda: {
        "layer": "backend", "order": "5", "service": "trade-service", "critical": "true"})
    space_labels: dict[str, str] = field(default_factory=lambda: {"region": "eu", "environment": "prod"})
    upstream_space: str | None = "traderx-base"
    manifest: Any = field(default_factory=lambda: {
        "kind": "Deployment", "spec": {"replicas": 5, "template": {"spec": {"containers": [
            {"name": "trade-service", "image": "traderx/trade-service:v1",
             "env": [{"name": "CIRCUIT_BREAKER", "value": "false"}]},
            {"name": "sidecar", "image": "envoy:1.30"}]}}}})
    parsed: int = 0

    def revision(self) -> int:
        return 3

    def text(self) -> str:
        return yaml.safe_dump(self.manifest, sort_keys=False)

    def data(self) -> Any:
        self.parsed += 1
        return self.manifest


MATCHES = [
    ("Space.Slug LIKE '%prod-eu%' AND spec.replicas > 2", True),
    ("Space.Slug LIKE '%prod-us%' AND spec.replicas > 2", False),
    ("Data CONTAINS 'image: traderx/trade-service:v1'", True),
    ("Data CONTAINS 'replicas: 6'", False),
    ("Labels.layer = 'backend'", True),
    ("labels.layer = 'backend'", False),  # lower case: a manifest path, which this is not
    ("Labels.service IN ('trade-service', 'trade-feed')", True),
    ("Labels.service NOT IN ('trade-service', 'trade-feed')", False),
    ("Labels.order IS NOT NULL", True),
    ("Labels.port IS NULL", True),
    ("spec.template.spec.containers.*.image LIKE '%:v1'", True),
    ("spec.template.spec.containers.1.image = 'envoy:1.30'", True),
    ("spec.template.spec.containers.*.env.*.value = 'false'", True),
    ("spec.replicas > 2", True),
    ("spec.replicas > 10", False),
    ("spec.replicas = '5'", True),
    ("Labels.order >= 5 AND Labels.order < 6", True),  # labels are strings; numbers compare as numbers
    ("NOT Labels.layer = 'frontend'", True),
    ("Labels.layer = 'frontend' OR (Slug = 'trade-service' AND Revision = 3)", True),
    ("UpstreamSpace = 'traderx-base' and space.labels.region = 'eu'", False),
    ("Space.Labels.region = 'eu' AND Labels.critical = TRUE", True),
    ("Slug NOT LIKE 'web%'", True),
    ("Slug LIKE 'trade_service'", True),
    ("spec.nothing.here = 1", False),
]


@pytest.mark.parametrize("clause,expected", MATCHES)
def test_matches(clause: str, expected: bool) -> None:
    assert parse(clause).matches(FakeUnit()) is expected


def test_a_path_whose_key_is_not_in_the_text_is_not_parsed() -> None:
    unit = FakeUnit(manifest={"kind": "Service", "spec": {"ports": [{"port": 80}]}})
    assert parse("spec.replicas > 2").matches(unit) is False
    assert parse("spec.replicas IS NULL").matches(unit) is True
    assert unit.parsed == 0


def test_metadata_first_manifest_never_parsed_when_excluded() -> None:
    unit = FakeUnit(space="traderx-dev")
    assert parse("spec.replicas > 2 AND Space.Slug LIKE '%prod%'").matches(unit) is False
    assert unit.parsed == 0
    assert parse("Labels.layer = 'backend'").needs_data is False
    assert parse("Labels.layer = 'backend' AND spec.replicas > 1").needs_data is True


BAD = [
    "",
    "spec.replicas >",
    "Labels.layer = 'backend",
    'Labels.layer = "backend',
    "Labels.layer == 'backend'",
    "spec.replicas ~ 3",
    "Labels.service IN ()",
    "Labels.service IN ('a',)",
    "Labels.service IN 'a'",
    "Labels.layer = 'x' AND",
    "AND Labels.layer = 'x'",
    "Labels.layer = 'x' OR OR Slug = 'y'",
    "((Labels.layer = 'x')",
    "(Labels.layer = 'x'))",
    "spec..replicas = 1",
    "spec.template.spec.containers.[0].image = 'x'",
    "spec.template.spec.containers.-1.image = 'x'",
    "spec.replicas = = 2",
    "Labels.layer LIKE 3",
    "Labels.layer IS 'x'",
    "Labels.layer IS NOT",
    "Data CONTAINS",
    "Foo = 1",
    "Labels.a.b = 1",
    "Space.Labels = 'x'",
    "NOT",
    "spec.replicas > 2 Labels.layer = 'x'",
]


@pytest.mark.parametrize("clause", BAD)
def test_bad_clauses_say_where(clause: str) -> None:
    with pytest.raises(QueryError) as err:
        parse(clause)
    message = err.value.message
    assert message.startswith(("invalid WHERE clause at column", "unknown field", "empty WHERE clause"))
    if clause:
        assert repr(clause) in message or f'"{clause}"' in message or clause in message
    if message.startswith("invalid"):
        column = int(message.split("column ")[1].split(":")[0])
        assert 1 <= column <= len(clause) + 1
        assert "^ here" in err.value.hint
