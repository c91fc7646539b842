"""Templates + values -> base units (pure).

Renders each unit's Jinja2 template in a sandbox with StrictUndefined and computes the unit's
labels. Template sources come in as strings (the caller reads the files): this module does no
I/O, no YAML parsing, and knows nothing of git, spaces or overlays.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from generator.errors import TemplateError

if TYPE_CHECKING:
    from jinja2 import BytecodeCache
    from jinja2.sandbox import SandboxedEnvironment

# The label keys a unit takes from its service (docs/configuration.md).
SERVICE_LABELS = ("service", "layer", "tech", "order", "port", "critical")


def unit_template(unit: str) -> str:
    """The template file (relative to templates/) that renders ``unit``."""
    return f"units/{unit}.yaml.j2"


def make_environment(sources: Mapping[str, str], root: str = "templates",
                     bytecode_cache: BytecodeCache | None = None) -> SandboxedEnvironment:
    """A sandboxed, StrictUndefined Jinja2 environment over in-memory template sources.

    ``sources`` maps template names relative to templates/ (``units/x.yaml.j2``,
    ``_macros.j2``) to their text; ``root`` prefixes file names in error messages.
    ``bytecode_cache`` (the caller's: see render_cache) keeps templates compiled.
    """
    import jinja2  # imported when templates must render: a no-op render does not
    from jinja2.sandbox import SandboxedEnvironment

    def load(name: str) -> tuple[str, str, Any]:
        if name not in sources:
            raise jinja2.TemplateNotFound(name)
        return sources[name], f"{root}/{name}", lambda: True

    return SandboxedEnvironment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=bytecode_cache,
    )


def _template_line(tb: TracebackType | None, root: str) -> tuple[str, int] | None:
    """The innermost template frame of a traceback: (file, line) as Jinja2 rewrites them."""
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root + "/"):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def render_unit(env: SandboxedEnvironment, unit: str, context: Mapping[str, Any],
                root: str = "templates") -> str:
    """Render one unit's template to text; any template failure is a TemplateError with file:line."""
    import jinja2

    name = unit_template(unit)
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as e:
        where = f"{root}/{e.name or name}:{e.lineno}"
        raise TemplateError(f"{where}: template syntax error: {e.message}",
                            "fix the Jinja2 syntax at that line") from e
    except jinja2.TemplateNotFound as e:
        raise TemplateError(f"unit {unit!r}: template {root}/{e.name} not found",
                            f"create {root}/{e.name} or remove the unit from templates/values.yaml") from e
    except jinja2.UndefinedError as e:
        located = _template_line(sys.exc_info()[2], root)
        where = f"{located[0]}:{located[1]}" if located else f"{root}/{name}"
        raise TemplateError(f"{where}: {e.message}",
                            "define it in templates/values.yaml or fix the name in the template") from e
    except jinja2.TemplateError as e:  # security errors of the sandbox, filters misused, ...
        located = _template_line(sys.exc_info()[2], root)
        where = f"{located[0]}:{located[1]}" if located else f"{root}/{name}"
        raise TemplateError(f"{where}: {e}", "fix the template at that line") from e
    except Exception as e:  # an error raised by an expression in the template (e.g. 1/0)
        located = _template_line(sys.exc_info()[2], root)
        where = f"{located[0]}:{located[1]}" if located else f"{root}/{name}"
        raise TemplateError(f"{where}: {type(e).__name__}: {e}", "fix the template at that line") from e


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unit_context(values: Mapping[str, Any], unit: str) -> dict[str, Any]:
    """The names a unit template sees (docs/configuration.md)."""
    services = values.get("services") or {}
    spec = (values.get("units") or {}).get(unit) or {}
    context: dict[str, Any] = {
        "values": values,
        "unit": unit,
        "services": services,
        "namespace": values.get("namespace"),
        "imageTag": values.get("imageTag"),
    }
    service = spec.get("service")
    if service is not None:
        context["svc"] = {**(services.get(service) or {}), "name": service}
    return context


def unit_labels(values: Mapping[str, Any], unit: str, environment: str | None) -> dict[str, str]:
    """A unit's labels: its own, then its service's label keys, then the space's environment."""
    spec = (values.get("units") or {}).get(unit) or {}
    labels: dict[str, str] = {}
    service = spec.get("service")
    if service is not None:
        labels["service"] = str(service)
        attrs = (values.get("services") or {}).get(service) or {}
        for key in SERVICE_LABELS[1:]:
            if attrs.get(key) is not None:
                labels[key] = _label(attrs[key])
    labels.update({str(k): _label(v) for k, v in (spec.get("labels") or {}).items()})
    if environment is not None:
        labels["environment"] = environment
    return dict(sorted(labels.items()))


def render_base(sources: Mapping[str, str], values: Mapping[str, Any],
                root: str = "templates", bytecode_cache: BytecodeCache | None = None) -> dict[str, str]:
    """Render every unit listed in ``values['units']``: unit name -> manifest text."""
    env = make_environment(sources, root, bytecode_cache)
    units = values.get("units") or {}
    return {unit: render_unit(env, unit, unit_context(values, unit), root) for unit in units}
