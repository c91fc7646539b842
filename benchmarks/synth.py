"""Synthetic fleets for the benchmarks: N production regions, twice.

(a) as a gitops config dir: the project's gitops.yaml, templates/ and environments/, plus N
    region overlays regions/r0001.yaml ... of the same kinds as the shipped regions (labels,
    target, trade-service replicas, MARKET_REGION, the ingress host);
(b) as the kustomize tree a user would write for the same fleet: kustomize/base/ (the base
    manifests as gitops renders them) and kustomize/overlays/<region>/kustomization.yaml, each
    making the changes gitops's overlay makes (environment overlay, then region overlay).

Only files are written here; nothing is timed. `run.py` does the timing.

    python benchmarks/synth.py 100 /tmp/fleet            # config + kustomize tree
    python benchmarks/synth.py 100 /tmp/fleet --no-kustomize
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is ~6x faster; the benchmarks parse thousands of manifests
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Identity for the commits gitops makes, in case the machine has none configured.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "gitops benchmark",
    "GIT_AUTHOR_EMAIL": "benchmark@example.com",
    "GIT_COMMITTER_NAME": "gitops benchmark",
    "GIT_COMMITTER_EMAIL": "benchmark@example.com",
}

MARKETS = ["americas", "emea", "apac"]


# --- small helpers --------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=SafeLoader)


def load_yaml_all(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=SafeLoader) if doc is not None]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the patches in a kustomization) as literal blocks, as people write them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


class SynthError(Exception):
    pass


def unit_count(config: Path = PROJECT_ROOT) -> int:
    """How many units each space of CONFIG has: templates/values.yaml's `units`."""
    return len((load_yaml(config / "templates" / "values.yaml") or {}).get("units") or {})


MARKER = ".written-by-synth"


def fresh_dir(path: Path) -> Path:
    """Empty PATH for writing, but only remove what synth.py wrote there itself."""
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists():
            raise SynthError(f"{path} exists and was not written by benchmarks/synth.py; "
                             "remove it or pick another output dir")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("benchmarks/synth.py owns this dir and deletes it when rewriting it\n")
    return path


def region_name(i: int, n: int) -> str:
    """r0001 ... r1000; wider when N needs it, so the names always sort in order."""
    return f"r{i:0{max(4, len(str(n)))}d}"


def gitops_argv(explicit: str | None = None) -> list[str]:
    """How to run gitops: --gitops, else the `gitops` command, else `python -m generator.cli`."""
    if explicit:
        return explicit.split()
    found = shutil.which("gitops")
    if found:
        return [found]
    return [sys.executable, "-m", "generator.cli"]


def gitops_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_IDENTITY)
    # `python -m generator.cli` from an uninstalled checkout; a PYTHONPATH the caller set comes
    # first, so that another checkout's code can be measured with this harness
    env["PYTHONPATH"] = os.pathsep.join(p for p in [env.get("PYTHONPATH"), str(PROJECT_ROOT)] if p)
    return env


# --- (a) the gitops config dir ----------------------------------------------------------------


def _ingress_rules_template(source: Path) -> list[dict[str, Any]] | None:
    """The ingress rules of the first shipped region that patches them, to copy its shape."""
    regions = source / "regions"
    if not regions.is_dir():
        return None
    for path in sorted(regions.glob("*.yaml")):
        data = load_yaml(path) or {}
        rules = (((data.get("patches") or {}).get("ingress") or {}).get("spec") or {}).get("rules")
        if isinstance(rules, list) and rules:
            return rules
    return None


def _region_text(i: int, n: int, project: str, rules_template: list[dict[str, Any]] | None) -> str:
    name = region_name(i, n)
    host = f"traderx.{name}.example.com"
    if rules_template:
        rules = [dict(rule, host=host) if "host" in rule else rule for rule in rules_template]
    else:
        rules = [{"host": host}]
    patch = dump_yaml({"ingress": {"spec": {"rules": rules}}})
    return (
        f"# Synthetic production region {i} of {n} (benchmarks/synth.py).\n"
        f"environment: prod\n"
        f"region: {name}\n"
        f"namespace: {project}-prod-{name}\n"
        f"labels:\n"
        f"  region: {name}\n"
        f"  market: {MARKETS[i % len(MARKETS)]}\n"
        f"target:\n"
        f"  context: prod-{name}\n"
        f"replicas:\n"
        f"  trade-service: {(i - 1) % 9 + 1}\n"
        f"env:\n"
        f"  trade-service:\n"
        f"    MARKET_REGION: {name.upper()}\n"
        f"patches:\n" + "".join(f"  {line}\n" for line in patch.splitlines())
    )


