"""What a training script that Falaj starts as a job needs: its hyperparameters, metrics, and
checkpoints kept as run artifacts so that a retried or preempted attempt resumes.

A job's process gets FALAJ_URL, FALAJ_TOKEN, FALAJ_PROJECT, FALAJ_RUN_ID (the job's tracking
run, the same for every attempt), FALAJ_JOB_ID and FALAJ_ATTEMPT (1, then 2, ... when the job is
retried or requeued after a preemption). The module-level functions (``falaj.params()``,
``falaj.log_metric()``, ``falaj.save_checkpoint()``, ...) use one ``JobContext`` built from
that environment; without FALAJ_RUN_ID they still work locally: params come from ``--params`` or
FALAJ_PARAMS, metrics are dropped (with one warning), checkpoints stay on local disk.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import pickle
import re
import shutil
import sys
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ._http import IDEMPOTENT
from .errors import FalajApiError
from .run import Run, run_artifact_prefix

log = logging.getLogger("falaj")

CHECKPOINT_DIR = "checkpoints"  # the run artifact folder checkpoints go to
TAG_PREFIX = "falaj.checkpoint."  # + name: the latest checkpoint of that name, as JSON
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}
_MISSING = object()


# -- params -------------------------------------------------------------------------------


class Params(dict):
    """A job's hyperparameters. Values read from the run are strings (tracking stores params as
    text), those from ``--params``/FALAJ_PARAMS keep their JSON types: the typed getters accept
    both, so a script reads the same values on every attempt whichever source gave them."""

    def _raw(self, key: str, default: Any) -> Any:
        if key in self:
            return self[key]
        if default is _MISSING:
            raise KeyError(f"param '{key}' is not set (and no default was given)")
        return default

    def _bad(self, key: str, value: Any, what: str) -> ValueError:
        return ValueError(f"param '{key}' = {value!r} is not {what}")

    def get_str(self, key: str, default: Any = _MISSING) -> str:
        v = self._raw(key, default)
        if isinstance(v, str) or v is None:
            return v  # type: ignore[return-value]
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v) if isinstance(v, (list, dict)) else str(v)

    def get_int(self, key: str, default: Any = _MISSING) -> int:
        v = self._raw(key, default)
        if isinstance(v, bool):
            raise self._bad(key, v, "an integer")
        if isinstance(v, int) or v is None:
            return v  # type: ignore[return-value]
        if isinstance(v, float):
            if v.is_integer():
                return int(v)
            raise self._bad(key, v, "an integer")
        try:
            return int(str(v).strip())
        except ValueError:
            # "1e3" or "10.0" as text: accept when it is a whole number.
            try:
                f = float(str(v))
            except ValueError:
                raise self._bad(key, v, "an integer") from None
            if f.is_integer():
                return int(f)
            raise self._bad(key, v, "an integer") from None

    def get_float(self, key: str, default: Any = _MISSING) -> float:
        v = self._raw(key, default)
        if isinstance(v, bool):
            raise self._bad(key, v, "a number")
        if v is None:
            return v  # type: ignore[return-value]
        try:
            return float(v if isinstance(v, (int, float)) else str(v).strip())
        except ValueError:
            raise self._bad(key, v, "a number") from None

    def get_bool(self, key: str, default: Any = _MISSING) -> bool:
        v = self._raw(key, default)
        if isinstance(v, bool) or v is None:
            return v  # type: ignore[return-value]
        if isinstance(v, (int, float)) and v in (0, 1):
            return bool(v)
        s = str(v).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise self._bad(key, v, "a boolean (true/false, 1/0, yes/no)")

    def get_json(self, key: str, default: Any = _MISSING) -> Any:
        """A list or object: given as JSON, or as the JSON text a run stores for it."""
        v = self._raw(key, default)
        if not isinstance(v, str):
            return v
        try:
            return json.loads(v)
        except ValueError:
            raise self._bad(key, v, "JSON") from None


def _params_from_argv(argv: Sequence[str]) -> Optional[Dict[str, Any]]:
    """``--params '{"lr": 0.1}'``, ``--params=...`` or ``--params @file.json``; the last one wins."""
    text: Optional[str] = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--params":
            if i + 1 >= len(argv):
                raise ValueError("--params needs a JSON object (or @file.json)")
            text = argv[i + 1]
            i += 2
            continue
        if a.startswith("--params="):
            text = a[len("--params=") :]
        i += 1
    return None if text is None else _parse_params(text, "--params")


def _parse_params(text: str, source: str) -> Dict[str, Any]:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as f:
            text = f.read()
    try:
        value = json.loads(text)
    except ValueError as err:
        raise ValueError(f"{source} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{source} must be a JSON object of params")
    return value


def _as_param_value(v: Any) -> Any:
    # Tracking params are scalars: lists and objects are stored as their JSON text.
    if v is None or isinstance(v, (list, dict, tuple)):
        return json.dumps(v)
    return v


# -- checkpoints --------------------------------------------------------------------------


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _same_digest(a: Optional[str], b: Optional[str]) -> bool:
    if not a or not b:
        return False
    strip = lambda d: d.split(":", 1)[1] if ":" in d else d  # noqa: E731 - "sha256:<hex>" or "<hex>"
    return strip(a).lower() == strip(b).lower()


def _write_json_atomic(path: str, value: Any) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _env_int(env: Mapping[str, str], key: str, default: int) -> int:
    try:
        return int(env.get(key) or default)
    except ValueError:
        return default


class JobContext:
    """One attempt of a job, as its script sees it.

    ``client`` defaults to ``Falaj(env=env)`` and ``run_id`` to FALAJ_RUN_ID; with no run id
    nothing is sent anywhere. Checkpoints are written to ``checkpoint_dir`` (default
    FALAJ_CHECKPOINT_DIR, else ``./checkpoints``), in a sub-folder per run (``local`` with no
    run), before they are uploaded.
    """

    def __init__(
        self,
        client: Any = None,
        run_id: Optional[str] = None,
        *,
        env: Optional[Mapping[str, str]] = None,
        checkpoint_dir: Optional[str] = None,
    ) -> None:
        self._env = os.environ if env is None else env
        self.run_id: Optional[str] = run_id or self._env.get("FALAJ_RUN_ID") or None
        self._client = client
        self._run: Optional[Run] = None
        self._lock = threading.RLock()
        self._warned_no_run = False
        base = checkpoint_dir or self._env.get("FALAJ_CHECKPOINT_DIR") or CHECKPOINT_DIR
        self.checkpoint_dir = os.path.abspath(os.path.join(base, self.run_id or "local"))

    # -- identity -------------------------------------------------------------------------

    def attempt(self) -> int:
        """FALAJ_ATTEMPT: 1 for a job's first attempt, then 2, 3, ... (1 when not set)."""
        return max(1, _env_int(self._env, "FALAJ_ATTEMPT", 1))

    def is_resumed(self) -> bool:
        """True when this process is not the first try of its job: a later Falaj attempt
        (retry, or requeued after preemption) or a torchrun restart of its workers."""
        return self.attempt() > 1 or _env_int(self._env, "TORCHELASTIC_RESTART_COUNT", 0) > 0

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from .client import Falaj

                self._client = Falaj(env=self._env)
            return self._client

    def run(self) -> Optional[Run]:
        """The job's run (attached: this process never ends it), or None without a run id."""
        if not self.run_id:
            return None
        with self._lock:
            if self._run is None:
                self._run = self.client().start_run(run_id=self.run_id)
            return self._run

    # -- params ---------------------------------------------------------------------------

    def params(self, argv: Optional[Sequence[str]] = None, *, log: bool = True) -> Params:
        """The job's hyperparameters: FALAJ_PARAMS (a JSON object), overridden by ``--params``
        in ``argv`` (default ``sys.argv[1:]``), overridden by the params the run already has
        (what an earlier attempt, or the submitter, logged: the run is the record, so every
        attempt trains with the same values). With ``log``, params the run lacks are logged."""
        out = Params()
        text = self._env.get("FALAJ_PARAMS")
        if text:
            out.update(_parse_params(text, "FALAJ_PARAMS"))
        cli = _params_from_argv(list(sys.argv[1:] if argv is None else argv))
        if cli:
            out.update(cli)
        run = self.run()
        if run is not None:
            stored = {p["key"]: p["value"] for p in self.client().get_run(run.id)["data"].get("params") or []}
            missing = {k: _as_param_value(v) for k, v in out.items() if k not in stored}
            out.update(stored)
            if log and missing:
                run.log_params(missing)
                run.flush()
        return out

    # -- metrics --------------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int = 0, timestamp: Optional[int] = None) -> None:
        run = self._run_or_warn()
        if run is not None:
            run.log_metric(key, value, step=step, timestamp=timestamp)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, timestamp: Optional[int] = None) -> None:
        run = self._run_or_warn()
        if run is not None:
            run.log_metrics(metrics, step=step, timestamp=timestamp)

    def flush(self) -> None:
        if self._run is not None:
            self._run.flush()

    def _run_or_warn(self) -> Optional[Run]:
        run = self.run()
        if run is None and not self._warned_no_run:
            self._warned_no_run = True
            log.warning("falaj: FALAJ_RUN_ID is not set: metrics are not sent anywhere")
        return run

    # -- checkpoints ----------------------------------------------------------------------

    def save_checkpoint(
        self, obj_or_path: Any, step: int, name: str = "checkpoint", *, keep: Optional[int] = None
    ) -> Dict[str, Any]:
        """Keeps a checkpoint for ``step`` and makes it the latest of ``name``.

        ``obj_or_path``: a file path (the file is copied), ``bytes``, or an object (saved with
        ``torch.save`` when the script has imported torch, else pickled). The file goes to the
        local checkpoint folder, then, with a run, is uploaded (streamed) to the run's artifacts
        as ``checkpoints/<name>-<step>.<ext>``; only after the upload is the run's tag
        ``falaj.checkpoint.<name>`` moved to it, so a kill mid-upload leaves the previous
        checkpoint as the latest. With ``keep``, the new checkpoint and the ``keep - 1`` others of
        ``name`` with the highest steps are kept (in the run and locally), the rest deleted; deleting
        from the run needs the maintainer role (with less, a warning, and they stay). Returns the
        index entry (step, file, digest, size, ...)."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"checkpoint name {name!r} must be letters, digits, '_', '.', '-' (≤ 100)")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError("checkpoint step must be a non-negative integer")
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
            raise ValueError("keep must be a positive integer (or None to keep every checkpoint)")
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        is_path = isinstance(obj_or_path, (str, os.PathLike))
        if is_path:
            src = os.fspath(obj_or_path)
            if not os.path.isfile(src):
                raise FileNotFoundError(f"checkpoint file {src} does not exist")
            ext = os.path.splitext(src)[1] or ".bin"
        else:
            ext = ".bin" if isinstance(obj_or_path, (bytes, bytearray)) else (".pt" if "torch" in sys.modules else ".pkl")
        file_name = f"{name}-{step:09d}{ext}"
        local = os.path.join(self.checkpoint_dir, file_name)
        # Written beside, then renamed: a crash never leaves a half file under the final name.
        tmp = f"{local}.{os.getpid()}.part"
        try:
            if is_path:
                shutil.copyfile(src, tmp)
            elif isinstance(obj_or_path, (bytes, bytearray)):
                with open(tmp, "wb") as f:
                    f.write(obj_or_path)
            elif "torch" in sys.modules:
                sys.modules["torch"].save(obj_or_path, tmp)
            else:
                with open(tmp, "wb") as f:
                    pickle.dump(obj_or_path, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, local)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        entry: Dict[str, Any] = {
            "name": name,
            "step": step,
            "file": file_name,
            "digest": _sha256(local),
            "size": os.path.getsize(local),
            "attempt": self.attempt(),
            "time": int(time.time() * 1000),
        }
        run = self.run()
        if run is not None:
            up = run.log_artifact(local, CHECKPOINT_DIR)
            entry["artifact"] = f"{CHECKPOINT_DIR}/{file_name}"
            entry["digest"] = up.get("digest") or entry["digest"]
            run.set_tag(TAG_PREFIX + name, json.dumps(entry, separators=(",", ":")))
            run.flush()  # the pointer is on the server before this returns
        _write_json_atomic(os.path.join(self.checkpoint_dir, f"{name}.json"), entry)
        if keep is not None:
            self._prune(name, keep, file_name)
        return entry

    def _prune(self, name: str, keep: int, current: str) -> None:
        # Only after the pointer moved: what is deleted is never the latest checkpoint, even
        # when it has a lower step than older ones (a job that started over).
        pattern = re.compile(re.escape(name) + r"-(\d{9,})(\.[^/]*)?$")
        local = [(int(m.group(1)), f) for f in os.listdir(self.checkpoint_dir) for m in [pattern.match(f)] if m]
        for _, f in sorted((c for c in local if c[1] != current), reverse=True)[keep - 1 :]:
            os.unlink(os.path.join(self.checkpoint_dir, f))
        run = self.run()
        if run is None:
            return
        client = self.client()
        others = [c for c in self.list_checkpoints(name) if os.path.basename(c["path"]) != current]
        for c in sorted(others, key=lambda c: c["step"], reverse=True)[keep - 1 :]:
            target = run_artifact_prefix(run.id) + f"{CHECKPOINT_DIR}/{os.path.basename(c['path'])}"
            url = "/api/v1/projects/{}/artifacts/files/{}".format(
                urllib.parse.quote(client.project_name(), safe=""),
                "/".join(urllib.parse.quote(seg, safe="") for seg in target.split("/")),
            )
            try:
                client._transport.request("DELETE", url, retry=IDEMPOTENT)
            except FalajApiError as err:
                if err.status == 404:  # gone already (a retried delete): fine
                    continue
                # Deleting artifacts needs the maintainer role, which a job's token may lack;
                # a checkpoint that was saved must not fail the training over this.
                log.warning("falaj: old checkpoints of '%s' are kept: %s", name, err)
                return

    def latest_checkpoint(self, name: str = "checkpoint") -> Optional[Dict[str, Any]]:
        """The index entry of the latest checkpoint of ``name`` (the run's tag with a run, the
        local index without), or None when there is none."""
        run = self.run()
        if run is not None:
            tags = {t["key"]: t["value"] for t in self.client().get_run(run.id)["data"].get("tags") or []}
            raw = tags.get(TAG_PREFIX + name)
            if not raw:
                return None
            try:
                entry = json.loads(raw)
            except ValueError:
                raise FalajApiError(0, "INVALID_STATE", f"run tag {TAG_PREFIX + name} is not JSON: {raw[:80]}") from None
            return entry if isinstance(entry, dict) and entry.get("artifact") else None
        try:
            with open(os.path.join(self.checkpoint_dir, f"{name}.json"), encoding="utf-8") as f:
                entry = json.load(f)
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and entry.get("file") else None

    def load_checkpoint(self, name: str = "checkpoint") -> Optional[str]:
        """The local path of the latest checkpoint of ``name``, downloaded from the run when it
        is not already here (checked by SHA-256), or None when the run has none yet: a script
        calls this at start and resumes from what it gets."""
        entry = self.latest_checkpoint(name)
        if entry is None:
            return None
        local = os.path.join(self.checkpoint_dir, os.path.basename(str(entry["file"])))
        if self.run() is None:
            return local if os.path.isfile(local) else None
        if os.path.isfile(local) and _same_digest(_sha256(local), entry.get("digest")):
            return local
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        self._download(run_artifact_prefix(self.run_id or "") + str(entry["artifact"]), local, entry.get("digest"))
        return local

    def _download(self, project_path: str, dest: str, digest: Optional[str]) -> None:
        client = self.client()
        url = "/api/v1/projects/{}/artifacts/files/{}".format(
            urllib.parse.quote(client.project_name(), safe=""),
            "/".join(urllib.parse.quote(seg, safe="") for seg in project_path.split("/")),
        )
        # A part file of this process's own (ranks of one node may download at once), renamed
        # into place only when complete and matching its digest.
        tmp = f"{dest}.{os.getpid()}.{threading.get_ident()}.part"

        def sink(res: Any) -> str:
            h = hashlib.sha256()
            got = 0
            try:
                with open(tmp, "wb") as f:  # "wb": a retry starts the file afresh
                    for block in iter(lambda: res.read(1 << 20), b""):
                        f.write(block)
                        h.update(block)
                        got += len(block)
            except http.client.HTTPException as err:
                raise ConnectionError(f"download cut short: {err!r}") from None
            expected = res.headers.get("Content-Length")
            if expected is not None and int(expected) != got:
                # The server cuts the body short when it finds damage past the first chunk.
                raise ConnectionError(f"download cut short: {got} of {expected} bytes")
            return h.hexdigest()

        try:
            got = client._transport.request("GET", url, retry=IDEMPOTENT, sink=sink, timeout=None)
            if digest and not _same_digest(got, digest):
                raise FalajApiError(0, "FALAJ_ARTIFACT_INTEGRITY", f"{project_path}: digest {got} is not {digest}")
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def list_checkpoints(self, name: str = "checkpoint") -> List[Dict[str, Any]]:
        """The run's checkpoints of ``name`` (``path``, ``step``, ``file_size``), oldest step first."""
        run = self.run()
        if run is None:
            return []
        pattern = re.compile(re.escape(name) + r"-(\d{9,})(\.[^/]*)?$")
        out = []
        for f in run.list_artifacts(CHECKPOINT_DIR):
            m = pattern.match(os.path.basename(f["path"]))
            if m and not f.get("is_dir"):
                out.append({"path": f["path"], "step": int(m.group(1)), "file_size": f.get("file_size")})
        return sorted(out, key=lambda c: c["step"])


