"""Falaj's Python client: log experiments to a Falaj server from any training script.

Standard library only. ``Falaj()`` reads FALAJ_URL, FALAJ_TOKEN and FALAJ_PROJECT;
``start_run()`` attaches to FALAJ_RUN_ID when it is set, so a script Falaj started logs to its
own run.
"""

from ._wire import decode_metric_value, encode_metric_value
from .client import Falaj
from .errors import FalajApiError
from .run import Run, run_artifact_prefix

__all__ = [
    "Falaj",
    "FalajApiError",
    "Run",
    "decode_metric_value",
    "encode_metric_value",
    "run_artifact_prefix",
]
__version__ = "0.1.0"
