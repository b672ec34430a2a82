"""Starts a real Falaj server (``node bin/falaj.js server``) for the tests; needs ``npm run build``."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from typing import Any, Optional

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLI = os.path.join(ROOT, "bin", "falaj.js")
ADMIN_PASSWORD = "py-e2e-admin-password"


class FalajServer:
    def __init__(self) -> None:
        if not os.path.exists(os.path.join(ROOT, "dist", "cli", "main.js")):
            raise RuntimeError("dist/ missing: run `npm run build` in the repository root first")
        node = os.environ.get("NODE") or shutil.which("node")
        if not node:
            raise RuntimeError("node not found on PATH (or set NODE)")
        self.data_dir = tempfile.mkdtemp(prefix="falaj-py-test-")
        env = dict(os.environ, FALAJ_ADMIN_PASSWORD=ADMIN_PASSWORD)
        env.pop("FALAJ_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [node, CLI, "server", "--data-dir", self.data_dir, "--port", "0", "--log-level", "info"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.output: list = []
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        # Both pipes are drained for the server's whole life, or it would block on a full pipe.
        def pump(stream) -> None:
            for line in stream:
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=pump, args=(stream,), daemon=True).start()
        self.url = ""
        closed = 0
        while not self.url:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                self.stop()
                raise RuntimeError("server did not start within 60 s:\n" + "".join(self.output)) from None
            if line is None:
                closed += 1
                if closed == 2:
                    raise RuntimeError("server exited before listening:\n" + "".join(self.output))
                continue
            if "falaj server listening" in line:
                self.url = json.loads(line)["url"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def api(self, method: str, path: str, body: Any = None, token: Optional[str] = None) -> Any:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read()
        return json.loads(text) if text else None

    def login_admin(self) -> str:
        return self.api("POST", "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})["token"]

    def project_tokens(self, session: str, project: str, *roles: str) -> list:
        """Creates `project` and one API token per role in it (as the owner's `session`)."""
        self.api("POST", "/api/v1/projects", {"name": project}, token=session)
        return [
            self.api("POST", f"/api/v1/projects/{project}/tokens", {"name": f"py-{role}", "role": role}, token=session)[
                "token"
            ]
            for role in roles
        ]

    def client(self, default_token: str, **kw: Any) -> Any:
        """A client of this server (with `default_token` unless `token=` is given); env={} so
        that the test's own environment (FALAJ_RUN_ID, a login file) never leaks in."""
        from falaj import Falaj

        kw.setdefault("url", self.url)
        kw.setdefault("token", default_token)
        kw.setdefault("env", {})
        return Falaj(**kw)