def write_config(n: int, out: Path, source: Path = PROJECT_ROOT) -> Path:
    """Write the config dir for N synthetic regions to OUT and return it.

    The shipped regions are not copied: the result has exactly N regions.
    """
    fresh_dir(out)
    shutil.copy2(source / "gitops.yaml", out / "gitops.yaml")
    shutil.copytree(source / "templates", out / "templates")
    shutil.copytree(source / "environments", out / "environments")
    project = (load_yaml(out / "gitops.yaml") or {}).get("project", "traderx")
    rules_template = _ingress_rules_template(source)
    regions = out / "regions"
    regions.mkdir()
    for i in range(1, n + 1):
        (regions / f"{region_name(i, n)}.yaml").write_text(
            _region_text(i, n, project, rules_template), encoding="utf-8"
        )
    return out


# --- (b) the kustomize tree -------------------------------------------------------------------


def _base_units(base_space: Path) -> dict[str, dict[str, Any]]:
    units = {}
    for path in sorted(base_space.glob("*.yaml")):
        obj = load_yaml(path)
        if not isinstance(obj, dict) or "kind" not in obj:
            raise SynthError(f"{path} is not one Kubernetes object")
        units[path.stem] = obj
    if not units:
        raise SynthError(f"no base manifests in {base_space}")
    return units


def _merged_overlay(env: dict[str, Any], region: dict[str, Any]) -> dict[str, Any]:
    """Environment overlay, then region overlay on top (as docs/configuration.md and gitops do)."""
    merged: dict[str, Any] = {}
    for key in ("replicas", "images"):
        merged[key] = {**(env.get(key) or {}), **(region.get(key) or {})}
    merged["env"] = {}
    merged["resources"] = {}
    for layer in (env, region):
        for unit, variables in (layer.get("env") or {}).items():
            merged["env"].setdefault(unit, {}).update(variables or {})
        for unit, spec in (layer.get("resources") or {}).items():
            merged["resources"][unit] = {**merged["resources"].get(unit, {}), **(spec or {})}
    # a unit's patch in the region file takes the place of the environment's
    merged["patches"] = {**(env.get("patches") or {}), **(region.get("patches") or {})}
    return merged


def _first_container(obj: dict[str, Any], unit: str, what: str) -> dict[str, Any]:
    try:
        container: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
        return container
    except (KeyError, IndexError, TypeError):
        raise SynthError(f"{what} names unit {unit!r}, which has no container") from None


def _target(obj: dict[str, Any]) -> dict[str, str]:
    return {"kind": obj["kind"], "name": obj["metadata"]["name"]}


def _json_patch(target: dict[str, str], ops: list[dict[str, Any]]) -> dict[str, Any]:
    return {"target": target, "patch": dump_yaml(ops)}


def _merge_ops(path: str, value: Any, have: list[Any]) -> list[dict[str, Any]]:
    """JSON patch ops that deep-merge VALUE at PATH into every target, given what each has there.

    Recurses while every target has a map at PATH, so keys the overlay does not name stay.
    """
    if isinstance(value, dict) and have and all(isinstance(h, dict) for h in have):
        return [op for key, v in value.items()
                for op in _merge_ops(f"{path}/{key}", v, [h.get(key) for h in have])]
    return [{"op": "add", "path": path, "value": value}]


def _with_tag(image: str, ref: str) -> str:
    """`:tag` on top of the base image keeps its repository (as gitops's `images`)."""
    if not ref.startswith(":"):
        return ref
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return repo + ref


def overlay_kustomization(
    base: dict[str, dict[str, Any]], env: dict[str, Any], region: dict[str, Any], space: str, env_name: str,
    region_label: str,
) -> dict[str, Any]:
    """The kustomization.yaml that makes the changes gitops's overlay makes to each base unit."""
    overlay = _merged_overlay(env, region)

    def unit_obj(unit: str, what: str) -> dict[str, Any]:
        if unit not in base:
            raise SynthError(f"{what} names unit {unit!r}, which is not in the base")
        return base[unit]

    k: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../../base"],
        # only the most specific file (the region's) names the namespace, as in gitops
        "namespace": region.get("namespace") or space,
        # labels (not commonLabels): metadata.labels only, like gitops; selectors stay as they are
        "labels": [{"pairs": {"environment": env_name, "region": region_label}}],
    }
    replicas = [
        {"name": unit_obj(u, "replicas")["metadata"]["name"], "count": int(c)}
        for u, c in overlay["replicas"].items()
    ]
    if replicas:
        k["replicas"] = replicas
    patches: list[dict[str, Any]] = []
    for unit, ref in overlay["images"].items():
        obj = unit_obj(unit, "images")
        image = _first_container(obj, unit, "images").get("image", "")
        patches.append(_json_patch(_target(obj), [
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": _with_tag(image, ref)}
        ]))
    # env: JSON patches rather than a strategic merge, because kustomize's strategic merge puts a
    # new variable first and gitops appends it; an existing variable is replaced where it is.
    for unit, variables in overlay["env"].items():
        obj = unit_obj(unit, "env")
        existing = [e.get("name") for e in (_first_container(obj, unit, "env").get("env") or [])]
        ops: list[dict[str, Any]] = []
        if not existing:
            ops.append({"op": "add", "path": "/spec/template/spec/containers/0/env", "value": []})
        for name, value in variables.items():
            item = {"name": name, "value": str(value)}
            if name in existing:
                ops.append({"op": "replace", "path": f"/spec/template/spec/containers/0/env/{existing.index(name)}",
                            "value": item})
            else:
                ops.append({"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": item})
                existing.append(name)
        patches.append(_json_patch(_target(obj), ops))
    # resources merge into what the container has, "*" (every Deployment) first, then per unit
    deployments = [o for o in base.values() if o.get("kind") == "Deployment"]
    for unit, resources in sorted(overlay["resources"].items(), key=lambda kv: kv[0] != "*"):
        objs = deployments if unit == "*" else [unit_obj(unit, "resources")]
        target = {"kind": "Deployment"} if unit == "*" else _target(objs[0])
        have = [_first_container(o, unit, "resources").get("resources") for o in objs]
        patches.append(_json_patch(target, _merge_ops("/spec/template/spec/containers/0/resources",
                                                      resources, have)))
    for unit, patch in overlay["patches"].items():
        obj = unit_obj(unit, "patches")
        body = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": {"name": obj["metadata"]["name"]}}
        for key, value in (patch or {}).items():
            if key == "metadata":
                body["metadata"] = {**value, "name": obj["metadata"]["name"]}
            else:
                body[key] = value
        patches.append({"target": _target(obj), "patch": dump_yaml(body)})
    if patches:
        k["patches"] = patches
    return k


