"""A real JupyterHub for tests: the hub (pip) behind configurable-http-proxy (npm), the dummy
authenticator and the simple local process spawner, driven through its REST API with a service
token; kernels of the users' servers are created with the servers' REST API and driven over
their WebSocket channels, through the proxy, as a browser would.

Every process the hub started is stopped at the end: the hub stops the servers (and they their
kernels) and the proxy; anything still alive after that is killed and reported.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.support.npm import npm_bin

PROXY = "configurable-http-proxy@5.3.0"
BIN = Path(sys.executable).parent
START_TIMEOUT = 45.0  # the hub, a server or a kernel coming up, on a busy 2-core machine

CONFIG = """
import json
c = get_config()  # noqa: F821
settings = json.loads({settings!r})
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.JupyterHub.db_url = "sqlite:///" + settings["dir"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = settings["dir"] + "/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = settings["dir"] + "/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % settings["proxy_api_port"]
c.ConfigurableHTTPProxy.auth_token = settings["proxy_token"]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = settings["homes"] + "/{{username}}"
c.Spawner.cmd = [settings["singleuser"]]
c.Spawner.args = settings["args"]
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.services = [{{"name": "tests", "api_token": settings["token"]}}]
c.JupyterHub.load_roles = [
    {{
        "name": "tests",
        "scopes": ["admin:users", "admin:servers", "access:servers"],
        "services": ["tests"],
    }}
]
{extra}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Hub:
    """A running JupyterHub (see ``start_hub``).

    Attributes:
        url: the proxy's public URL (``http://127.0.0.1:<port>``).
        token: the ``tests`` service's API token.
        log: the hub's stdout and stderr (the servers' and kernels' too: they inherit them).
        homes: the users' home folders (``<homes>/<name>``).
    """

    url: str
    token: str
    log: Path
    homes: Path
    process: subprocess.Popen[bytes]
    seen: dict[int, float] = field(default_factory=dict)  # pid → create time, for clean-up

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the Hub's REST API (``/hub/api`` + ``path``); the parsed JSON reply or None."""
        return self.request(method, f"/hub/api{path}", body)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Call any URL behind the proxy with the service's token."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise AssertionError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        return json.loads(raw) if raw else None

    def add_users(self, *names: str) -> None:
        """Create the users (the dummy authenticator lets anyone in; the API needs them)."""
        self.api("POST", "/users", {"usernames": list(names)})

    def start_server(self, name: str) -> None:
        """Start ``name``'s server (the spawner runs it) without waiting for it."""
        self.api("POST", f"/users/{name}/server")

    def wait_ready(self, name: str) -> None:
        """Wait until ``name``'s server is up (bounded)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            user = self.api("GET", f"/users/{name}")
            server = (user.get("servers") or {}).get("")
            if server and server.get("ready"):
                self.remember()
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited: {self.tail()}")
            time.sleep(0.2)
        raise AssertionError(f"{name}'s server did not start in {START_TIMEOUT:g} s: {self.tail()}")

    def start_kernel(self, name: str) -> str:
        """A new python3 kernel on ``name``'s server; its id."""
        kernel = self.request("POST", f"/user/{name}/api/kernels", {"name": "python3"})
        self.remember()
        return str(kernel["id"])

    def channels(self, name: str, kernel_id: str) -> str:
        """The WebSocket URL of a kernel's channels, through the proxy."""
        base = self.url.replace("http://", "ws://", 1)
        return f"{base}/user/{name}/api/kernels/{kernel_id}/channels"

    def remember(self) -> None:
        """Note every process the hub has started so far (for the clean-up)."""
        try:
            for proc in psutil.Process(self.process.pid).children(recursive=True):
                self.seen[proc.pid] = proc.create_time()
        except psutil.NoSuchProcess:
            pass

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> list[str]:
        """Stop the hub (it stops the servers and the proxy); kill what outlived it. Returns
        what had to be killed (empty when the hub cleaned up after itself)."""
        self.remember()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while self._alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        killed = []
        for proc in self._alive():
            try:
                killed.append(f"{proc.pid} {' '.join(proc.cmdline()[:3])}")
                proc.kill()
            except psutil.NoSuchProcess:
                continue
        return killed

    def _alive(self) -> list[psutil.Process]:
        alive = []
        for pid, created in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.NoSuchProcess:
                continue
        return alive


def start_hub(folder: Path, *, environment: Mapping[str, str], extra: str = "") -> Hub:
    """Write a jupyterhub_config.py into ``folder`` and start the hub; returns once its API
    answers. ``environment`` becomes ``c.Spawner.environment``; ``extra`` is appended to the
    config (Python), e.g. per-user callables."""
    folder.mkdir(parents=True, exist_ok=True)
    homes = folder / "homes"
    homes.mkdir(exist_ok=True)
    port = free_port()
    token = uuid.uuid4().hex
    settings = {
        "dir": str(folder),
        "homes": str(homes),
        "port": port,
        "hub_port": free_port(),
        "proxy_api_port": free_port(),
        "proxy": str(npm_bin(PROXY, "configurable-http-proxy")),
        "proxy_token": uuid.uuid4().hex,
        "singleuser": str(BIN / "jupyterhub-singleuser"),
        "token": token,
        # Containers and CI often run as root: the servers refuse that unless told.
        "args": ["--allow-root"] if os.geteuid() == 0 else [],
    }
    env_line = f"c.Spawner.environment = {dict(environment)!r}\n"
    config = folder / "jupyterhub_config.py"
    config.write_text(CONFIG.format(settings=json.dumps(settings), extra=env_line + extra))
    log = folder / "hub.log"
    # The hub runs in its own process group (the proxy joins it); the servers start their own.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLET_", "JUPYTER"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(config)],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    hub = Hub(url=f"http://127.0.0.1:{port}", token=token, log=log, homes=homes, process=process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            hub.api("GET", "/")
            break
        except (AssertionError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                hub.stop()
                raise AssertionError(f"JupyterHub did not come up: {hub.tail()}") from None
            time.sleep(0.2)
    hub.remember()
    return hub


# ── a kernel over its WebSocket channels (the JSON protocol jupyter_server speaks) ──


def _message(msg_type: str, content: dict[str, Any], session: str) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": "tests",
            "session": session,
            "date": datetime.datetime.now(datetime.UTC).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }


def _decode(raw: str | bytes) -> dict[str, Any]:
    """One message: JSON text, or the binary frame of one with buffers (offsets, then JSON)."""
    if isinstance(raw, str):
        decoded: dict[str, Any] = json.loads(raw)
        return decoded
    count = int.from_bytes(raw[:4], "big")
    offsets = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(count)]
    end = offsets[1] if count > 1 else len(raw)
    decoded = json.loads(raw[offsets[0] : end].decode())
    return decoded