# -- the process's own context ------------------------------------------------------------

_default: Optional[JobContext] = None
_default_lock = threading.Lock()


def context() -> JobContext:
    """The JobContext of this process, built from its environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = JobContext()
        return _default


def params(argv: Optional[Sequence[str]] = None, *, log: bool = True) -> Params:
    return context().params(argv, log=log)


def log_metric(key: str, value: float, step: int = 0, timestamp: Optional[int] = None) -> None:
    context().log_metric(key, value, step=step, timestamp=timestamp)


def log_metrics(metrics: Mapping[str, float], step: int = 0, timestamp: Optional[int] = None) -> None:
    context().log_metrics(metrics, step=step, timestamp=timestamp)


def save_checkpoint(obj_or_path: Any, step: int, name: str = "checkpoint", *, keep: Optional[int] = None) -> Dict[str, Any]:
    return context().save_checkpoint(obj_or_path, step, name, keep=keep)


def load_checkpoint(name: str = "checkpoint") -> Optional[str]:
    return context().load_checkpoint(name)


def attempt() -> int:
    return context().attempt()


def is_resumed() -> bool:
    return context().is_resumed()


def current_run() -> Optional[Run]:
    return context().run()


params.__doc__ = JobContext.params.__doc__
log_metric.__doc__ = "A metric point on the job's run (dropped, with one warning, without FALAJ_RUN_ID)."
log_metrics.__doc__ = log_metric.__doc__
save_checkpoint.__doc__ = JobContext.save_checkpoint.__doc__
load_checkpoint.__doc__ = JobContext.load_checkpoint.__doc__
attempt.__doc__ = JobContext.attempt.__doc__
is_resumed.__doc__ = JobContext.is_resumed.__doc__
current_run.__doc__ = JobContext.run.__doc__