def write_kustomize(config: Path, base_space: Path, out: Path) -> list[Path]:
    """Write out/base and out/overlays/<region>/ for every region of CONFIG; return the overlays."""
    base = _base_units(base_space)
    fresh_dir(out)
    (out / "base").mkdir()
    for unit in base:
        shutil.copy2(base_space / f"{unit}.yaml", out / "base" / f"{unit}.yaml")
    (out / "base" / "kustomization.yaml").write_text(dump_yaml({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"{unit}.yaml" for unit in base],
    }), encoding="utf-8")

    project = (load_yaml(config / "gitops.yaml") or {}).get("project", "traderx")
    overlays = []
    for path in sorted((config / "regions").glob("*.yaml")):
        region = load_yaml(path) or {}
        env_name = region.get("environment") or "prod"
        env_file = config / "environments" / f"{env_name}.yaml"
        env = (load_yaml(env_file) or {}) if env_file.exists() else {}
        label = region.get("region") or path.stem
        space = f"{project}-{env_name}-{label}"
        kustomization = overlay_kustomization(base, env, region, space, env_name, label)
        directory = out / "overlays" / path.stem
        directory.mkdir(parents=True)
        (directory / "kustomization.yaml").write_text(
            f"# {space}: what gitops's overlay ({env_file.name} + regions/{path.name}) does.\n"
            + dump_yaml(kustomization), encoding="utf-8")
        overlays.append(directory)
    return overlays


def render_base(config: Path, gitops: list[str], work: Path) -> Path:
    """Render the base space of CONFIG (without its regions) into a repo under WORK."""
    fresh_dir(work)
    cfg = work / "config"
    cfg.mkdir()
    shutil.copy2(config / "gitops.yaml", cfg / "gitops.yaml")
    shutil.copytree(config / "templates", cfg / "templates")
    shutil.copytree(config / "environments", cfg / "environments")
    repo = work / "repo"
    proc = subprocess.run([*gitops, "--config", str(cfg), "--repo", str(repo), "render"],
                          env=gitops_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SynthError(f"gitops render failed ({proc.returncode}): {proc.stderr.strip()}")
    project = (load_yaml(cfg / "gitops.yaml") or {}).get("project", "traderx")
    return repo / "spaces" / f"{project}-base"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("regions", type=int, help="number of synthetic production regions")
    parser.add_argument("out", type=Path, help="output dir: OUT/config and OUT/kustomize")
    parser.add_argument("--source", type=Path, default=PROJECT_ROOT,
                        help="config dir to take gitops.yaml, templates/, environments/ from")
    parser.add_argument("--base-space", type=Path,
                        help="rendered spaces/<project>-base to build kustomize/base from "
                             "(default: render one with gitops)")
    parser.add_argument("--no-kustomize", action="store_true", help="write only the config dir")
    parser.add_argument("--gitops", help="command to run gitops (default: `gitops`, else python -m generator.cli)")
    args = parser.parse_args(argv)
    if args.regions < 1:
        parser.error("regions must be at least 1")
    try:
        config = write_config(args.regions, args.out / "config", args.source)
        print(f"config dir: {config} ({args.regions} regions)")
        if not args.no_kustomize:
            base_space = args.base_space or render_base(
                config, gitops_argv(args.gitops), args.out / "base-render")
            overlays = write_kustomize(config, base_space, args.out / "kustomize")
            print(f"kustomize tree: {args.out / 'kustomize'} ({len(overlays)} overlays)")
    except (SynthError, OSError, yaml.YAMLError) as e:
        print(f"synth: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
