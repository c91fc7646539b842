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
