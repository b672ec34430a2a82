"""The calls a training script started as a job makes (params, metrics, checkpoints, attempts),
end to end against a real Falaj server process."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # clients/python, for `import falaj` without installing

from falaj import Falaj, FalajApiError, JobContext  # noqa: E402
from falaj._http import Transport  # noqa: E402
from falaj.run import Run  # noqa: E402

from .server import FalajServer  # noqa: E402

PROJECT = "pytrain"
server: FalajServer
token = ""
maintainer = ""


def setUpModule() -> None:
    global server, token, maintainer
    server = FalajServer()
    token, maintainer = server.project_tokens(server.login_admin(), PROJECT, "editor", "maintainer")


def tearDownModule() -> None:
    server.stop()


def client(**kw) -> Falaj:
    return server.client(token, **kw)


def unreachable() -> Falaj:
    # A client that fails on any request: proves a code path never talks to a server.
    return Falaj(url="http://127.0.0.1:1", token="x", env={}, retries=0)


def job_run(experiment: str = "py-training") -> str:
    """A run made as the job scheduler makes one (over the API, not by this client), so that the
    scripts under test only attach to it and nothing ends it at exit."""
    exp = client().get_or_create_experiment(experiment)
    res = server.api("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": exp}, token=token)
    return res["run"]["info"]["run_id"]


def as_dict(kvs):
    return {kv["key"]: kv["value"] for kv in kvs}


def sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class CountingGets:
    """Counts artifact downloads (GET .../artifacts/files/...) made through the Transport."""

    def __init__(self) -> None:
        self.downloads = 0
        real = Transport.request
        outer = self

        def request(this, method, path, **kw):
            if method == "GET" and "/artifacts/files/" in path:
                outer.downloads += 1
            return real(this, method, path, **kw)

        self.patch = mock.patch.object(Transport, "request", request)

    def __enter__(self):
        self.patch.start()
        return self

    def __exit__(self, *exc):
        self.patch.stop()


class ParamsTests(unittest.TestCase):
    def test_sources_merge_and_the_run_wins_on_a_later_attempt(self) -> None:
        run_id = job_run("py-params")
        env = {"FALAJ_PARAMS": json.dumps({"lr": 0.1, "layers": [64, 64], "amp": True, "opt": "adamw"})}
        first = JobContext(client(), run_id, env=env).params(["--params", '{"lr": 0.2, "epochs": 3}'])
        # --params overrides FALAJ_PARAMS; JSON types are kept on the first attempt.
        self.assertEqual(first, {"lr": 0.2, "layers": [64, 64], "amp": True, "opt": "adamw", "epochs": 3})
        stored = as_dict(client().get_run(run_id)["data"]["params"])
        self.assertEqual(stored, {"lr": "0.2", "layers": "[64, 64]", "amp": "true", "opt": "adamw", "epochs": "3"})

        # A retry whose environment says otherwise still trains with what the run recorded
        # (and logging does not trip over params that cannot change).
        later_env = {"FALAJ_PARAMS": json.dumps({"lr": 0.5, "batch": 32}), "FALAJ_ATTEMPT": "2"}
        again = JobContext(client(), run_id, env=later_env).params([])
        self.assertEqual(again.get_float("lr"), 0.2)
        self.assertEqual(again.get_int("epochs"), 3)
        self.assertEqual(again.get_json("layers"), [64, 64])
        self.assertIs(again.get_bool("amp"), True)
        self.assertEqual(again.get_str("opt"), "adamw")
        self.assertEqual(again.get_int("batch"), 32)  # new key: taken, and recorded
        self.assertEqual(as_dict(client().get_run(run_id)["data"]["params"])["batch"], "32")

    def test_typed_getters(self) -> None:
        p = JobContext(unreachable(), env={}).params(
            ["--params", '{"n": "12", "f": "1e-3", "whole": 4.0, "b": "no", "s": 7, "bad": "x", "half": 2.5}']
        )
        self.assertEqual((p.get_int("n"), p.get_int("whole"), p.get_float("f")), (12, 4, 0.001))
        self.assertIs(p.get_bool("b"), False)
        self.assertEqual(p.get_str("s"), "7")
        self.assertEqual(p.get_int("missing", 5), 5)
        with self.assertRaises(KeyError):
            p.get_int("missing")
        for getter, key in ((p.get_int, "bad"), (p.get_int, "half"), (p.get_float, "bad"), (p.get_bool, "bad")):
            with self.assertRaises(ValueError, msg=f"{getter.__name__}({key})"):
                getter(key)

    def test_without_a_run_nothing_is_sent_and_bad_input_is_named(self) -> None:
        ctx = JobContext(unreachable(), env={"FALAJ_PARAMS": '{"a": 1}'})
        self.assertIsNone(ctx.run())
        self.assertEqual(ctx.params(["--params=" + '{"b": 2}']), {"a": 1, "b": 2})
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"c": 3}, f)
        try:
            self.assertEqual(ctx.params(["--params", "@" + f.name]), {"a": 1, "c": 3})
        finally:
            os.unlink(f.name)
        with self.assertLogs("falaj", "WARNING"):
            ctx.log_metric("loss", 1.0)  # dropped, said once
        with self.assertRaisesRegex(ValueError, "--params is not valid JSON"):
            ctx.params(["--params", "{lr: 1}"])
        with self.assertRaisesRegex(ValueError, "must be a JSON object"):
            ctx.params(["--params", "[1, 2]"])
        with self.assertRaisesRegex(ValueError, "FALAJ_PARAMS"):
            JobContext(unreachable(), env={"FALAJ_PARAMS": "nope"}).params([])


class CheckpointTests(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def dir(self, name: str) -> str:
        return os.path.join(self.tmp.name, name)

    def test_second_attempt_loads_the_latest_from_the_run(self) -> None:
        run_id = job_run("py-ckpt")
        first = JobContext(client(), run_id, env={"FALAJ_ATTEMPT": "1"}, checkpoint_dir=self.dir("a1"))
        self.assertEqual((first.attempt(), first.is_resumed()), (1, False))
        self.assertIsNone(first.load_checkpoint())  # nothing yet: start from scratch

        first.save_checkpoint(b"weights after step 1", step=1)
        weights = self.dir("w.bin")
        with open(weights, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + 17))  # several chunks on the wire
        entry = first.save_checkpoint(weights, step=2)
        self.assertEqual((entry["step"], entry["file"], entry["artifact"]), (2, "checkpoint-000000002.bin", "checkpoints/checkpoint-000000002.bin"))

        tag = json.loads(as_dict(client().get_run(run_id)["data"]["tags"])["falaj.checkpoint.checkpoint"])
        self.assertEqual((tag["step"], tag["attempt"]), (2, 1))
        self.assertEqual([c["step"] for c in first.list_checkpoints()], [1, 2])

        # Attempt 2 on "another machine": a new client and an empty checkpoint folder.
        second = JobContext(client(), run_id, env={"FALAJ_ATTEMPT": "2"}, checkpoint_dir=self.dir("a2"))
        self.assertEqual((second.attempt(), second.is_resumed()), (2, True))
        with CountingGets() as gets:
            path = second.load_checkpoint()
            self.assertTrue(path.startswith(self.dir("a2")))
            self.assertEqual(sha(path), sha(weights))
            self.assertEqual(gets.downloads, 1)
            # Already here with the right digest: not fetched again.
            self.assertEqual(second.load_checkpoint(), path)
            self.assertEqual(gets.downloads, 1)
            # A local copy that was altered is replaced by the run's.
            with open(path, "r+b") as f:
                f.write(b"XX")
            self.assertEqual(sha(second.load_checkpoint()), sha(weights))
            self.assertEqual(gets.downloads, 2)
        self.assertEqual([f for f in os.listdir(self.dir("a2")) if f.endswith(".part")], [])

        # Attempt 2 goes on: its checkpoint becomes the latest; other names are separate.
        second.save_checkpoint(b"step 3", step=3)
        second.save_checkpoint(b"best so far", step=2, name="best")
        third = JobContext(client(), run_id, env={"FALAJ_ATTEMPT": "3"}, checkpoint_dir=self.dir("a3"))
        with open(third.load_checkpoint(), "rb") as f:
            self.assertEqual(f.read(), b"step 3")
        with open(third.load_checkpoint("best"), "rb") as f:
            self.assertEqual(f.read(), b"best so far")
        self.assertIsNone(third.load_checkpoint("never-saved"))

    def test_a_failed_upload_leaves_the_previous_checkpoint_as_latest(self) -> None:
        run_id = job_run("py-ckpt")
        ctx = JobContext(client(), run_id, checkpoint_dir=self.dir("c"))
        ctx.save_checkpoint(b"good", step=1)
        with mock.patch.object(Run, "_upload", side_effect=FalajApiError(0, "FALAJ_UNREACHABLE", "cut")):
            with self.assertRaises(FalajApiError):
                ctx.save_checkpoint(b"never uploaded", step=2)
        other = JobContext(client(), run_id, checkpoint_dir=self.dir("d"))
        self.assertEqual(other.latest_checkpoint()["step"], 1)
        with open(other.load_checkpoint(), "rb") as f:
            self.assertEqual(f.read(), b"good")

    def test_a_download_that_does_not_match_its_digest_is_refused(self) -> None:
        run = client().start_run(run_id=job_run("py-ckpt"))
        ctx = JobContext(client(), run.id, checkpoint_dir=self.dir("e"))
        entry = ctx.save_checkpoint(b"real bytes", step=1)
        entry["digest"] = "0" * 64  # as if the index and the file disagreed
        run.set_tag("falaj.checkpoint.checkpoint", json.dumps(entry))
        run.flush()
        fresh = JobContext(client(), run.id, checkpoint_dir=self.dir("f"))
        with self.assertRaises(FalajApiError) as cm:
            fresh.load_checkpoint()
        self.assertEqual(cm.exception.error_code, "FALAJ_ARTIFACT_INTEGRITY")
        self.assertEqual(os.listdir(fresh.checkpoint_dir), [])  # no partial or wrong file left

    def test_objects_are_pickled_without_torch_and_bad_arguments_refused(self) -> None:
        run_id = job_run("py-ckpt")
        ctx = JobContext(client(), run_id, checkpoint_dir=self.dir("g"))
        state = {"epoch": 4, "weights": [0.5, -1.25]}
        with mock.patch.dict(sys.modules):  # as in a script that never imported torch
            sys.modules.pop("torch", None)
            entry = ctx.save_checkpoint(state, step=4)
        self.assertTrue(entry["file"].endswith(".pkl"))
        with open(JobContext(client(), run_id, checkpoint_dir=self.dir("h")).load_checkpoint(), "rb") as f:
            self.assertEqual(pickle.load(f), state)
        for bad in ({"step": -1}, {"step": 1.5}, {"step": True}, {"step": 1, "name": "../x"}, {"step": 1, "name": ""}):
            with self.assertRaises(ValueError, msg=str(bad)):
                ctx.save_checkpoint(b"x", **bad)
        with self.assertRaises(FileNotFoundError):
            ctx.save_checkpoint(self.dir("no-such-file.pt"), step=1)

    def test_keep_prunes_older_checkpoints_in_the_run_and_locally(self) -> None:
        run_id = job_run("py-ckpt")
        ctx = JobContext(client(token=maintainer), run_id, checkpoint_dir=self.dir("k"))
        for step in (1, 2, 3):
            ctx.save_checkpoint(b"s%d" % step, step=step)
        ctx.save_checkpoint(b"best", step=1, name="best")
        ctx.save_checkpoint(b"s4", step=4, keep=2)
        self.assertEqual([c["step"] for c in ctx.list_checkpoints()], [3, 4])
        self.assertEqual(
            sorted(f for f in os.listdir(ctx.checkpoint_dir) if f.startswith("checkpoint-")),
            ["checkpoint-000000003.bin", "checkpoint-000000004.bin"],
        )
        self.assertEqual([c["step"] for c in ctx.list_checkpoints("best")], [1])  # other names untouched
        # A restarted job that saves a lower step than it had: the new one is kept all the same.
        ctx.save_checkpoint(b"again", step=2, keep=1)
        self.assertEqual([c["step"] for c in ctx.list_checkpoints()], [2])
        with open(JobContext(client(), run_id, checkpoint_dir=self.dir("k2")).load_checkpoint(), "rb") as f:
            self.assertEqual(f.read(), b"again")
        with self.assertRaises(ValueError):
            ctx.save_checkpoint(b"x", step=5, keep=0)

        # An editor's token cannot delete artifacts: the save stands, the old ones stay, a warning.
        editor = JobContext(client(), run_id, checkpoint_dir=self.dir("k3"))
        with self.assertLogs("falaj", "WARNING") as logs:
            entry = editor.save_checkpoint(b"s6", step=6, keep=1)
        self.assertIn("maintainer", "\n".join(logs.output))
        self.assertEqual(editor.latest_checkpoint()["step"], entry["step"])
        self.assertEqual([c["step"] for c in editor.list_checkpoints()], [2, 6])

    def test_without_a_run_checkpoints_stay_local(self) -> None:
        first = JobContext(unreachable(), env={}, checkpoint_dir=self.dir("local"))
        self.assertIsNone(first.load_checkpoint())
        first.save_checkpoint(b"one", step=1)
        first.save_checkpoint(b"two", step=2)
        again = JobContext(unreachable(), env={"TORCHELASTIC_RESTART_COUNT": "1"}, checkpoint_dir=self.dir("local"))
        self.assertTrue(again.is_resumed())  # torchrun restarted the workers
        with open(again.load_checkpoint(), "rb") as f:
            self.assertEqual(f.read(), b"two")
        os.unlink(again.load_checkpoint())  # the index points at a file that is gone
        self.assertIsNone(again.load_checkpoint())


# A job's script, as a user would write it: only module-level calls and the environment.
ATTEMPT_SCRIPT = textwrap.dedent(
    """
    import sys
    import falaj

    p = falaj.params()
    steps = p.get_int("steps")
    path = falaj.load_checkpoint()
    start = int(open(path).read()) if path else 0
    print("attempt", falaj.attempt(), "resumed", falaj.is_resumed(), "start", start, flush=True)
    for step in range(start + 1, steps + 1):
        falaj.log_metric("loss", 1.0 / step, step=step)
        with open("state.txt", "w") as f:
            f.write(str(step))
        falaj.save_checkpoint("state.txt", step=step)
        if step == p.get_int("crash_at", 0) and falaj.attempt() == 1:
            sys.exit(3)  # the job's first attempt dies here; Falaj runs it again
    """
)


class JobAttemptTests(unittest.TestCase):
    def attempt(self, run_id: str, number: int, workdir: str) -> subprocess.CompletedProcess:
        env = dict(
            os.environ,
            FALAJ_URL=server.url,
            FALAJ_TOKEN=token,
            FALAJ_PROJECT=PROJECT,
            FALAJ_RUN_ID=run_id,
            FALAJ_JOB_ID="job-test",
            FALAJ_ATTEMPT=str(number),
            FALAJ_PARAMS=json.dumps({"steps": 4, "crash_at": 2}),
            FALAJ_CONFIG=os.path.join(HERE, "no-such-login-file.json"),
        )
        env.pop("FALAJ_CHECKPOINT_DIR", None)
        env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
        os.makedirs(workdir)
        return subprocess.run(
            [sys.executable, "-c", ATTEMPT_SCRIPT], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
        )

    def test_a_retried_job_resumes_from_its_last_checkpoint(self) -> None:
        falaj = client()
        run_id = job_run("py-jobs")
        with tempfile.TemporaryDirectory() as tmp:
            one = self.attempt(run_id, 1, os.path.join(tmp, "attempt-1"))
            self.assertEqual(one.returncode, 3, one.stderr)
            self.assertIn("attempt 1 resumed False start 0", one.stdout)
            # Each attempt in its own folder: the second has to fetch the checkpoint.
            two = self.attempt(run_id, 2, os.path.join(tmp, "attempt-2"))
            self.assertEqual(two.returncode, 0, two.stderr)
            self.assertIn("attempt 2 resumed True start 2", two.stdout)
            self.assertTrue(os.path.isfile(os.path.join(tmp, "attempt-2", "checkpoints", run_id, "checkpoint-000000002.txt")))
        # Every step logged exactly once across the two attempts.
        self.assertEqual([m["step"] for m in falaj.metric_history(run_id, "loss")], [1, 2, 3, 4])
        got = falaj.get_run(run_id)
        self.assertEqual(as_dict(got["data"]["params"]), {"steps": "4", "crash_at": "2"})
        latest = json.loads(as_dict(got["data"]["tags"])["falaj.checkpoint.checkpoint"])
        self.assertEqual((latest["step"], latest["attempt"]), (4, 2))
        self.assertEqual(got["info"]["status"], "RUNNING")  # attached: the scheduler ends it


ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TRAIN_PY = os.path.join(ROOT, "examples", "pytorch-gpu", "train.py")


def torch_python():
    """An interpreter that has PyTorch: FALAJ_TEST_TORCH_PYTHON, this one, or the system's."""
    for exe in (os.environ.get("FALAJ_TEST_TORCH_PYTHON"), sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe):
            ok = subprocess.run([exe, "-c", "import torch"], capture_output=True, timeout=120).returncode == 0
            if ok:
                return exe
    return None


