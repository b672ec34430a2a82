"""The Falaj client: experiments, runs and reads over Falaj's MLflow-compatible API."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.parse
from array import array
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ._http import IDEMPOTENT, UNSENT, Transport
from ._wire import decode_run
from .deployments import Deployments
from .errors import FalajApiError
from .models import ModelRegistry
from .run import MLFLOW, Run

DEFAULT_URL = "http://127.0.0.1:7460"


def _login_file(env: Mapping[str, str]) -> Dict[str, Any]:
    """What ``falaj login`` saved (url and session token), if anything."""
    path = env.get("FALAJ_CONFIG")
    if not path:
        base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        path = os.path.join(base, "falaj", "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _key_values(d: Optional[Mapping[str, Any]]) -> List[Dict[str, str]]:
    return [{"key": k, "value": str(v)} for k, v in (d or {}).items()]


def _read_f64_page(res: Any) -> "tuple[array, Optional[str]]":
    """A page of the f64 history: steps, timestamps, values as little-endian float64 columns."""
    n = int(res.headers.get("X-Falaj-Points") or 0)
    raw = res.read()
    if len(raw) < 24 * n:
        raise ConnectionError(f"metric history cut short: {len(raw)} of {24 * n} bytes")
    cols = array("d")
    cols.frombytes(raw[: 24 * n])
    if sys.byteorder == "big":
        cols.byteswap()
    return cols, res.headers.get("X-Falaj-Next-Page-Token") or None


class Falaj(ModelRegistry):
    """A client of one Falaj server.

    ``url``, ``token`` and ``project`` default to FALAJ_URL, FALAJ_TOKEN and FALAJ_PROJECT
    (then the file ``falaj login`` wrote, then http://127.0.0.1:7460). A project API token
    works on its own project; a session token needs ``project`` (sent as X-Falaj-Project).

    Runs and experiments are here; the model registry (``register_model``,
    ``get_model_version``, ``evaluate_model``, ``request_promotion``, ``approve_promotion``,
    ``reject_promotion``, ``model_card``, ...) comes from ``falaj.models.ModelRegistry``;
    deployments are ``client.deployments`` (``falaj.deployments.Deployments``).
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        project: Optional[str] = None,
        *,
        flush_interval: float = 1.0,
        timeout: float = 60.0,
        retries: int = 3,
        env: Optional[Mapping[str, str]] = None,
    ) -> None:
        env = os.environ if env is None else env
        self._env = env
        explicit_url = url or env.get("FALAJ_URL")
        saved = {} if explicit_url else _login_file(env)
        self.url = (explicit_url or saved.get("url") or DEFAULT_URL).rstrip("/")
        token = token or env.get("FALAJ_TOKEN") or (None if explicit_url else saved.get("token"))
        self.project = project or env.get("FALAJ_PROJECT") or None
        self.flush_interval = flush_interval
        self._transport = Transport(self.url, token, self.project, timeout=timeout, retries=retries)
        self._project_name: Optional[str] = None
        self._project_lock = threading.Lock()
        # The project's deployments (create, canary, promote, rollback, predict): falaj.deployments.
        self.deployments = Deployments(self._transport, self.project_name)

    def __repr__(self) -> str:
        return f"<falaj.Falaj {self.url} project={self.project or '(token)'}>"

    # -- runs ---------------------------------------------------------------------------

    def start_run(
        self,
        experiment: Optional[str] = None,
        name: Optional[str] = None,
        tags: Optional[Mapping[str, Any]] = None,
        *,
        experiment_id: Optional[str] = None,
        parent_run_id: Optional[str] = None,
        run_id: Optional[str] = None,
    ) -> Run:
        """Starts a run in ``experiment`` (a name, created when missing; default ``Default``) or
        ``experiment_id``. Attaches instead to ``run_id``, default FALAJ_RUN_ID, so that a
        script Falaj started logs to its own run; never attaches when ``parent_run_id`` is given
        (a nested run, tagged ``mlflow.parentRunId``)."""
        attach_to = None if parent_run_id else (run_id or self._env.get("FALAJ_RUN_ID") or None)
        if attach_to:
            run = Run(self, self.get_run(attach_to)["info"], attached=True)
            if name:
                run.set_tag("mlflow.runName", name)
            if tags:
                run.set_tags(tags)
            return run
        exp_id = experiment_id or self.get_or_create_experiment(experiment or "Default")
        tag_list = _key_values(tags)
        if parent_run_id:
            tag_list.append({"key": "mlflow.parentRunId", "value": parent_run_id})
        body: Dict[str, Any] = {
            "experiment_id": str(exp_id),
            "start_time": int(time.time() * 1000),
            "tags": tag_list,
        }
        if name:
            body["run_name"] = name
        res = self._transport.request("POST", f"{MLFLOW}/runs/create", json_body=body, retry=UNSENT)
        return Run(self, res["run"]["info"], attached=False)

    def get_run(self, run_id: str) -> Dict[str, Any]:
        """The run as MLflow returns it (``info``, ``data.metrics/params/tags``), metric values as floats."""
        res = self._transport.request("GET", f"{MLFLOW}/runs/get", query={"run_id": run_id}, retry=IDEMPOTENT)
        return decode_run(res["run"])

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: Optional[str] = None,  # noqa: A002 - MLflow's name
        order_by: Optional[Sequence[str]] = None,
        max_results: Optional[int] = None,
        page_token: Optional[str] = None,
        run_view_type: Optional[str] = None,
    ) -> Dict[str, Any]:
        """One page: ``{"runs": [...], "next_page_token": str or None}``."""
        body: Dict[str, Any] = {"experiment_ids": [str(e) for e in experiment_ids]}
        if filter:
            body["filter"] = filter
        if order_by:
            body["order_by"] = list(order_by)
        if max_results is not None:
            body["max_results"] = max_results
        if page_token:
            body["page_token"] = page_token
        if run_view_type:
            body["run_view_type"] = run_view_type
        res = self._transport.request("POST", f"{MLFLOW}/runs/search", json_body=body, retry=IDEMPOTENT) or {}
        return {
            "runs": [decode_run(r) for r in res.get("runs") or []],
            "next_page_token": res.get("next_page_token") or None,
        }

    def metric_history(self, run_id: str, key: str, *, page_size: Optional[int] = None) -> List[Dict[str, Any]]:
        """Every point of one metric (``key, value, step, timestamp``), in step order.

        Read from Falaj's own history endpoint as packed float64 columns, pages of
        ``page_size`` points (default and most: 1,000,000): several times faster than MLflow's
        one-JSON-object-per-point ``metrics/get-history``."""
        path = (
            f"/api/v1/projects/{urllib.parse.quote(self.project_name(), safe='')}"
            f"/runs/{urllib.parse.quote(run_id, safe='')}/metric-history"
        )
        out: List[Dict[str, Any]] = []
        token: Optional[str] = None
        while True:
            cols, token = self._transport.request(
                "GET",
                path,
                query={"key": key, "format": "f64", "maxResults": page_size, "pageToken": token},
                retry=IDEMPOTENT,
                sink=_read_f64_page,
            )
            n = len(cols) // 3
            for i in range(n):
                # Steps and timestamps are whole numbers carried as float64 (exact to 2^53).
                out.append({"key": key, "value": cols[2 * n + i], "step": int(cols[i]), "timestamp": int(cols[n + i])})
            if not token:
                return out

    def list_artifacts(self, run_id: str, path: Optional[str] = None) -> List[Dict[str, Any]]:
        """MLflow's artifacts/list: ``[{path, is_dir, file_size}]``, following page tokens."""
        out: List[Dict[str, Any]] = []
        token: Optional[str] = None
        while True:
            res = self._transport.request(
                "GET",
                f"{MLFLOW}/artifacts/list",
                query={"run_id": run_id, "path": path or None, "page_token": token},
                retry=IDEMPOTENT,
            ) or {}
            out.extend(res.get("files") or [])
            token = res.get("next_page_token") or None
            if not token:
                return out

    # -- experiments --------------------------------------------------------------------

    def get_experiment(self, experiment_id: str) -> Dict[str, Any]:
        res = self._transport.request(
            "GET", f"{MLFLOW}/experiments/get", query={"experiment_id": experiment_id}, retry=IDEMPOTENT
        )
        return res["experiment"]

    def get_experiment_by_name(self, name: str) -> Dict[str, Any]:
        res = self._transport.request(
            "GET", f"{MLFLOW}/experiments/get-by-name", query={"experiment_name": name}, retry=IDEMPOTENT
        )
        return res["experiment"]

    def create_experiment(self, name: str, tags: Optional[Mapping[str, Any]] = None) -> str:
        res = self._transport.request(
            "POST", f"{MLFLOW}/experiments/create", json_body={"name": name, "tags": _key_values(tags)}, retry=UNSENT
        )
        return str(res["experiment_id"])

    def get_or_create_experiment(self, name: str) -> str:
        """The id of the experiment with this name, created if missing (safe against a concurrent creator)."""
        for attempt in range(2):
            try:
                return str(self.get_experiment_by_name(name)["experiment_id"])
            except FalajApiError as err:
                if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
            try:
                return self.create_experiment(name)
            except FalajApiError as err:
                if attempt > 0 or err.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
        raise AssertionError("unreachable")

    # -- projects -----------------------------------------------------------------------

    def project_name(self) -> str:
        """The project in use: the ``project`` option, else the one project an API token sees."""
        if self.project:
            return self.project
        with self._project_lock:
            if self._project_name is None:
                res = self._transport.request("GET", "/api/v1/projects", retry=IDEMPOTENT) or {}
                names = [p.get("name") for p in res.get("projects") or []]
                if len(names) != 1 or not names[0]:
                    raise FalajApiError(
                        0,
                        "INVALID_PARAMETER_VALUE",
                        f"cannot tell which project to use ({len(names)} visible): pass project= or set FALAJ_PROJECT",
                    )
                self._project_name = names[0]
            return self._project_name
