"""Every expected failure of gitops, as one exception hierarchy.

Each error carries a one-line ``message`` (what went wrong) and a ``hint`` (what to do next).
Nothing here prints or exits: ``generator.cli.app`` alone turns these into output and exit codes.
"""

from __future__ import annotations


class GitopsError(Exception):
    """The root of every expected failure: a message and a hint for the next step."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(GitopsError):
    """The config dir (gitops.yaml, values, overlays) is missing, malformed or inconsistent."""


class TemplateError(GitopsError):
    """A unit template failed to render (syntax error, undefined variable, not one object)."""


class YamlError(GitopsError):
    """A file is not valid YAML, or not the shape it must have."""


class SchemaError(GitopsError):
    """A rendered manifest is not valid Kubernetes."""


class NotFoundError(GitopsError):
    """A space, unit, revision or file that was named does not exist."""


class InvalidNameError(GitopsError):
    """A space or unit name that cannot be a file name in the manifests repo."""


class RepoError(GitopsError):
    """The manifests repo cannot be read or written (not a repo, dirty paths, git failed)."""


class LockedError(RepoError):
    """Another gitops command holds the manifests repo's lock."""


class StaleError(GitopsError):
    """`render --check`: the manifests repo does not match what would be rendered."""


LISTED = 12  # names an error lists in full; past that, the closest few and how many there are


def known(names: list[str], asked: str, none: str = "(none)") -> str:
    """The names an error offers for one that was not found: all of a few; of many (a fleet
    of 1000 spaces), those closest to ``asked`` and the count, so the error stays one line.

    >>> known(["a-eu", "a-us"], "a-uk")
    'a-eu, a-us'
    >>> known([f"prod-r{i:04}" for i in range(1, 1001)], "prod-r0999x")
    'prod-r0999, prod-r0998, prod-r0997 (1000 in all)'
    """
    if len(names) <= LISTED:
        return ", ".join(names) or none
    import difflib  # (an error's import: not loaded by a command that finds what it asked for)

    closest = difflib.get_close_matches(asked, names, n=3, cutoff=0.5) or names[:3]
    return f"{', '.join(closest)} ({len(names)} in all)"
