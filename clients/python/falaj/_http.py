"""HTTP to one Falaj server with one identity: auth headers, JSON, error bodies, retries."""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from .errors import FalajApiError, error_from_body

# When a failed request may be sent again:
# - IDEMPOTENT: sending it twice does no harm (reads, set-tag, log-parameter, runs/update, an
#   artifact PUT, a log-batch of params and tags only): retried after any network failure,
#   429, 502, 503 or 504.
# - UNSENT: a second copy would duplicate data (a log-batch with metrics, runs/create):
#   retried only when the request certainly never reached the server (connection refused,
#   name not resolved) or the server refused it unread (429).
# - NEVER.
IDEMPOTENT = "idempotent"
UNSENT = "unsent"
NEVER = "never"

QueryValue = Union[str, int, float, bool, Sequence[str], None]
BodyFactory = Callable[[], Tuple[Any, Dict[str, str]]]


def _unsent(reason: Any) -> bool:
    if isinstance(reason, ConnectionRefusedError):
        return True
    if isinstance(reason, socket.gaierror):
        return True
    return False


def _backoff(attempt: int) -> float:
    return min(0.25 * 2**attempt, 4.0) * (0.75 + random.random() / 2)


class Transport:
    def __init__(
        self,
        url: str,
        token: Optional[str],
        project: Optional[str],
        timeout: float = 60.0,
        retries: int = 3,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.project = project
        self.timeout = timeout
        self.retries = retries

    def headers(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        h: Dict[str, str] = {"Accept": "application/json", "User-Agent": "falaj-python"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if self.project:
            h["X-Falaj-Project"] = self.project
        if extra:
            h.update(extra)
        return h

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: str,
        query: Optional[Mapping[str, QueryValue]] = None,
        json_body: Any = None,
        body: Optional[BodyFactory] = None,
        timeout: Optional[float] = -1,
        sink: Optional[Callable[[Any], Any]] = None,
    ) -> Any:
        """One API call. Answers JSON (parsed), unless ``sink`` is given: then the response
        object goes to ``sink`` (to stream a download) and what it returns is returned. A sink
        may be called again on a retry, so it must start its output afresh each time."""
        url = self.url + path
        if query:
            pairs = []
            for k, v in query.items():
                if v is None:
                    continue
                if isinstance(v, (list, tuple)):
                    pairs.extend((k, str(item)) for item in v)
                elif isinstance(v, bool):
                    pairs.append((k, "true" if v else "false"))
                else:
                    pairs.append((k, str(v)))
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        payload = None
        if json_body is not None:
            # allow_nan=False: non-finite metric values are already strings (see _wire).
            payload = json.dumps(json_body, allow_nan=False).encode("utf-8")
        per_try = self.timeout if timeout == -1 else timeout
        attempt = 0
        while True:
            last = attempt >= self.retries or retry == NEVER
            extra: Dict[str, str] = {}
            data: Any = payload
            to_close = None
            if payload is not None:
                extra["Content-Type"] = "application/json"
            elif body is not None:
                data, extra = body()
                to_close = data
            req = urllib.request.Request(url, data=data, method=method, headers=self.headers(extra))
            try:
                try:
                    with urllib.request.urlopen(req, timeout=per_try) as res:
                        if sink is not None:
                            return sink(res)
                        text = res.read()
                    return json.loads(text) if text else None
                finally:
                    if to_close is not None and hasattr(to_close, "close"):
                        to_close.close()
            except urllib.error.HTTPError as err:
                raw = err.read()
                parsed: Any = None
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                transient = err.code == 429 or (retry == IDEMPOTENT and err.code in (502, 503, 504))
                if not last and transient:
                    after = err.headers.get("Retry-After") if err.headers else None
                    try:
                        delay = min(float(after), 30.0) if after else _backoff(attempt)
                    except ValueError:
                        delay = _backoff(attempt)
                    time.sleep(delay)
                    attempt += 1
                    continue
                raise error_from_body(err.code, str(err.reason), parsed) from None
            except (urllib.error.URLError, OSError) as err:
                reason = err.reason if isinstance(err, urllib.error.URLError) else err
                if not last and (retry == IDEMPOTENT or (retry == UNSENT and _unsent(reason))):
                    time.sleep(_backoff(attempt))
                    attempt += 1
                    continue
                raise FalajApiError(0, "FALAJ_UNREACHABLE", f"{method} {self.url}{path}: {reason}") from None
