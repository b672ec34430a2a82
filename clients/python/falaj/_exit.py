"""Settles live runs at interpreter exit: buffered data is sent, runs this process created are
ended (FAILED when an uncaught exception ended the program)."""

from __future__ import annotations

import atexit
import sys
import threading
from typing import Any, Set

_runs: Set[Any] = set()
_lock = threading.Lock()
_installed = False
_failed = False


def _excepthook(exc_type, exc, tb) -> None:
    global _failed
    _failed = True
    _previous_hook(exc_type, exc, tb)


_previous_hook = sys.excepthook


def _at_exit() -> None:
    with _lock:
        runs = list(_runs)
        _runs.clear()
    for run in runs:
        try:
            run._settle_at_exit(_failed)
        except Exception as err:  # noqa: BLE001 - nothing left to raise to
            sys.stderr.write(f"falaj: could not flush run {run.id} at exit: {err}\n")


def register(run: Any) -> None:
    global _installed, _previous_hook
    with _lock:
        _runs.add(run)
        if not _installed:
            _installed = True
            atexit.register(_at_exit)
            # Chained, not replaced: only notes that the program died of an exception.
            _previous_hook = sys.excepthook
            sys.excepthook = _excepthook


def unregister(run: Any) -> None:
    with _lock:
        _runs.discard(run)
