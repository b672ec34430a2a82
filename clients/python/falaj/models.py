"""The model registry and its staging step: register versions, aliases, evaluation with
fairness, gates, four-eyes promotion and model cards.

Falaj's v1 API (``/api/v1/projects/<project>/models/...`` and ``/model-promotions/...``);
the ``Falaj`` client inherits these methods. Answers are the server's JSON as dicts
(snake_case on the registry's routes, camelCase on the staging step's, as the server writes
them); errors raise ``FalajApiError`` with the server's stable code (``FALAJ_MODEL_NOT_FOUND``,
``FALAJ_ALIAS_PROTECTED``, ``FALAJ_SELF_APPROVAL``, ``FALAJ_GATES_FAILED``, ...).

A version is named ``"NAME@N"``, ``"NAME@ALIAS"``, ``"NAME@latest"``, ``"models:/NAME/N"``,
``"models:/NAME@ALIAS"``, ``"models:/NAME/STAGE"``, or by a version dict as these methods
return (``{"name": ..., "version": N, ...}``).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections import abc
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._http import IDEMPOTENT, NEVER
from .errors import FalajApiError

if TYPE_CHECKING:
    from ._http import Transport

VersionRef = Union[str, Mapping[str, Any]]

_NUMBER = re.compile(r"^[1-9]\d{0,14}$")
_MODELS_URI = re.compile(r"^models:/*([^/@]+)/(\d+)/*$")


def _q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def _bad(message: str) -> FalajApiError:
    return FalajApiError(0, "FALAJ_INVALID_ARGUMENT", message)


def _numbered(ref: str) -> Optional[Tuple[str, int]]:
    """``NAME@N`` or ``models:/NAME/N`` read here; aliases, latest and stages are the server's to resolve."""
    if ref.startswith("models:"):
        m = _MODELS_URI.match(ref)
        return (m.group(1), int(m.group(2))) if m and _NUMBER.match(m.group(2)) else None
    at = ref.rfind("@")
    if at <= 0:
        return None
    name, tail = ref[:at], ref[at + 1 :]
    return (name, int(tail)) if _NUMBER.match(tail) and "/" not in name else None


def _read_text(res: Any) -> str:
    return res.read().decode("utf-8")


