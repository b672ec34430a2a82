"""Deployments: models served over KServe V2 and MLflow scoring, with canary, shadow,
promotion and rollback.

``client.deployments`` speaks Falaj's v1 API (``/api/v1/projects/<project>/deployments/...``);
``predict()`` calls a deployment's MLflow scoring endpoint
(``/serving/<project>/<name>/invocations``). Answers are the server's JSON as dicts (camelCase,
as the server writes them); errors raise ``FalajApiError`` with the server's stable code
(``FALAJ_DEPLOYMENT_INVALID``, ``FALAJ_FORBIDDEN``, ...).

A model is named ``"MODEL@VERSION"`` or ``"MODEL@ALIAS"`` (an alias is followed when it moves).
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ._http import IDEMPOTENT, NEVER
from .errors import FalajApiError

if TYPE_CHECKING:
    from ._http import Transport

_UNSET: Any = object()


def _q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def _bad(message: str) -> FalajApiError:
    return FalajApiError(0, "FALAJ_INVALID_ARGUMENT", message)


def _change(
    *,
    model: Optional[str] = None,
    canary: Any = _UNSET,
    percent: Optional[float] = None,
    shadow: Any = _UNSET,
    auto_rollback: Any = _UNSET,
    log: Optional[Mapping[str, Any]] = None,
    placement: Optional[str] = None,
) -> Dict[str, Any]:
    """The API's change body. ``canary``: "M@V" (with ``percent``), a dict {model, percent}, or
    None to remove it; ``shadow``: "M@V" or None; ``auto_rollback``: True (the defaults), a dict
    of thresholds (maxErrorRate, maxP99Ms, windowSeconds, minRequests) or None (off)."""
    body: Dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    if canary is not _UNSET:
        if canary is None:
            body["canary"] = None
        elif isinstance(canary, Mapping):
            body["canary"] = dict(canary)
        else:
            if percent is None:
                raise _bad("a canary needs percent= (the share of requests it answers)")
            body["canary"] = {"model": canary, "percent": percent}
    elif percent is not None:
        raise _bad("percent= goes with canary=")
    if shadow is not _UNSET:
        if shadow is None:
            body["shadow"] = None
        else:
            body["shadow"] = dict(shadow) if isinstance(shadow, Mapping) else {"model": shadow}
    if auto_rollback is not _UNSET:
        if auto_rollback is True:
            body["autoRollback"] = {}
        elif auto_rollback is None or auto_rollback is False:
            body["autoRollback"] = None
        else:
            body["autoRollback"] = dict(auto_rollback)
    if log is not None:
        body["log"] = dict(log)
    if placement is not None:
        body["placement"] = placement
    return body


def _name(name: Any) -> str:
    """A deployment name as given, or the error saying one is needed."""
    if not isinstance(name, str) or not name:
        raise _bad("a deployment name is needed")
    return name


class Deployments:
    """``client.deployments``: the deployments of the client's project."""

    def __init__(self, transport: "Transport", project_name: Callable[[], str]) -> None:
        self._transport = transport
        self._project_name = project_name

    def __repr__(self) -> str:
        return f"<falaj.Deployments {self._transport.url}>"

    def _list_url(self) -> str:
        return f"/api/v1/projects/{_q(self._project_name())}/deployments"

    def _url(self, name: str) -> str:
        return f"{self._list_url()}/{_q(_name(name))}"

    # -- the API ------------------------------------------------------------------------

    def create(
        self,
        name: str,
        model: str,
        *,
        description: Optional[str] = None,
        canary: Any = _UNSET,
        percent: Optional[float] = None,
        shadow: Any = _UNSET,
        auto_rollback: Any = _UNSET,
        log: Optional[Mapping[str, Any]] = None,
        placement: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Deploys ``model`` (``"MODEL@VERSION"`` or ``"MODEL@ALIAS"``); answers once the server
        tried to load it (``state`` ``ready``, or ``failed`` with ``stateReason``)."""
        body: Dict[str, Any] = {"name": _name(name)}
        body.update(
            _change(
                model=model,
                canary=canary,
                percent=percent,
                shadow=shadow,
                auto_rollback=auto_rollback,
                log=log,
                placement=placement,
            )
        )
        if description is not None:
            body["description"] = description
        return self._transport.request("POST", self._list_url(), retry=NEVER, json_body=body)

    def update(
        self,
        name: str,
        *,
        model: Optional[str] = None,
        canary: Any = _UNSET,
        percent: Optional[float] = None,
        shadow: Any = _UNSET,
        promote_canary: bool = False,
        auto_rollback: Any = _UNSET,
        log: Optional[Mapping[str, Any]] = None,
        placement: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Changes a deployment (a new revision): ``model=`` (blue/green), ``canary="M@V",
        percent=10`` or ``canary=None``, ``shadow="M@V"`` or ``shadow=None``,
        ``promote_canary=True``, ``auto_rollback=``, ``log=``, ``placement=``."""
        body = _change(
            model=model,
            canary=canary,
            percent=percent,
            shadow=shadow,
            auto_rollback=auto_rollback,
            log=log,
            placement=placement,
        )
        if promote_canary:
            body["promoteCanary"] = True
        if not body:
            raise _bad("nothing to change")
        return self._transport.request("PATCH", self._url(name), retry=NEVER, json_body=body)

    def list(self) -> List[Dict[str, Any]]:
        return (self._transport.request("GET", self._list_url(), retry=IDEMPOTENT) or {}).get("deployments") or []

    def get(self, name: str) -> Dict[str, Any]:
        return self._transport.request("GET", self._url(name), retry=IDEMPOTENT)

    def revisions(self, name: str) -> List[Dict[str, Any]]:
        """Every revision, newest first."""
        return (self._transport.request("GET", self._url(name) + "/revisions", retry=IDEMPOTENT) or {}).get(
            "revisions"
        ) or []

    def rollback(self, name: str, revision: Optional[int] = None) -> Dict[str, Any]:
        """Restores the previous revision (or ``revision``) as a new revision."""
        body = {} if revision is None else {"revision": revision}
        return self._transport.request("POST", self._url(name) + "/rollback", retry=NEVER, json_body=body)

    def delete(self, name: str) -> None:
        """Deletes the deployment: it stops serving."""
        self._transport.request("DELETE", self._url(name), retry=NEVER)

    def set_public(self, name: str, public: bool) -> Dict[str, Any]:
        """Callable without a token, or not (project admins)."""
        return self._transport.request(
            "PUT", self._url(name) + "/public", retry=NEVER, json_body={"public": bool(public)}
        )

    def labels(self, name: str, labels: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        """Ground truth for logged requests: ``[{"request_id": ..., "label": ..., "row": 0}]``."""
        return self._transport.request(
            "POST", self._url(name) + "/labels", retry=NEVER, json_body={"labels": [dict(x) for x in labels]}
        )

    def requests(
        self, name: str, *, limit: Optional[int] = None, start: Optional[int] = None, end: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        """The request log's newest rows (``start``/``end`` in epoch ms), with labels where they arrived."""
        res = self._transport.request(
            "GET",
            self._url(name) + "/requests",
            retry=IDEMPOTENT,
            query={"limit": limit, "from": start, "to": end},
        )
        return (res or {}).get("requests") or []

    # -- calling a deployment -----------------------------------------------------------

    def url(self, name: str) -> str:
        """The deployment's base URL (V2 under ``/v2``, MLflow scoring at ``/invocations``)."""
        return f"{self._transport.url}/serving/{_q(self._project_name())}/{_q(_name(name))}"

    def predict(
        self,
        name: str,
        data: Union[Mapping[str, Any], Any],
        *,
        request_id: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Scores rows through MLflow scoring (``/invocations``). ``data`` is a
        ``dataframe_split`` dict ``{"columns": [...], "data": [[...], ...]}`` (or a whole
        MLflow payload such as ``{"dataframe_records": [...]}``). Answers the server's JSON
        (``{"predictions": [...]}``) with ``request_id`` added: the X-Request-Id sent (default a
        new UUID), which the request log keeps and labels name."""
        if not isinstance(data, Mapping):
            raise _bad('predict() takes a dataframe_split dict: {"columns": [...], "data": [[...]]}')
        payload = dict(data) if any(k in data for k in _MLFLOW_KEYS) else {"dataframe_split": dict(data)}
        rid = request_id or str(uuid.uuid4())
        path = self.url(name)[len(self._transport.url) :] + "/invocations"
        raw = json.dumps(payload, allow_nan=False).encode("utf-8")
        res = self._transport.request(
            "POST",
            path,
            retry=NEVER,
            body=lambda: (raw, {"Content-Type": "application/json", "X-Request-Id": rid}),
        )
        out = dict(res) if isinstance(res, Mapping) else {"predictions": res}
        out["request_id"] = rid
        return out


_MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
