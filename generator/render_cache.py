"""What a render derives from the config alone, kept between commands in the user cache dir:
Jinja2's compiled templates (``bytecode_cache``) and the base's units as ruamel's round trip
writes them (``Normalized``).

A render that makes the base does both before anything else can start, on one core: TraderX's
22 templates take 0.17 s to compile (0.01 s from the cache) and 0.3 s to normalize. Both are
pure functions of what they are keyed by: a template's name, file and source (Jinja2 keeps the
source's sha1 and compiles a changed one again), a unit's text; and the versions of gitops,
Jinja2 or ruamel, and Python.

Never the truth: an entry that is missing, damaged or cannot be written is derived again,
never an error. This module reads and writes that cache dir alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
from pathlib import Path

import jinja2

from generator import __version__
from generator.usercache import user_cache

_PYTHON = f"py{sys.version_info[0]}.{sys.version_info[1]}"


class _Compiled(jinja2.FileSystemBytecodeCache):
    """``FileSystemBytecodeCache`` whose failures are misses."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()  # damaged: compiled again (and written over)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass  # no cache dir: compiled again next time


def bytecode_cache() -> jinja2.BytecodeCache:
    """Compiled templates for this version of gitops, Jinja2 and Python (the code depends on
    all three, and on the environment templates.make_environment makes)."""
    return _Compiled(str(user_cache("templates", f"{__version__}-jinja{jinja2.__version__}-{_PYTHON}")))


class Normalized:
    """``yamlio.normalize`` of unit texts, one file per text (named by the text's sha1; the
    file holds the result after its own sha1, which a read checks)."""

    def __init__(self) -> None:
        self.dir = user_cache("normalized", _ruamel_version())

    def _file(self, text: str) -> Path:
        return self.dir / hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - a cache key

    def get(self, text: str) -> str | None:
        """The text normalized, if kept and whole."""
        try:
            digest, _, normal = self._file(text).read_bytes().partition(b"\n")
        except OSError:
            return None
        if hashlib.sha1(normal).hexdigest().encode() != digest:  # noqa: S324
            return None
        try:
            return normal.decode()
        except UnicodeDecodeError:
            return None

    def put(self, text: str, normal: str) -> None:
        data = normal.encode()
        try:
            self.dir.mkdir(parents=True, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha1(data).hexdigest().encode() + b"\n" + data)  # noqa: S324
            os.replace(tmp, self._file(text))
        except OSError:
            pass  # no cache dir: normalized again next time


def _ruamel_version() -> str:
    """gitops's, ruamel's (its installed file, found without importing it) and Python's."""
    spec = importlib.util.find_spec("ruamel.yaml")
    origin = spec.origin if spec and spec.origin else ""
    try:
        stat = os.stat(origin)
        installed = f"{origin}|{stat.st_size}|{stat.st_mtime_ns}"
    except OSError:
        installed = origin
    return f"{__version__}-{_PYTHON}-{hashlib.sha1(installed.encode()).hexdigest()[:16]}"  # noqa: S324
