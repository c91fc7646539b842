"""A forked copy's result comes back whole through a file of the pool's own, which is gone when
the pool is; what a copy raises is raised where its result is asked for."""

from __future__ import annotations

import os
import tempfile

import pytest

from generator.operations import forked


def _big(size: int) -> dict[str, str]:
    return {f"spaces/r{n:04d}/unit.yaml": f"kind: ConfigMap\nn: {n}\n" * 40 for n in range(size)}


def _fails(what: str) -> None:
    raise ValueError(what)


def _returns_dir() -> list[str]:
    return sorted(n for n in os.listdir(tempfile.gettempdir()) if n.startswith("gitops-forked-"))


def test_a_copys_result_comes_back_whole_through_a_file_that_is_then_gone() -> None:
    before = _returns_dir()
    with forked.pool(1) as pool:
        returned = pool.submit(_big, 5000)  # ~5 MB pickled, as a part of a 1000-region render
        made = [name for name in _returns_dir() if name not in before]
        assert len(made) == 1  # the pool's own directory
        assert returned.result() == _big(5000)
        assert pool.submit(os.getpid).result() != os.getpid()  # it ran in a copy
        assert os.listdir(os.path.join(tempfile.gettempdir(), made[0])) == []  # read, then removed
    assert _returns_dir() == before


def test_what_a_copy_raises_is_raised_by_result_and_unread_results_are_removed() -> None:
    before = _returns_dir()
    with forked.pool(1) as pool:
        pool.submit(_big, 10)  # never read
        failing = pool.submit(_fails, "no such space")
        with pytest.raises(ValueError, match="no such space"):
            failing.result()
    assert _returns_dir() == before
