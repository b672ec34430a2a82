"""Falaj's Python client: log experiments to a Falaj server from any training script.

Standard library only. ``Falaj()`` reads FALAJ_URL, FALAJ_TOKEN and FALAJ_PROJECT;
``start_run()`` attaches to FALAJ_RUN_ID when it is set, so a script Falaj started logs to its
own run.

For a script Falaj starts as a job: ``falaj.params()``, ``falaj.log_metric(s)()``,
``falaj.save_checkpoint()``, ``falaj.load_checkpoint()``, ``falaj.attempt()``,
``falaj.is_resumed()`` (see ``falaj.training``).

The model registry is on the client: ``register_model()``, ``get_model_version()``,
``evaluate_model()``, ``request_promotion()``, ``approve_promotion()``, ``reject_promotion()``,
``model_card()`` (see ``falaj.models``). Deployments are ``client.deployments``: ``create()``,
``update()``, ``rollback()``, ``predict()``, ... (see ``falaj.deployments``).
"""

from ._wire import decode_metric_value, encode_metric_value
from .client import Falaj
from .deployments import Deployments
from .errors import FalajApiError
from .models import ModelRegistry
from .run import Run, run_artifact_prefix
from .training import (
    JobContext,
    Params,
    attempt,
    context,
    current_run,
    is_resumed,
    load_checkpoint,
    log_metric,
    log_metrics,
    params,
    save_checkpoint,
)

__all__ = [
    "Deployments",
    "Falaj",
    "FalajApiError",
    "JobContext",
    "ModelRegistry",
    "Params",
    "Run",
    "attempt",
    "context",
    "current_run",
    "decode_metric_value",
    "encode_metric_value",
    "is_resumed",
    "load_checkpoint",
    "log_metric",
    "log_metrics",
    "params",
    "run_artifact_prefix",
    "save_checkpoint",
]
__version__ = "0.1.0"
