"""Where the config dir is, which manifests repo it names, and reading its files as YAML.

What every command needs of the config dir before anything else (``--config``, or the nearest
gitops.yaml up, and its ``repo:``), kept cheap: it loads no YAML parser while gitops.yaml is
unchanged (``default_repo``). It reads files of the config dir and its one cache file, nothing
else; what the files say is config.py's.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from generator import __version__
from generator.errors import ConfigError
from generator.usercache import user_cache

CONFIG_FILE = "gitops.yaml"


def find_config(explicit: str | None) -> Path:
    """The config dir: ``--config``/GITOPS_CONFIG, else the nearest dir up with gitops.yaml."""
    chosen = explicit or os.environ.get("GITOPS_CONFIG")
    if chosen:
        path = Path(chosen).expanduser().absolute()
        if not (path / CONFIG_FILE).is_file():
            raise ConfigError(f"no {CONFIG_FILE} in {path}",
                              "pass --config with the directory that holds gitops.yaml")
        return path
    here = Path.cwd()
    for directory in (here, *here.parents):
        if (directory / CONFIG_FILE).is_file():
            return directory
    raise ConfigError(f"no {CONFIG_FILE} in {here} or any parent directory",
                      "run gitops from a config dir, or pass --config DIR (or set GITOPS_CONFIG)")


def default_repo(root: Path) -> Path:
    """The manifests repo gitops.yaml names (``repo:``, relative to the config dir).

    Every command run from a config dir without --repo asks this first, and parsing YAML costs
    it ~30 ms of start-up (the parser's import). The answer is kept in the user cache dir
    (``repos.json``: gitops.yaml's path -> its size, times and inode, and ``repo:``) and used
    while the file's stat is the same; a file changed within two seconds of being read is read
    again next time, as git treats a racy index entry."""
    path = root / CONFIG_FILE
    try:
        st = path.stat()
        seen: list[int] | None = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        settled = max(st.st_mtime_ns, st.st_ctime_ns) + _RACY_NS < time.time_ns()
    except OSError:
        seen, settled = None, False  # (reading it says what is wrong)
    known = _RepoCache.read()
    entry = known.get(str(path))
    if seen is not None and isinstance(entry, list) and len(entry) == 5 and entry[:4] == seen \
            and isinstance(entry[4], str):
        named = entry[4]
    else:
        named = str(read_yaml(path, root).get("repo") or "manifests")
        if seen is not None and settled:
            _RepoCache.write(known, str(path), [*seen, named])
    repo = Path(named)
    return repo if repo.is_absolute() else root / repo


_RACY_NS = 2_000_000_000  # a file changed this recently may change again within its times' grain
_REPOS_KEPT = 256  # config dirs whose repo is kept


class _RepoCache:
    """``repos.json`` in the user cache dir (see ``default_repo``); unreadable is empty."""

    @staticmethod
    def _path() -> Path:
        return user_cache("config", f"repos-{__version__}.json")

    @classmethod
    def read(cls) -> dict[str, Any]:
        try:
            known = json.loads(cls._path().read_bytes())
        except (OSError, ValueError):
            return {}
        return known if isinstance(known, dict) else {}

    @classmethod
    def write(cls, known: dict[str, Any], key: str, entry: list[Any]) -> None:
        """``known`` with ``key`` set to ``entry``, the newest last: the oldest beyond
        ``_REPOS_KEPT`` config dirs are dropped (a test suite's temporary ones too)."""
        kept = [(k, v) for k, v in known.items() if k != key][-(_REPOS_KEPT - 1):]
        known = {**dict(kept), key: entry}
        path = cls._path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known))
            os.replace(tmp, path)
        except OSError:
            pass  # no cache dir: parse again next time


def read_bytes(path: Path, rel: str) -> bytes:
    """A config file's bytes; an unreadable one is a ConfigError naming it (``rel``)."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {rel}: {e.strerror}", "check the file exists and is readable") from e


def parse(raw: bytes, rel: str) -> dict[str, Any]:
    """A config file's bytes as a mapping; ``rel`` names it in errors."""
    from generator import yamlio  # (a YAML parser costs a command's start ~30 ms: only to parse)

    try:
        text = raw.decode()
    except UnicodeDecodeError as e:
        raise ConfigError(f"{rel}: not UTF-8 text", "save the file as UTF-8") from e
    return yamlio.load_mapping(text, rel)


def read_yaml(path: Path, root: Path) -> dict[str, Any]:
    """A config file (under ``root``) parsed as a mapping."""
    rel = str(path.relative_to(root))
    return parse(read_bytes(path, rel), rel)
