"""``python -m generator.cli``: the ``gitops`` command, for a checkout that is not installed."""

from generator.cli import entry

entry()
