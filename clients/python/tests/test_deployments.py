"""``client.deployments`` end to end against a real Falaj server process: a model trained by the
server and registered twice, deployed, given a canary, promoted, rolled back, called with
``predict()`` (MLflow scoring) through an invoke token bound to it, labelled, deleted; errors
with their stable codes."""

from __future__ import annotations

import os
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # clients/python, for `import falaj` without installing

from falaj import Falaj, FalajApiError  # noqa: E402

from .server import FalajServer  # noqa: E402
from .test_models import loans_csv  # noqa: E402

PROJECT = "pydeploy"
P = f"/api/v1/projects/{PROJECT}"
COLUMNS = ["x1", "x2", "sex", "region"]
ROWS = [[0.3, -1.2, "F", "north"], [2.0, 2.0, "M", "south"]]

server: FalajServer
admin = ""
bob = ""


def client(token: str) -> Falaj:
    return server.client(token, project=PROJECT, retries=0)


def setUpModule() -> None:
    global server, admin, bob
    server = FalajServer()
    admin = server.login_admin()
    server.api("POST", "/api/v1/projects", {"name": PROJECT}, token=admin)
    server.api("POST", "/api/v1/users", {"username": "bob", "password": "bob-password-123"}, token=admin)
    server.api("PUT", f"{P}/members/bob", {"role": "maintainer"}, token=admin)
    bob = server.api("POST", "/api/v1/auth/login", {"username": "bob", "password": "bob-password-123"})["token"]
    server.api("POST", f"{P}/datasets", {"name": "loans"}, token=admin)
    req = urllib.request.Request(
        server.url + f"{P}/datasets/loans/versions?fileName=loans.csv",
        data=loans_csv(400, 1).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"},
    )
    with urllib.request.urlopen(req, timeout=60) as res:
        res.read()
    run_id = server.api(
        "POST",
        f"{P}/training",
        {"dataset": "loans@1", "target": "label", "params": {"nRounds": 5}, "runName": "py-deploy"},
        token=bob,
    )["runId"]
    c = client(bob)
    deadline = time.time() + 120
    while True:
        status = c.get_run(run_id)["info"]["status"]
        if status == "FINISHED":
            break
        if status != "RUNNING" or time.time() > deadline:
            raise RuntimeError(f"training run {status}")
        time.sleep(0.2)
    c.register_model("credit", run_id=run_id)
    c.register_model("credit", run_id=run_id)


def tearDownModule() -> None:
    server.stop()


class DeploymentTests(unittest.TestCase):
    # Numbered: each step builds on the one before (unittest runs them in name order).

    def assert_code(self, code: str, fn, *args, **kw) -> FalajApiError:
        with self.assertRaises(FalajApiError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.error_code, code, str(cm.exception))
        return cm.exception

    def test_1_create_get_list(self) -> None:
        d = client(bob).deployments.create("credit", "credit@1", description="loans")
        self.assertEqual(
            (d["name"], d["revision"], d["state"], d["url"], d["serving"]),
            ("credit", 1, "ready", f"/serving/{PROJECT}/credit", {"primary": {"model": "credit", "version": 1}}),
        )
        self.assertEqual(client(bob).deployments.get("credit")["description"], "loans")
        self.assertEqual([x["name"] for x in client(bob).deployments.list()], ["credit"])
        self.assertEqual(client(bob).deployments.url("credit"), f"{server.url}/serving/{PROJECT}/credit")

    def test_2_canary_promote_rollback(self) -> None:
        deps = client(bob).deployments
        d = deps.update("credit", canary="credit@2", percent=10)
        self.assertEqual(d["spec"]["canary"], {"model": "credit@2", "percent": 10})
        self.assertEqual(d["serving"]["canary"]["version"], 2)
        err = self.assert_code("FALAJ_DEPLOYMENT_INVALID", deps.update, "credit", canary="credit@2", percent=150)
        self.assertEqual(err.status, 400)
        self.assert_code("FALAJ_INVALID_ARGUMENT", deps.update, "credit", canary="credit@2")
        d = deps.update("credit", promote_canary=True)
        self.assertEqual((d["revision"], d["spec"]["model"], d["spec"]["canary"]), (3, "credit@2", None))
        d = deps.rollback("credit")
        self.assertEqual((d["revision"], d["spec"]["model"]), (4, "credit@1"))
        d = deps.update("credit", canary=None, auto_rollback={"maxErrorRate": 0.2})
        self.assertIsNone(d["spec"]["canary"])
        self.assertEqual(d["spec"]["autoRollback"]["maxErrorRate"], 0.2)
        self.assertEqual(
            [r["reason"] for r in deps.revisions("credit")],
            ["update", "rollback", "promote-canary", "update", "create"],
        )
        self.assertEqual(deps.rollback("credit", revision=1)["revision"], 6)
        self.assert_code("FALAJ_FORBIDDEN", deps.set_public, "credit", True)

    def test_3_predict_with_an_invoke_token_and_label(self) -> None:
        token = server.api(
            "POST", f"{P}/tokens", {"name": "py-scorer", "role": "invoke", "deployment": "credit"}, token=bob
        )["token"]
        scorer = client(token)
        out = scorer.deployments.predict("credit", {"columns": COLUMNS, "data": ROWS}, request_id="py-order-1")
        self.assertEqual(len(out["predictions"]), 2)
        self.assertEqual(out["request_id"], "py-order-1")
        records = scorer.deployments.predict("credit", {"dataframe_records": [dict(zip(COLUMNS, ROWS[0]))]})
        self.assertEqual(len(records["predictions"]), 1)
        self.assertTrue(records["request_id"])
        # The token calls the deployment and nothing else.
        self.assert_code("FALAJ_FORBIDDEN", scorer.deployments.list)
        self.assertEqual(
            client(bob).deployments.labels("credit", [{"request_id": "py-order-1", "row": 1, "label": "yes"}]),
            {"recorded": 1},
        )
        # The request log is written in batches: a request shows up a few seconds after its answer.
        deadline = time.time() + 30
        while True:
            logged = client(bob).deployments.requests("credit", limit=20)
            rows = [r for r in logged if r["request_id"] == "py-order-1"]
            if len(rows) == 2 or time.time() > deadline:
                break
            time.sleep(0.25)
        self.assertEqual(
            sorted((r["row"], r["protocol"], r["label"]) for r in rows),
            [(0, "mlflow", None), (1, "mlflow", "yes")],
        )

    def test_4_delete(self) -> None:
        deps = client(bob).deployments
        deps.delete("credit")
        with self.assertRaises(FalajApiError) as cm:
            deps.get("credit")
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(deps.list(), [])
        self.assert_code("FALAJ_INVALID_ARGUMENT", deps.get, "")


if __name__ == "__main__":
    unittest.main()
