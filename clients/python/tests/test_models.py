"""The client's model registry methods end to end against a real Falaj server process: a model
trained by the server into a run, registered from the run (and from its ONNX bytes), evaluated
on a dataset version with a sensitive column, proposed for ``production`` by one maintainer,
refused to that same maintainer (FALAJ_SELF_APPROVAL), approved by a second, after which the
alias names the version; a rejection; the model card."""

from __future__ import annotations

import math
import os
import random
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # clients/python, for `import falaj` without installing

from falaj import Falaj, FalajApiError  # noqa: E402

from .server import FalajServer  # noqa: E402

PROJECT = "pymodels"
P = f"/api/v1/projects/{PROJECT}"
# alice registers and evaluates (editor); bob and carol are the two pairs of eyes (maintainers).
PEOPLE = {"alice": "editor", "bob": "maintainer", "carol": "maintainer"}

server: FalajServer
admin = ""
sessions: dict = {}
run_id = ""


def loans_csv(rows: int, seed: int, sex: bool = True) -> str:
    """The label leans on x1 and x2; ``sex`` (F/M) and ``region`` play no part."""
    r = random.Random(seed)
    lines = [",".join(["x1", "x2"] + (["sex"] if sex else []) + ["region", "label"])]
    for _ in range(rows):
        x1, x2 = r.uniform(-2, 2), r.uniform(-2, 2)
        s = "F" if r.random() < 0.5 else "M"
        region = "north" if r.random() < 0.5 else "south"
        label = "yes" if r.random() < 1 / (1 + math.exp(-(1.5 * x1 + 0.8 * x2))) else "no"
        lines.append(",".join([f"{x1:.4f}", f"{x2:.4f}"] + ([s] if sex else []) + [region, label]))
    return "\n".join(lines) + "\n"


def upload_csv(path: str, text: str) -> None:
    req = urllib.request.Request(
        server.url + path,
        data=text.encode(),
        method="POST",
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"},
    )
    with urllib.request.urlopen(req, timeout=60) as res:
        res.read()


def as_(who: str) -> Falaj:
    """A client acting as ``who`` with a login session: each person is a different user."""
    return server.client(sessions[who], project=PROJECT, retries=0)


def setUpModule() -> None:
    global server, admin, run_id
    server = FalajServer()
    admin = server.login_admin()
    server.api("POST", "/api/v1/projects", {"name": PROJECT}, token=admin)
    for who, role in PEOPLE.items():
        password = f"{who}-password-123"
        server.api("POST", "/api/v1/users", {"username": who, "password": password}, token=admin)
        server.api("PUT", f"{P}/members/{who}", {"role": role}, token=admin)
        sessions[who] = server.api("POST", "/api/v1/auth/login", {"username": who, "password": password})["token"]
    server.api("POST", f"{P}/datasets", {"name": "loans"}, token=admin)
    upload_csv(f"{P}/datasets/loans/versions?fileName=loans.csv", loans_csv(800, 1))
    server.api("POST", f"{P}/datasets", {"name": "holdout"}, token=admin)
    upload_csv(f"{P}/datasets/holdout/versions?fileName=holdout.csv", loans_csv(600, 2))
    # Version 2 of the hold-out lacks the sensitive column.
    upload_csv(f"{P}/datasets/holdout/versions?fileName=holdout.csv", loans_csv(200, 3, sex=False))
    # The server trains into a tracking run, which ends FINISHED with model/ among its artifacts.
    run_id = server.api(
        "POST",
        f"{P}/training",
        {"dataset": "loans@1", "target": "label", "params": {"nRounds": 20}, "runName": "py-models"},
        token=sessions["alice"],
    )["runId"]
    alice = as_("alice")
    deadline = time.time() + 120
    while True:
        run = alice.get_run(run_id)
        status = run["info"]["status"]
        if status == "FINISHED":
            break
        if status != "RUNNING" or time.time() > deadline:
            raise RuntimeError(f"training run {status}: {run['data']['tags']}")
        time.sleep(0.2)


