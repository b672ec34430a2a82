"""How metric values travel.

JSON has no NaN or +-Infinity. MLflow's wire format (protobuf's JSON mapping, which MLflow's
own clients send and its server answers with) spells them as the strings "NaN", "Infinity"
and "-Infinity"; that is what this client sends (``json.dumps(allow_nan=False)`` guarantees
no bare token slips out). It reads the strings, bare tokens (``json.loads`` accepts them) and
null (a NaN some JSON writers lost).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Union


def encode_metric_value(value: Any) -> Union[float, int, str]:
    """A number (numpy scalars and 0-d tensors too: anything with ``__float__`` but str and bool)."""
    if isinstance(value, (bool, str, bytes)) or not (isinstance(value, numbers.Real) or hasattr(value, "__float__")):
        raise TypeError(f"metric value must be a number, not {type(value).__name__}")
    if not isinstance(value, (int, float)):
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_metric_value(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        # float() reads "NaN", "Infinity", "-Infinity" and numbers in text.
        return float(value)
    raise TypeError(f"not a metric value: {value!r}")


def decode_metric(m: dict) -> dict:
    return {
        "key": m.get("key"),
        "value": decode_metric_value(m.get("value")),
        "timestamp": int(m.get("timestamp") or 0),
        "step": int(m.get("step") or 0),
    }


def decode_run(run: dict) -> dict:
    data = dict(run.get("data") or {})
    data["metrics"] = [decode_metric(m) for m in data.get("metrics") or []]
    data.setdefault("params", [])
    data.setdefault("tags", [])
    out = dict(run)
    out["data"] = data
    return out
