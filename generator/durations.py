"""Lengths of time as people write them: ``10s``, ``2m``, ``1.5h``, ``3d``, ``2 hours``. (pure)

Used by ``--since`` (an age: ``2 hours ago``) and ``worker --interval``; ``kubectl_duration``
checks what kubectl takes as ``--timeout``. Knows nothing else.
"""

from __future__ import annotations

import re

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
          "hour": 3600, "d": 86400, "day": 86400, "w": 604800, "week": 604800}
# Patterns as text, compiled (and cached by ``re``) when first used: every command imports this
# module for its option checks, few check a duration.
_DURATION = r"^(\d+(?:\.\d+)?)\s*([a-z]*?)s?(\s+ago)?$"


def seconds(text: str, ago: bool = False) -> float | None:
    """The seconds ``text`` says, or None when it is not a duration; a bare number is seconds.
    With ``ago``, a trailing ``ago`` is allowed (``2 hours ago``).

    >>> seconds("10s"), seconds("2m"), seconds("1.5h"), seconds("3 days"), seconds("45")
    (10.0, 120.0, 5400.0, 259200.0, 45.0)
    >>> seconds("2 hours ago", ago=True), seconds("2 hours ago"), seconds("soon")
    (7200.0, None, None)
    """
    found = re.match(_DURATION, text.strip().lower())
    if not found or (found.group(3) and not ago):
        return None
    unit = found.group(2) or "s"
    if unit not in _UNITS:
        return None
    return float(found.group(1)) * _UNITS[unit]


# What kubectl's --timeout takes: a Go duration (time.ParseDuration).
_GO_DURATION = r"[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)"


def kubectl_duration(text: str) -> bool:
    """Whether kubectl takes ``text`` as a duration (Go's syntax).

    >>> [kubectl_duration(t) for t in ("60s", "1h30m", "500ms", "0", "1.5h")]
    [True, True, True, True, True]
    >>> [kubectl_duration(t) for t in ("60", "5x", "2 hours", "", "s")]
    [False, False, False, False, False]
    """
    return re.fullmatch(_GO_DURATION, text) is not None