def tearDownModule() -> None:
    server.stop()


class ModelRegistryTests(unittest.TestCase):
    # Numbered: each step builds on the one before (unittest runs them in name order).

    def assert_code(self, code: str, fn, *args, **kw) -> FalajApiError:
        with self.assertRaises(FalajApiError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.error_code, code, str(cm.exception))
        return cm.exception

    def test_1_register_from_run_and_onnx_bytes(self) -> None:
        alice = as_("alice")
        v = alice.register_model("credit", run_id=run_id, description="from the run")
        self.assertEqual(
            (v["name"], v["version"], v["run_id"], v["source"], v["format"], v["user_id"], v["created_model"]),
            ("credit", 1, run_id, f"runs:/{run_id}/model", "falaj", "alice", True),
        )
        inputs = [i["name"] for i in v["signature"]["inputs"]]
        self.assertTrue({"x1", "x2", "sex"} <= set(inputs), inputs)

        model = alice.get_model("credit")
        self.assertEqual(model["protected_aliases"], ["production"])
        self.assertEqual([x["version"] for x in model["versions"]], [1])
        self.assertEqual([m["name"] for m in alice.list_models()], ["credit"])
        self.assertEqual(alice.get_model_version("credit@1")["run_id"], run_id)
        self.assertEqual(alice.get_model_version("models:/credit/latest")["version"], 1)

        # The run's ONNX file, registered from its bytes.
        req = urllib.request.Request(
            f"{server.url}{P}/artifacts/files/runs/{run_id}/artifacts/model/model.onnx",
            headers={"Authorization": f"Bearer {sessions['alice']}"},
        )
        with urllib.request.urlopen(req, timeout=60) as res:
            onnx = res.read()
        v2 = alice.register_model("credit", onnx=onnx, description="uploaded")
        self.assertEqual((v2["version"], v2["format"], v2["run_id"], v2["created_model"]), (2, "onnx", None, False))
        err = self.assert_code("FALAJ_ONNX_INVALID", alice.register_model, "credit", onnx=b"not a graph")
        self.assertEqual(err.status, 400)
        self.assertEqual(alice.get_model("credit")["latest_version"], 2)
        self.assert_code("FALAJ_INVALID_ARGUMENT", alice.register_model, "credit")

    def test_2_aliases(self) -> None:
        alice = as_("alice")
        change = alice.set_model_alias("credit", "champion", 2)
        self.assertEqual((change["version"], change["previous"]), (2, None))
        self.assertEqual(alice.get_model_version("credit@champion")["version"], 2)
        err = self.assert_code("FALAJ_ALIAS_PROTECTED", alice.set_model_alias, "credit", "production", 1)
        self.assertEqual(err.status, 403)
        self.assert_code("FALAJ_ALIAS_NOT_FOUND", alice.get_model_version, "credit@production")
        self.assert_code("FALAJ_MODEL_NOT_FOUND", alice.get_model_version, "nothing@1")
        self.assert_code("FALAJ_MODEL_VERSION_NOT_FOUND", alice.evaluate_model, "credit@9", dataset="holdout@1")

    def test_3_evaluate_with_fairness(self) -> None:
        alice = as_("alice")
        e = alice.evaluate_model("credit@1", dataset="holdout@1", sensitive=["sex"], slices=["region"])
        self.assertEqual((e["kind"], e["rowCount"], e["createdBy"]), ("dataset", 600, "alice"))
        self.assertRegex(e["dataDigest"], r"^[0-9a-f]{64}$")
        result = e["result"]
        self.assertEqual((result["data"], result["task"], result["target"]), ("holdout@1", "binary", "label"))
        self.assertGreater(result["metrics"]["auc"], 0.7)
        self.assertEqual([s["value"] for s in result["slices"]["region"]], ["north", "south"])
        report = result["fairness"]["sex"]["report"]
        self.assertEqual([g["name"] for g in report["groups"]], ["sex=F", "sex=M"])
        self.assertIsInstance(report["fourFifthsRule"]["passed"], bool)
        self.assertEqual([x["id"] for x in alice.model_evaluations({"name": "credit", "version": 1})], [e["id"]])

        # Data lacking the sensitive column: refused, nothing stored.
        self.assert_code(
            "FALAJ_EVALUATION_DATA_MISMATCH", alice.evaluate_model, "credit@1", dataset="holdout@2", sensitive=["sex"]
        )
        self.assertEqual(len(alice.model_evaluations("credit@1")), 1)
        self.assert_code("FALAJ_INVALID_ARGUMENT", alice.evaluate_model, "credit@1")

    def test_4_four_eyes_promotion(self) -> None:
        bob, carol = as_("bob"), as_("carol")
        out = bob.request_promotion("credit@1", alias="production", note="first release")
        request, gates = out["request"], out["gates"]
        self.assertEqual(
            (request["model"], request["version"], request["alias"], request["state"], request["requestedBy"]),
            ("credit", 1, "production", "pending", "bob"),
        )
        # No gate policy: no checks, the gates pass; four eyes still apply.
        self.assertEqual((gates["passed"], gates["checks"]), (True, []))
        self.assertEqual([r["id"] for r in carol.list_promotions(state="pending")], [request["id"]])

        err = self.assert_code("FALAJ_SELF_APPROVAL", bob.approve_promotion, request["id"])
        self.assertEqual(err.status, 403)
        self.assert_code("FALAJ_FORBIDDEN", as_("alice").approve_promotion, request["id"])
        self.assertEqual(bob.get_promotion(request["id"])["state"], "pending")
        self.assert_code("FALAJ_ALIAS_NOT_FOUND", bob.get_model_version, "credit@production")

        approved = carol.approve_promotion(request["id"])
        self.assertEqual((approved["request"]["state"], approved["request"]["decidedBy"]), ("approved", "carol"))
        self.assertEqual(bob.get_model_version("credit@production")["version"], 1)
        self.assertEqual(bob.get_model("credit")["aliases"], {"champion": 2, "production": 1})
        err = self.assert_code("FALAJ_PROMOTION_NOT_PENDING", carol.approve_promotion, request["id"])
        self.assertEqual(err.status, 409)

    def test_5_reject(self) -> None:
        bob, carol = as_("bob"), as_("carol")
        request = bob.request_promotion("credit@champion", alias="production")["request"]
        self.assertEqual(request["version"], 2)
        rejected = carol.reject_promotion(request["id"], "not evaluated with fairness")
        self.assertEqual(
            (rejected["state"], rejected["decidedBy"], rejected["decisionReason"]),
            ("rejected", "carol", "not evaluated with fairness"),
        )
        self.assertEqual(bob.get_model_version("credit@production")["version"], 1)
        self.assertEqual([r["state"] for r in bob.list_promotions(model="credit")], ["rejected", "approved"])

    def test_6_model_card(self) -> None:
        alice = as_("alice")
        card = alice.model_card("credit@production")
        self.assertEqual(card["card"], "falaj-model-card/1")
        self.assertEqual((card["model"]["version"], card["model"]["runId"]), (1, run_id))
        self.assertEqual([f["column"] for f in card["fairness"]], ["sex"])
        self.assertEqual(
            [(p["state"], p["requestedBy"], p["decidedBy"]) for p in card["promotions"]],
            [("approved", "bob", "carol")],
        )
        md = alice.model_card("credit@1", "md")
        self.assertIsInstance(md, str)
        self.assertTrue(md.startswith("# "), md[:80])
        self.assertIn("carol", md)
        self.assert_code("FALAJ_INVALID_ARGUMENT", alice.model_card, "credit@1", "html")


if __name__ == "__main__":
    unittest.main()