class ExampleTrainScriptTests(unittest.TestCase):
    """examples/pytorch-gpu/train.py on CPU (bf16 autocast), as two attempts of one job."""

    def test_train_py_logs_checkpoints_and_resumes(self) -> None:
        exe = torch_python()
        if exe is None:
            self.skipTest("no Python with PyTorch here (set FALAJ_TEST_TORCH_PYTHON)")
        falaj = client()
        run_id = job_run("py-example")
        with tempfile.TemporaryDirectory() as tmp:

            def attempt(n: int, *extra: str) -> subprocess.CompletedProcess:
                env = dict(
                    os.environ,
                    FALAJ_URL=server.url,
                    FALAJ_TOKEN=token,
                    FALAJ_PROJECT=PROJECT,
                    FALAJ_RUN_ID=run_id,
                    FALAJ_ATTEMPT=str(n),
                    FALAJ_PARAMS=json.dumps({"epochs": 3, "samples": 4096, "hidden": 64}),
                    FALAJ_CONFIG=os.path.join(HERE, "no-such-login-file.json"),
                    CUDA_VISIBLE_DEVICES="",
                    OMP_NUM_THREADS="1",
                )
                for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "FALAJ_CHECKPOINT_DIR"):
                    env.pop(k, None)
                args = [exe, TRAIN_PY, "--checkpoint-dir", os.path.join(tmp, f"attempt-{n}"), *extra]
                return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)

            one = attempt(1, "--fail-once-at-epoch", "2")
            self.assertEqual(one.returncode, 3, one.stderr)
            two = attempt(2, "--fail-once-at-epoch", "2")  # attempt 2: the failure is not repeated
            self.assertEqual(two.returncode, 0, two.stderr)
            self.assertIn("resumed from checkpoint checkpoint-000000002.pt at epoch 2", two.stdout)
            self.assertIn("precision bf16 autocast (CPU)", two.stdout)
        loss = falaj.metric_history(run_id, "train_loss")
        self.assertEqual([m["step"] for m in loss], [1, 2, 3])  # epochs 1-2 by attempt 1, 3 by attempt 2
        self.assertLess(loss[-1]["value"], loss[0]["value"])
        got = falaj.get_run(run_id)
        self.assertEqual(as_dict(got["data"]["params"]), {"epochs": "3", "samples": "4096", "hidden": "64"})
        self.assertEqual(json.loads(as_dict(got["data"]["tags"])["falaj.checkpoint.checkpoint"])["step"], 3)


if __name__ == "__main__":
    unittest.main()
