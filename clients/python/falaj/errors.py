"""The error every call raises when the server (or the network) says no."""

from __future__ import annotations

from typing import Any, Optional


class FalajApiError(Exception):
    """An error answered by the Falaj server, or the failure to reach it.

    ``error_code`` is MLflow's ``error_code`` on the MLflow routes (``RESOURCE_DOES_NOT_EXIST``,
    ``INVALID_PARAMETER_VALUE``, ...), Falaj's stable code on its own routes
    (``FALAJ_UNAUTHENTICATED``, ...), or ``FALAJ_UNREACHABLE`` when no answer came at all.
    ``status`` is the HTTP status (0 when there was none).
    """

    def __init__(self, status: int, error_code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.details = details


def error_from_body(status: int, reason: str, body: Any) -> FalajApiError:
    """MLflow's ``{error_code, message}`` or Falaj's ``{error: {code, message}}``."""
    if isinstance(body, dict):
        if isinstance(body.get("error_code"), str):
            message = body.get("message")
            return FalajApiError(status, body["error_code"], message if isinstance(message, str) else reason)
        err: Optional[Any] = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("code"), str):
            message = err.get("message")
            return FalajApiError(
                status, err["code"], message if isinstance(message, str) else reason, err.get("details")
            )
    return FalajApiError(status, f"HTTP_{status}", reason or f"HTTP {status}")
