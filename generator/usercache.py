"""Where gitops keeps derived files for a user: ``$XDG_CACHE_HOME/gitops``, else
``~/.cache/gitops`` (parsed config files, compiled schemas, a config dir's repo).

Every file there is derived, never the truth: each is rebuilt when missing, stale or unreadable.
This module only says where; it reads and writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path


def user_cache(*parts: str) -> Path:
    """``<the user's cache dir>/gitops/<parts...>``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "gitops", *parts)