class ModelRegistry:
    """The registry methods of ``Falaj`` (a mixin: it uses the client's transport and project)."""

    _transport: "Transport"

    def project_name(self) -> str:  # pragma: no cover - the client's
        raise NotImplementedError

    # -- URLs ---------------------------------------------------------------------------

    def _project_url(self) -> str:
        return f"/api/v1/projects/{_q(self.project_name())}"

    def _model_url(self, name: str) -> str:
        if not isinstance(name, str) or not name:
            raise _bad("a model name is needed")
        return f"{self._project_url()}/models/{_q(name)}"

    def _locate(self, ref: VersionRef) -> Tuple[str, int]:
        if isinstance(ref, abc.Mapping):
            name, version = ref.get("name"), ref.get("version")
            if not isinstance(name, str) or not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise _bad(f"not a model version: {ref!r}")
            return name, version
        if not isinstance(ref, str) or not ref:
            raise _bad("a model version is needed (NAME@N or NAME@ALIAS)")
        direct = _numbered(ref)
        if direct:
            return direct
        v = self.get_model_version(ref)
        return v["name"], int(v["version"])

    def _version_url(self, ref: VersionRef) -> str:
        name, version = self._locate(ref)
        return f"{self._model_url(name)}/versions/{version}"

    def _call(self, method: str, path: str, body: Any = None, *, retry: str = NEVER, **kw: Any) -> Any:
        return self._transport.request(method, path, json_body=body, retry=retry, **kw)

    # -- registry -----------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        run_id: Optional[str] = None,
        path: Optional[str] = None,
        *,
        onnx: Optional[Union[bytes, bytearray, memoryview]] = None,
        onnx_file: Optional[str] = None,
        description: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, Any]:
        """Registers the next version of ``name`` (the model is created if missing) from a run's
        model folder (``run_id``, ``path`` default ``"model"``; lineage run → version is
        recorded), or from an ONNX graph (``onnx`` bytes or ``onnx_file`` path), whose inputs
        and outputs become its signature. Returns the version (with ``created_model``).
        A file that is not ONNX raises ``FALAJ_ONNX_INVALID`` and stores nothing."""
        given = [x is not None for x in (run_id, onnx, onnx_file)]
        if sum(given) != 1:
            raise _bad("give exactly one of run_id, onnx and onnx_file")
        url = f"{self._model_url(name)}/versions"
        if run_id is not None:
            body: Dict[str, Any] = {"run_id": run_id}
            if path is not None:
                body["path"] = path
            if description is not None:
                body["description"] = description
            if tags:
                body["tags"] = {str(k): str(v) for k, v in tags.items()}
            return self._call("POST", url, body)
        if onnx_file is not None:
            with open(onnx_file, "rb") as f:
                data = f.read()
            file_name: Optional[str] = os.path.basename(onnx_file)
        else:
            data = bytes(onnx)  # type: ignore[arg-type]
            file_name = None

        def upload():
            return data, {"Content-Type": "application/octet-stream"}

        return self._transport.request(
            "POST",
            url,
            query={"description": description, "fileName": file_name},
            body=upload,
            retry=NEVER,
            timeout=None,
        )

    def list_models(self) -> List[Dict[str, Any]]:
        """The project's models, with their aliases and latest version."""
        return (self._call("GET", f"{self._project_url()}/models", retry=IDEMPOTENT) or {}).get("models") or []

    def get_model(self, name: str) -> Dict[str, Any]:
        """A model with all its versions (newest first), tags, aliases (alias → version) and protected aliases."""
        return self._call("GET", self._model_url(name), retry=IDEMPOTENT)

    def get_model_version(self, ref: str) -> Dict[str, Any]:
        """The version ``ref`` names (``"fraud@production"``, ``"fraud@3"``, ``"models:/fraud/latest"``...),
        resolved by the server, so an alias is read as it is now."""
        if not isinstance(ref, str) or not ref:
            raise _bad("a model version is needed (NAME@N or NAME@ALIAS)")
        res = self._call("GET", f"{self._project_url()}/models/resolve", retry=IDEMPOTENT, query={"uri": ref})
        return res["version"]

    def set_model_alias(self, name: str, alias: str, version: int) -> Dict[str, Any]:
        """Points an alias at a version: ``{name, alias, version, previous}``. A protected alias
        (``production``) raises ``FALAJ_ALIAS_PROTECTED``: use ``request_promotion``."""
        return self._call(
            "PUT", f"{self._model_url(name)}/aliases/{_q(alias)}", {"version": int(version)}, retry=IDEMPOTENT
        )

    def delete_model_alias(self, name: str, alias: str) -> Dict[str, Any]:
        """Removes an alias (``FALAJ_ALIAS_NOT_FOUND`` when unset; a protected one only by a project admin)."""
        return self._call("DELETE", f"{self._model_url(name)}/aliases/{_q(alias)}")

    # -- evaluation ---------------------------------------------------------------------

    def evaluate_model(
        self,
        ref: VersionRef,
        dataset: Optional[str] = None,
        *,
        file: Optional[str] = None,
        target: Optional[str] = None,
        sensitive: Optional[Sequence[str]] = None,
        slices: Optional[Sequence[str]] = None,
        positive_class: Optional[str] = None,
        threshold: Optional[float] = None,
        min_group_size: Optional[int] = None,
        features: Optional[Sequence[str]] = None,
        task: Optional[str] = None,
        classes: Optional[Sequence[str]] = None,
    ) -> Dict[str, Any]:
        """Evaluates the version in the server on a dataset version (``dataset="holdout@3"``) or
        a CSV/Parquet file of the project's artifacts (``file``): every trainer metric, the
        metrics per value of each ``slices`` column, and fairness per ``sensitive`` column
        (binary models). The evaluation is stored on the version; the gates read it. Data
        lacking a column raises ``FALAJ_EVALUATION_DATA_MISMATCH`` and stores nothing."""
        if (dataset is None) == (file is None):
            raise _bad("give exactly one of dataset (NAME@N) and file (an artifact path)")
        body: Dict[str, Any] = {}
        for key, value in (
            ("dataset", dataset),
            ("file", file),
            ("target", target),
            ("positiveClass", positive_class),
            ("threshold", threshold),
            ("minGroupSize", min_group_size),
            ("task", task),
        ):
            if value is not None:
                body[key] = value
        for key, values in (("sensitive", sensitive), ("slices", slices), ("features", features), ("classes", classes)):
            if values is not None:
                if isinstance(values, str):
                    raise _bad(f"{key} is a list of column names, not a string")
                body[key] = list(values)
        # The evaluation runs within the request: no timeout.
        return self._call("POST", f"{self._version_url(ref)}/evaluations", body, timeout=None)

    def evaluate_model_cv(self, ref: VersionRef) -> Dict[str, Any]:
        """Attaches the trainer's own cross-validation (or hold-out) as an evaluation of kind ``cv``, once."""
        return self._call("POST", f"{self._version_url(ref)}/evaluations/cv", {}, retry=IDEMPOTENT)

    def model_evaluations(self, ref: VersionRef) -> List[Dict[str, Any]]:
        """The version's evaluations, newest first."""
        res = self._call("GET", f"{self._version_url(ref)}/evaluations", retry=IDEMPOTENT) or {}
        return res.get("evaluations") or []

    # -- gates --------------------------------------------------------------------------

    def set_gate_policy(self, name: str, policy: Union[str, Mapping[str, Any]]) -> Dict[str, Any]:
        """Sets the model's gate policy (YAML or JSON text, or a dict): a new revision. Maintainers."""
        body = {"policy": policy if isinstance(policy, str) else dict(policy)}
        return self._call("PUT", f"{self._model_url(name)}/gates/policy", body)

    def run_gates(self, ref: VersionRef, alias: Optional[str] = None) -> Dict[str, Any]:
        """Runs the model's gates on the version: ``{id, passed, checks: [...]}``."""
        return self._call("POST", f"{self._version_url(ref)}/gates/runs", {"alias": alias} if alias else {})

    # -- promotion (four eyes) ----------------------------------------------------------

    def request_promotion(
        self, ref: VersionRef, alias: str = "production", note: Optional[str] = None
    ) -> Dict[str, Any]:
        """Asks that a protected alias point at the version: ``{request, gates}``. The gates run
        now (and again at approval); the request is ``pending`` even when they fail."""
        body: Dict[str, Any] = {"alias": alias}
        if note is not None:
            body["note"] = note
        return self._call("POST", f"{self._version_url(ref)}/promotions", body)

    def get_promotion(self, request_id: str) -> Dict[str, Any]:
        """One promotion request."""
        return self._call("GET", f"{self._project_url()}/model-promotions/{_q(request_id)}", retry=IDEMPOTENT)

    def list_promotions(
        self, model: Optional[str] = None, state: Optional[str] = None, limit: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        """Promotion requests of the project (or of one model), newest first; ``state``:
        pending, approved, rejected or cancelled."""
        url = f"{self._model_url(model)}/promotions" if model else f"{self._project_url()}/model-promotions"
        res = self._call("GET", url, retry=IDEMPOTENT, query={"state": state, "limit": limit}) or {}
        return res.get("requests") or []

    def approve_promotion(self, request_id: str, override_reason: Optional[str] = None) -> Dict[str, Any]:
        """Approves a request: ``{request, gates}``, the alias moved. A maintainer who is not the
        requester (``FALAJ_SELF_APPROVAL``); the gates run again and must pass
        (``FALAJ_GATES_FAILED``) unless a project admin gives ``override_reason``."""
        body = {"overrideReason": override_reason} if override_reason is not None else {}
        return self._call("POST", f"{self._project_url()}/model-promotions/{_q(request_id)}/approve", body)

    def reject_promotion(self, request_id: str, reason: str) -> Dict[str, Any]:
        """Rejects a pending request with a reason (maintainers): the request."""
        return self._call(
            "POST", f"{self._project_url()}/model-promotions/{_q(request_id)}/reject", {"reason": reason}
        )

    def cancel_promotion(self, request_id: str) -> Dict[str, Any]:
        """Withdraws a pending request (its requester, or a maintainer): the request."""
        return self._call("POST", f"{self._project_url()}/model-promotions/{_q(request_id)}/cancel", {})

    # -- model card ---------------------------------------------------------------------

    def model_card(self, ref: VersionRef, format: str = "json") -> Union[Dict[str, Any], str]:  # noqa: A002
        """The version's model card: a dict (``format="json"``) or Markdown text (``"md"``)."""
        if format not in ("json", "md"):
            raise _bad(f"card format must be 'json' or 'md', not {format!r}")
        url = f"{self._version_url(ref)}/card"
        if format == "md":
            return self._transport.request("GET", url, query={"format": "md"}, retry=IDEMPOTENT, sink=_read_text)
        return self._call("GET", url, retry=IDEMPOTENT, query={"format": "json"})

    def set_model_card_text(
        self, ref: VersionRef, intended_use: Optional[str] = None, limitations: Optional[str] = None
    ) -> Dict[str, Any]:
        """Sets the card's hand-written parts (``""`` clears one, ``None`` keeps it)."""
        body: Dict[str, Any] = {}
        if intended_use is not None:
            body["intendedUse"] = intended_use
        if limitations is not None:
            body["limitations"] = limitations
        return self._call("PUT", f"{self._version_url(ref)}/card", body, retry=IDEMPOTENT)


__all__ = ["ModelRegistry", "VersionRef"]
