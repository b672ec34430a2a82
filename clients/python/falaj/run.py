"""A run being logged to."""

from __future__ import annotations

import numbers
import os
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

from . import _exit
from ._buffer import LogBuffer
from ._http import IDEMPOTENT, UNSENT
from ._wire import encode_metric_value
from .errors import FalajApiError

if TYPE_CHECKING:
    from .client import Falaj

MLFLOW = "/api/2.0/mlflow"
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000

Value = Union[str, int, float, bool]


def run_artifact_prefix(run_id: str) -> str:
    """The project artifact path that holds a run's artifacts (the run's MLflow artifact root)."""
    return f"runs/{run_id}/artifacts/"


def _invalid(message: str) -> FalajApiError:
    return FalajApiError(0, "INVALID_PARAMETER_VALUE", message)


def _check_key(kind: str, key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise _invalid(f"{kind} key must be a non-empty string")
    if len(key) > MAX_KEY:
        raise _invalid(f"{kind} key '{key[:40]}...' is longer than {MAX_KEY}")
    return key


def _check_value(kind: str, key: str, value: Any, limit: int) -> str:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        raise _invalid(f"{kind} '{key}' must be a string, number or boolean")
    s = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if len(s) > limit:
        raise _invalid(f"{kind} '{key}' value is longer than {limit}")
    return s


def _now_ms() -> int:
    return int(time.time() * 1000)


class Run:
    """Params, metrics and tags are buffered and sent in log-batch requests by a background
    thread (when a batch fills, and every ``flush_interval`` seconds); ``flush()`` sends the
    rest and raises the first error the server gave since the last flush; ``end()`` flushes and
    closes the run. At interpreter exit, buffered data is sent and a run this process created is
    ended (FAILED after an uncaught exception, else FINISHED); an attached run (FALAJ_RUN_ID) is
    flushed but left for its launcher to end. ``os._exit()`` and a kill skip that.

    As a context manager, the run ends FINISHED, or FAILED when the block raises.
    """

    def __init__(self, client: "Falaj", info: Dict[str, Any], attached: bool) -> None:
        self._client = client
        self.info = info
        self.id: str = info["run_id"]
        self.experiment_id: str = str(info.get("experiment_id"))
        self.attached = attached
        self._params: Dict[str, str] = {}
        self._params_lock = threading.Lock()
        self._ended = False
        self._buffer = LogBuffer(self._send_batch, client.flush_interval)
        _exit.register(self)

    def __repr__(self) -> str:
        return f"<falaj.Run {self.id} experiment={self.experiment_id}>"

    @property
    def ended(self) -> bool:
        return self._ended

    def _open(self) -> None:
        if self._ended:
            raise FalajApiError(0, "BAD_REQUEST", f"run {self.id} has ended in this client")

    # -- logging ------------------------------------------------------------------------

    def log_param(self, key: str, value: Value) -> None:
        """A param. Params never change once logged: a different value for a key this client
        already logged raises at once (rather than failing a whole batch on the server)."""
        self._open()
        _check_key("param", key)
        v = _check_value("param", key, value, MAX_PARAM_VALUE)
        with self._params_lock:
            had = self._params.get(key)
            if had is not None:
                if had != v:
                    raise _invalid(f"param '{key}' was already logged with value '{had}'; params cannot change")
                return
            self._params[key] = v
        self._buffer.add_param({"key": key, "value": v})

    def log_params(self, params: Mapping[str, Value]) -> None:
        for k, v in params.items():
            self.log_param(k, v)

    def log_metric(self, key: str, value: float, step: int = 0, timestamp: Optional[int] = None) -> None:
        """A metric point; NaN and +-Infinity are kept. ``timestamp`` in ms, default now."""
        self._open()
        _check_key("metric", key)
        try:
            encoded = encode_metric_value(value)
        except TypeError as err:
            raise _invalid(f"metric '{key}': {err}") from None
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            raise _invalid(f"metric '{key}' step must be an integer")
        step = int(step)
        ts = _now_ms() if timestamp is None else int(timestamp)
        self._buffer.add_metric({"key": key, "value": encoded, "timestamp": ts, "step": step})

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, timestamp: Optional[int] = None) -> None:
        ts = _now_ms() if timestamp is None else timestamp
        for k, v in metrics.items():
            self.log_metric(k, v, step=step, timestamp=ts)

    def set_tag(self, key: str, value: Value) -> None:
        self._open()
        _check_key("tag", key)
        self._buffer.add_tag({"key": key, "value": _check_value("tag", key, value, MAX_TAG_VALUE)})

    def set_tags(self, tags: Mapping[str, Value]) -> None:
        for k, v in tags.items():
            self.set_tag(k, v)

    def flush(self) -> None:
        """Sends everything buffered; raises the first server error since the last flush."""
        self._buffer.flush()

    def pending(self) -> bool:
        return self._buffer.size() > 0

    def end(self, status: str = "FINISHED") -> None:
        """Flushes, then closes the run (runs/update with status and end_time). The run is
        closed even when the flush failed; that error is raised afterwards."""
        if self._ended:
            return
        flush_error: Optional[BaseException] = None
        try:
            self._buffer.flush()
        except Exception as err:  # noqa: BLE001 - raised after the run is closed
            flush_error = err
        self._ended = True
        self._buffer.close()
        _exit.unregister(self)
        res = self._client._transport.request(
            "POST",
            f"{MLFLOW}/runs/update",
            json_body={"run_id": self.id, "run_uuid": self.id, "status": status, "end_time": _now_ms()},
            retry=IDEMPOTENT,
        )
        if isinstance(res, dict) and isinstance(res.get("run_info"), dict):
            self.info = res["run_info"]
        if flush_error is not None:
            raise flush_error

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.end("FINISHED")
        else:
            try:
                self.end("KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED")
            except Exception:  # noqa: BLE001 - the block's own exception matters more
                pass

    # -- artifacts ----------------------------------------------------------------------

    def log_artifact(self, local_path: str, artifact_path: Optional[str] = None) -> Dict[str, Any]:
        """Uploads a file, streamed, to ``<artifact_path>/<file name>`` under the run's artifacts
        (as MLflow's log_artifact: ``artifact_path`` names a directory). Returns the server's
        ``{path, digest, size}``; the project path is ``runs/<run_id>/artifacts/...``."""
        name = os.path.basename(local_path)
        rel = f"{artifact_path.strip('/')}/{name}" if artifact_path and artifact_path.strip("/") else name
        return self._upload(local_path, rel)

    def log_artifacts(self, local_dir: str, artifact_path: Optional[str] = None) -> List[Dict[str, Any]]:
        """Uploads every file under a directory, keeping its layout, under ``artifact_path``."""
        base = artifact_path.strip("/") if artifact_path else ""
        out = []
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            rel_root = os.path.relpath(root, local_dir).replace(os.sep, "/")
            for f in sorted(files):
                parts = [p for p in (base, "" if rel_root == "." else rel_root, f) if p]
                out.append(self._upload(os.path.join(root, f), "/".join(parts)))
        return out

    def list_artifacts(self, path: Optional[str] = None) -> List[Dict[str, Any]]:
        return self._client.list_artifacts(self.id, path)

    def _upload(self, local_path: str, rel: str) -> Dict[str, Any]:
        size = os.path.getsize(local_path)  # a missing file fails here, not mid-request
        project = self._client.project_name()
        target = run_artifact_prefix(self.id) + rel
        url = "/api/v1/projects/{}/artifacts/files/{}".format(
            urllib.parse.quote(project, safe=""),
            "/".join(urllib.parse.quote(seg, safe="") for seg in target.split("/")),
        )

        # A PUT replaces what the path held, so sending it again is harmless: the file is
        # reopened for each attempt. http.client reads it in blocks: nothing is held whole.
        def body():
            return open(local_path, "rb"), {
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
            }

        return self._client._transport.request("PUT", url, body=body, retry=IDEMPOTENT, timeout=None)

    # -- internals ----------------------------------------------------------------------

    def _send_batch(self, metrics: List[dict], params: List[dict], tags: List[dict]) -> None:
        self._client._transport.request(
            "POST",
            f"{MLFLOW}/runs/log-batch",
            json_body={"run_id": self.id, "metrics": metrics, "params": params, "tags": tags},
            # Metrics sent twice would be stored twice: such a batch is retried only when it
            # certainly never reached the server. Params and tags alone are idempotent.
            retry=UNSENT if metrics else IDEMPOTENT,
        )

    def _settle_at_exit(self, failed: bool) -> None:
        if self._ended:
            return
        if self.attached:
            self._buffer.flush()
            self._buffer.close()
        else:
            self.end("FAILED" if failed else "FINISHED")
