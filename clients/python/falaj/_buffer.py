"""What a run has logged but not yet sent, cut into log-batch requests within MLflow's limits."""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, Optional

log = logging.getLogger("falaj")

# MLflow's runs/log-batch limits; the server refuses a batch past any of them.
MAX_METRICS = 1000
MAX_PARAMS = 100
MAX_TAGS = 100
MAX_ENTITIES = 1000
# MLflow's limit is 1 MB of body; this leaves room for the envelope and escaping.
MAX_BYTES = 900_000


def _size(item: Dict[str, Any]) -> int:
    value = item.get("value")
    return 64 + len(item["key"]) * 3 + (len(value) * 3 if isinstance(value, str) else 24)


class LogBuffer:
    """Buffers metrics, params and tags; a daemon thread sends them every ``interval`` seconds
    and as soon as a kind fills a batch; ``flush()`` sends the rest from the caller's thread.
    Batches go one at a time, in logging order per kind. A batch the server refuses is not sent
    again (log-batch is all or nothing, and it would be refused again); its error is kept for
    the next ``flush()`` to raise.
    """

    def __init__(
        self,
        send: Callable[[List[dict], List[dict], List[dict]], None],
        interval: float,
    ) -> None:
        self._send = send
        self._interval = interval
        self._metrics: List[dict] = []
        self._params: List[dict] = []
        self._tags: List[dict] = []
        self._lock = threading.Lock()  # guards the lists
        self._send_lock = threading.Lock()  # one batch on the wire at a time
        self._wake = threading.Condition(self._lock)
        self._errors: List[BaseException] = []
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def size(self) -> int:
        with self._lock:
            return len(self._metrics) + len(self._params) + len(self._tags)

    def _add(self, target: List[dict], item: dict, limit: int) -> None:
        with self._lock:
            target.append(item)
            full = len(target) >= limit
            if self._thread is None and not self._closed and self._interval > 0:
                self._thread = threading.Thread(target=self._loop, name="falaj-log-flush", daemon=True)
                self._thread.start()
            if full:
                self._wake.notify()

    def add_metric(self, m: dict) -> None:
        self._add(self._metrics, m, MAX_METRICS)

    def add_param(self, p: dict) -> None:
        self._add(self._params, p, MAX_PARAMS)

    def add_tag(self, t: dict) -> None:
        self._add(self._tags, t, MAX_TAGS)

    def flush(self) -> None:
        """Sends everything buffered; raises the first error since the last flush."""
        self._drain()
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Stops the thread; what is buffered stays until flush()."""
        with self._lock:
            self._closed = True
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._full() and not self._closed:
                    self._wake.wait(self._interval)
                if self._closed:
                    return
            self._drain()

    def _full(self) -> bool:
        return (
            len(self._metrics) >= MAX_METRICS or len(self._params) >= MAX_PARAMS or len(self._tags) >= MAX_TAGS
        )

    def _drain(self) -> None:
        with self._send_lock:
            while True:
                with self._lock:
                    batch = self._take()
                if batch is None:
                    return
                try:
                    self._send(*batch)
                except Exception as err:  # noqa: BLE001 - kept for flush() to raise
                    log.warning("falaj: logging to the server failed: %s", err)
                    with self._lock:
                        self._errors.append(err)

    def _take(self):
        """The next batch: params, then tags, then metrics, within every limit; None when empty."""
        if not (self._metrics or self._params or self._tags):
            return None
        state = {"bytes": 0, "n": 0}

        def cut(items: List[dict], limit: int) -> List[dict]:
            k = 0
            while k < len(items) and k < limit:
                s = _size(items[k])
                if state["n"] > 0 and (state["bytes"] + s > MAX_BYTES or state["n"] >= MAX_ENTITIES):
                    break
                state["bytes"] += s
                state["n"] += 1
                k += 1
            taken = items[:k]
            del items[:k]
            return taken

        params = cut(self._params, MAX_PARAMS)
        tags = cut(self._tags, MAX_TAGS)
        metrics = cut(self._metrics, MAX_METRICS)
        return metrics, params, tags
