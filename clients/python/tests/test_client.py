"""The Python client end to end against a real Falaj server process."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # clients/python, for `import falaj` without installing

from falaj import Falaj, FalajApiError  # noqa: E402
from falaj._http import Transport  # noqa: E402

from .server import FalajServer  # noqa: E402

PROJECT = "pyclient"
server: FalajServer
session = ""
token = ""


def setUpModule() -> None:
    global server, session, token
    server = FalajServer()
    session = server.login_admin()
    (token,) = server.project_tokens(session, PROJECT, "editor")


def tearDownModule() -> None:
    server.stop()


def client(**kw) -> Falaj:
    return server.client(token, **kw)


def as_dict(kvs):
    return {kv["key"]: kv["value"] for kv in kvs}


class RecordingTransport:
    """Wraps Transport.request to record each log-batch body the client sent."""

    def __init__(self) -> None:
        self.batches = []
        real = Transport.request
        outer = self

        def request(this, method, path, **kw):
            if path.endswith("/runs/log-batch"):
                outer.batches.append(kw.get("json_body"))
            return real(this, method, path, **kw)

        self.patch = mock.patch.object(Transport, "request", request)

    def __enter__(self):
        self.patch.start()
        return self

    def __exit__(self, *exc):
        self.patch.stop()


class RunTests(unittest.TestCase):
    def test_start_log_end_and_read_back(self) -> None:
        falaj = client()
        run = falaj.start_run(experiment="py-e2e", name="first", tags={"team": "risk"})
        self.assertFalse(run.attached)
        self.assertEqual(falaj.get_experiment_by_name("py-e2e")["experiment_id"], run.experiment_id)
        self.assertEqual(falaj.get_experiment(run.experiment_id)["name"], "py-e2e")
        run.log_param("depth", 6)
        run.log_params({"eta": 0.1, "booster": "gbtree", "early": True})
        for step in range(5):
            run.log_metric("loss", 1 / (step + 1), step=step, timestamp=1000 + step)
        run.log_metrics({"auc": 0.91, "f1": 0.8}, step=4)
        run.log_metric("nan", float("nan"))
        run.log_metric("inf", float("inf"))
        run.log_metric("ninf", float("-inf"), step=1)
        run.set_tag("stage", "dev")
        run.end()
        self.assertTrue(run.ended)
        self.assertEqual(run.info["status"], "FINISHED")

        got = falaj.get_run(run.id)
        self.assertEqual(got["info"]["status"], "FINISHED")
        self.assertEqual(got["info"]["run_name"], "first")
        self.assertGreater(got["info"]["end_time"], 0)
        self.assertEqual(
            as_dict(got["data"]["params"]), {"depth": "6", "eta": "0.1", "booster": "gbtree", "early": "true"}
        )
        tags = as_dict(got["data"]["tags"])
        self.assertEqual((tags["team"], tags["stage"]), ("risk", "dev"))
        latest = as_dict(got["data"]["metrics"])
        self.assertEqual(latest["loss"], 0.2)
        self.assertEqual(latest["auc"], 0.91)
        self.assertTrue(math.isnan(latest["nan"]))
        self.assertEqual(latest["inf"], math.inf)
        self.assertEqual(latest["ninf"], -math.inf)

        history = falaj.metric_history(run.id, "loss")
        self.assertEqual(
            [(m["step"], m["value"], m["timestamp"]) for m in history],
            [(0, 1.0, 1000), (1, 0.5, 1001), (2, 1 / 3, 1002), (3, 0.25, 1003), (4, 0.2, 1004)],
        )
        self.assertTrue(math.isnan(falaj.metric_history(run.id, "nan")[0]["value"]))
        self.assertEqual(falaj.metric_history(run.id, "ninf")[0]["step"], 1)

    def test_context_manager_ends_finished_or_failed(self) -> None:
        falaj = client()
        with falaj.start_run(experiment="py-ctx") as ok:
            ok.log_metric("m", 1)
        self.assertEqual(falaj.get_run(ok.id)["info"]["status"], "FINISHED")
        with self.assertRaises(ValueError):
            with falaj.start_run(experiment="py-ctx") as bad:
                bad.log_metric("m", 2, step=3)
                raise ValueError("training diverged")
        got = falaj.get_run(bad.id)
        self.assertEqual(got["info"]["status"], "FAILED")
        self.assertEqual(falaj.metric_history(bad.id, "m")[0]["step"], 3)  # flushed before ending

    def test_batches_respect_mlflow_limits(self) -> None:
        falaj = client(flush_interval=60)
        with RecordingTransport() as rec:
            run = falaj.start_run(experiment="py-batching")
            for step in range(2500):
                run.log_metric("x", step * 0.5, step=step)
            for i in range(250):
                run.log_param(f"p{i}", i)
            for i in range(150):
                run.set_tag(f"t{i}", f"v{i}")
            run.end()
        sizes = [(len(b["metrics"]), len(b["params"]), len(b["tags"])) for b in rec.batches]
        self.assertGreaterEqual(len(sizes), 3)
        for m, p, t in sizes:
            self.assertLessEqual(m, 1000)
            self.assertLessEqual(p, 100)
            self.assertLessEqual(t, 100)
            self.assertLessEqual(m + p + t, 1000)
        self.assertEqual(sum(s[0] for s in sizes), 2500)
        self.assertEqual(sum(s[1] for s in sizes), 250)
        history = falaj.metric_history(run.id, "x")
        self.assertEqual([m["step"] for m in history], list(range(2500)))
        # Pages are followed to the end, whatever their size.
        paged = falaj.metric_history(run.id, "x", page_size=1000)
        self.assertEqual([(m["step"], m["value"]) for m in paged], [(s, s * 0.5) for s in range(2500)])
        got = falaj.get_run(run.id)
        self.assertEqual(len(got["data"]["params"]), 250)
        self.assertEqual(len([t for t in got["data"]["tags"] if t["key"].startswith("t")]), 150)

    def test_background_thread_flushes_without_being_asked(self) -> None:
        falaj = client(flush_interval=0.05)
        run = falaj.start_run(experiment="py-flush")
        run.log_metric("m", 7, step=2)
        deadline = time.time() + 5
        while time.time() < deadline and not falaj.get_run(run.id)["data"]["metrics"]:
            time.sleep(0.05)
        self.assertEqual(falaj.metric_history(run.id, "m")[0]["value"], 7)
        run.end("KILLED")
        self.assertEqual(falaj.get_run(run.id)["info"]["status"], "KILLED")

    def test_search_runs(self) -> None:
        falaj = client()
        exp = falaj.get_or_create_experiment("py-search")
        for name, auc in (("a", 0.7), ("b", 0.95), ("c", 0.92)):
            with falaj.start_run(experiment_id=exp, name=name) as r:
                r.log_metric("auc", auc)
                r.log_param("depth", "3" if name == "a" else "6")
        page = falaj.search_runs(
            [exp], filter="metrics.auc > 0.9 and params.depth = '6'", order_by=["metrics.auc DESC"], max_results=10
        )
        self.assertEqual([r["info"]["run_name"] for r in page["runs"]], ["b", "c"])
        self.assertEqual(as_dict(page["runs"][0]["data"]["metrics"])["auc"], 0.95)
        first = falaj.search_runs([exp], order_by=["attributes.run_name ASC"], max_results=2)
        self.assertEqual([r["info"]["run_name"] for r in first["runs"]], ["a", "b"])
        self.assertTrue(first["next_page_token"])
        second = falaj.search_runs(
            [exp], order_by=["attributes.run_name ASC"], max_results=2, page_token=first["next_page_token"]
        )
        self.assertEqual([r["info"]["run_name"] for r in second["runs"]], ["c"])

    def test_nested_run(self) -> None:
        falaj = client(env={"FALAJ_RUN_ID": "not-used-for-nested-runs"})
        parent = client().start_run(experiment="py-nested")
        child = falaj.start_run(experiment_id=parent.experiment_id, parent_run_id=parent.id)
        child.end()
        parent.end()
        self.assertEqual(as_dict(falaj.get_run(child.id)["data"]["tags"])["mlflow.parentRunId"], parent.id)

    def test_artifact_streamed_with_same_digest(self) -> None:
        falaj = client()
        run = falaj.start_run(experiment="py-artifacts")
        content = os.urandom(6 * 1024 * 1024 + 3)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "weights.bin")
            with open(path, "wb") as f:
                f.write(content)
            up = run.log_artifact(path, "model")
            with open(os.path.join(tmp, "notes.txt"), "w") as f:
                f.write("hello")
            run.log_artifact(os.path.join(tmp, "notes.txt"))
            os.makedirs(os.path.join(tmp, "tree", "sub"))
            for rel in ("tree/a.txt", "tree/sub/b.txt"):
                with open(os.path.join(tmp, rel), "w") as f:
                    f.write(rel)
            many = run.log_artifacts(os.path.join(tmp, "tree"), "plots")
        self.assertEqual(up["path"], f"runs/{run.id}/artifacts/model/weights.bin")
        self.assertEqual(up["size"], len(content))
        self.assertEqual(
            [a["path"] for a in many],
            [f"runs/{run.id}/artifacts/plots/a.txt", f"runs/{run.id}/artifacts/plots/sub/b.txt"],
        )
        req = urllib.request.Request(
            f"{server.url}/api/v1/projects/{PROJECT}/artifacts/files/{up['path']}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(req, timeout=60) as res:
            body = res.read()
            self.assertEqual(res.headers["x-falaj-digest"], up["digest"])
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(content).hexdigest())
        top = {f["path"]: f for f in run.list_artifacts()}
        self.assertTrue(top["model"]["is_dir"])
        self.assertEqual(top["notes.txt"]["file_size"], 5)
        self.assertEqual([f["path"] for f in run.list_artifacts("model")], ["model/weights.bin"])
        run.end()

    def test_session_token_with_project(self) -> None:
        falaj = Falaj(url=server.url, token=session, project=PROJECT, env={})
        with falaj.start_run(experiment="py-session") as run:
            run.log_metric("m", 1)
        self.assertEqual(len(falaj.get_run(run.id)["data"]["metrics"]), 1)
        env_client = Falaj(env={"FALAJ_URL": server.url, "FALAJ_TOKEN": session, "FALAJ_PROJECT": PROJECT})
        self.assertEqual(env_client.get_run(run.id)["info"]["run_id"], run.id)
        with self.assertRaises(FalajApiError) as cm:
            Falaj(url=server.url, token=session, env={}).get_run(run.id)
        self.assertEqual((cm.exception.error_code, cm.exception.status), ("PERMISSION_DENIED", 403))

    def test_error_codes(self) -> None:
        falaj = client()
        with self.assertRaises(FalajApiError) as cm:
            falaj.get_run("0123456789abcdef0123456789abcdef")
        self.assertEqual((cm.exception.error_code, cm.exception.status), ("RESOURCE_DOES_NOT_EXIST", 404))

        run = falaj.start_run(experiment="py-errors")
        run.log_param("lr", 0.1)
        with self.assertRaises(FalajApiError) as cm:
            run.log_param("lr", 0.2)  # caught in the client, before it can fail a batch
        self.assertEqual(cm.exception.error_code, "INVALID_PARAMETER_VALUE")
        with self.assertRaises(FalajApiError):
            run.log_metric("x", "not a number")
        run.flush()
        other = client()
        from falaj import Run

        resumed = Run(other, run.info, attached=True)
        resumed.log_param("lr", 0.3)
        resumed.log_metric("lost-with-its-batch", 1)
        with self.assertLogs("falaj", "WARNING"):
            with self.assertRaises(FalajApiError) as cm:
                resumed.flush()
        self.assertEqual((cm.exception.error_code, cm.exception.status), ("INVALID_PARAMETER_VALUE", 400))
        resumed.flush()  # reported once
        got = falaj.get_run(run.id)
        self.assertEqual(got["data"]["params"], [{"key": "lr", "value": "0.1"}])
        self.assertEqual(got["data"]["metrics"], [])  # the batch was all or nothing

        with self.assertRaises(FalajApiError) as cm:
            falaj.search_runs([run.experiment_id], filter="metrics.auc >")
        self.assertEqual((cm.exception.error_code, cm.exception.status), ("INVALID_PARAMETER_VALUE", 400))
        with self.assertRaises(FalajApiError) as cm:
            client(token="falaj_not-a-token").get_run(run.id)
        self.assertEqual((cm.exception.error_code, cm.exception.status), ("UNAUTHENTICATED", 401))
        with self.assertRaises(FalajApiError) as cm:
            client(url="http://127.0.0.1:1", retries=0).get_run(run.id)
        self.assertEqual((cm.exception.error_code, cm.exception.status), ("FALAJ_UNREACHABLE", 0))
        run.end()
        with self.assertRaises(FalajApiError):
            run.log_metric("late", 1)


TRAINING_SCRIPT = """
import math, sys
from falaj import Falaj
run = Falaj().start_run()
print(run.id, flush=True)
run.log_params({"lr": 0.01, "epochs": 3})
for epoch in range(3):
    for step in range(10):
        run.log_metric("loss", 1.0 / (epoch * 10 + step + 1), step=epoch * 10 + step)
    run.log_metrics({"val_loss": 0.5 / (epoch + 1), "diverged": float("nan")}, step=epoch)