class WsKernel:
    """A kernel client over ``/api/kernels/<id>/channels`` (tornado's WebSocket client).

    Attributes:
        messages: every message the kernel sent, in order (for the tests' final checks).
    """

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.session = uuid.uuid4().hex
        self.messages: list[dict[str, Any]] = []
        self._ws: Any = None

    async def connect(self) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        request = HTTPRequest(
            self.url, headers={"Authorization": f"token {self.token}"}, request_timeout=30
        )
        self._ws = await asyncio.wait_for(websocket_connect(request), START_TIMEOUT)

    async def execute(self, code: str, *, timeout: float = 30.0) -> tuple[str, str]:
        """Run ``code``; return (the reply's status, the text of every output of the cell)."""
        request = _message("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True,
        }, self.session)  # fmt: skip
        msg_id = request["header"]["msg_id"]
        await self._ws.write_message(json.dumps(request))
        texts: list[str] = []
        status = ""
        idle = False
        deadline = time.monotonic() + timeout
        while not (status and idle):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"cell did not finish in {timeout:g} s: {code[:60]!r}")
            raw = await asyncio.wait_for(self._ws.read_message(), left)
            if raw is None:
                raise AssertionError("the kernel's WebSocket closed")
            msg = _decode(raw)
            self.messages.append(msg)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                texts.append(content["text"])
            elif kind in ("display_data", "execute_result"):
                texts.append(str(content["data"].get("text/plain", "")))
                texts.append(str(content["data"].get("text/markdown", "")))
            elif kind == "error":
                texts.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                status = content["status"]
        return status, "".join(texts)

    async def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