run.log_metric("overflow", float("inf"), step=2)
run.set_tag("phase", "train")
if len(sys.argv) > 1:
    raise RuntimeError("boom")
# No flush, no end: the exit handler sends it all.
"""


class TrainingScriptTests(unittest.TestCase):
    def script_env(self, **extra):
        env = dict(os.environ, FALAJ_URL=server.url, FALAJ_TOKEN=token, **extra)
        env.pop("FALAJ_PROJECT", None)
        if "FALAJ_RUN_ID" not in extra:
            env.pop("FALAJ_RUN_ID", None)
        env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
        env["FALAJ_CONFIG"] = os.path.join(HERE, "no-such-login-file.json")
        return env

    def check_logged(self, falaj: Falaj, run_id: str) -> dict:
        got = falaj.get_run(run_id)
        self.assertEqual(as_dict(got["data"]["params"]), {"lr": "0.01", "epochs": "3"})
        self.assertEqual(as_dict(got["data"]["tags"])["phase"], "train")
        loss = falaj.metric_history(run_id, "loss")
        self.assertEqual([m["step"] for m in loss], list(range(30)))
        self.assertAlmostEqual(loss[-1]["value"], 1 / 30)
        val = falaj.metric_history(run_id, "val_loss")
        self.assertEqual([(m["step"], m["value"]) for m in val], [(0, 0.5), (1, 0.25), (2, 0.5 / 3)])
        diverged = falaj.metric_history(run_id, "diverged")
        self.assertEqual(len(diverged), 3)
        self.assertTrue(all(math.isnan(m["value"]) for m in diverged))
        self.assertEqual(falaj.metric_history(run_id, "overflow")[0]["value"], math.inf)
        return got

    def test_script_started_by_falaj_logs_to_its_run(self) -> None:
        falaj = client()
        created = falaj.start_run(experiment="py-launched", name="job-1")
        proc = subprocess.run(
            [sys.executable, "-c", TRAINING_SCRIPT],
            env=self.script_env(FALAJ_RUN_ID=created.id),
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), created.id)
        got = self.check_logged(falaj, created.id)
        # Attached: the launcher, not the script, ends the run.
        self.assertEqual(got["info"]["status"], "RUNNING")
        created.end()

    def test_script_with_its_own_run_is_ended_at_exit(self) -> None:
        falaj = client()
        ok = subprocess.run(
            [sys.executable, "-c", TRAINING_SCRIPT], env=self.script_env(), capture_output=True, text=True, timeout=120
        )
        self.assertEqual(ok.returncode, 0, ok.stderr)
        got = self.check_logged(falaj, ok.stdout.strip())
        self.assertEqual(got["info"]["status"], "FINISHED")
        failed = subprocess.run(
            [sys.executable, "-c", TRAINING_SCRIPT, "fail"],
            env=self.script_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(failed.returncode, 1)
        self.assertIn("RuntimeError: boom", failed.stderr)
        got = self.check_logged(falaj, failed.stdout.strip())
        self.assertEqual(got["info"]["status"], "FAILED")


if __name__ == "__main__":
    unittest.main()
