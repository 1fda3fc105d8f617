"""End-to-end fixtures: real `strongroom` processes on 127.0.0.1, driven over TLS."""
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("STRONGROOM_BIN", ROOT / ".build" / "release" / "strongroom"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_tls(port: int, ca: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Waits until the node completes a TLS handshake on `port` (or fails if it exits)."""
    context = ssl.create_default_context(cafile=ca)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"strongroom exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                    return
        except (OSError, ssl.SSLError):
            time.sleep(0.1)
    raise TimeoutError(f"strongroom did not serve TLS on {port} within {timeout}s")


class RunningNode:
    """A `strongroom` process we started; stopped by its PID only."""

    def __init__(self, args, directory: Path, port: int, ca: str):
        self.directory = directory
        self.port = port
        self.ca = ca
        self.stdout_path = directory.parent / f"{directory.name}.stdout"
        self.stderr_path = directory.parent / f"{directory.name}.stderr"
        self.proc = subprocess.Popen(
            [str(BINARY), *args],
            stdout=open(self.stdout_path, "w"),
            stderr=open(self.stderr_path, "w"),
            cwd=directory.parent,
        )

    def wait_ready(self):
        wait_for_tls(self.port, self.ca, self.proc)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()


class DevNode(RunningNode):
    def __init__(self, directory: Path, port: int, region: str | None = None):
        directory.mkdir(parents=True, exist_ok=True)
        extra = ["--region", region] if region else []
        super().__init__(["dev", "--dir", str(directory), "--port", str(port), *extra], directory, port,
                         str(directory / "ca.pem"))

    def wait_ready(self):
        # endpoint.json appears before the listener starts; the CA exists once it does.
        deadline = time.monotonic() + 120
        while not (self.directory / "endpoint.json").exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"strongroom dev exited with {self.proc.returncode}: {self.stderr}")
            if time.monotonic() > deadline:
                raise TimeoutError("endpoint.json never appeared")
            time.sleep(0.05)
        super().wait_ready()
        self.endpoint = json.loads((self.directory / "endpoint.json").read_text())
        return self

    def principal(self, account: str = "123456789012", name: str = "admin") -> dict:
        for acct in self.endpoint["accounts"]:
            if acct["accountId"] == account:
                for p in acct["principals"]:
                    if p["name"] == name:
                        return p
        raise KeyError((account, name))

    def client(self, account="123456789012", name="admin", **overrides):
        p = self.principal(account, name)
        return boto3.client(
            "secretsmanager",
            endpoint_url=self.endpoint["endpoint"],
            region_name=self.endpoint["region"],
            aws_access_key_id=overrides.get("access_key", p["accessKeyId"]),
            aws_secret_access_key=overrides.get("secret_key", p["secretAccessKey"]),
            verify=self.endpoint["caBundle"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def cli_env(self, account="123456789012", name="admin") -> dict:
        p = self.principal(account, name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint["endpoint"],
            AWS_CA_BUNDLE=self.endpoint["caBundle"],
            AWS_ACCESS_KEY_ID=p["accessKeyId"],
            AWS_SECRET_ACCESS_KEY=p["secretAccessKey"],
            AWS_DEFAULT_REGION=self.endpoint["region"],
            AWS_MAX_ATTEMPTS="1",
        )
        return env


@pytest.fixture(scope="session")
def binary() -> Path:
    assert BINARY.exists(), f"{BINARY} is missing: build with `swift build -c release` first (scripts/test does)"
    return BINARY


@pytest.fixture(scope="module")
def dev_node(binary, tmp_path_factory):
    node = DevNode(tmp_path_factory.mktemp("dev") / "node", free_port()).wait_ready()
    yield node
    code = node.stop()
    assert code == 0, f"strongroom dev exited with {code} on SIGTERM: {node.stderr}"


class Cluster:
    """A multi-region cluster started by `cluster/up` (processes stopped by `cluster/down`).

    `manifest` is the parsed cluster.json; `client(region)` talks to that region's node (or,
    with via_front=True, to the front, which routes by the request's region)."""

    def __init__(self, directory: Path, manifest: dict, up_output: str):
        self.directory = directory
        self.manifest = manifest
        self.up_output = up_output

    @property
    def regions(self) -> list[str]:
        return [n["region"] for n in self.manifest["nodes"]]

    def node(self, region: str) -> dict:
        for n in self.manifest["nodes"]:
            if n["region"] == region:
                return n
        raise KeyError(region)

    def principal(self, account: str = "123456789012", name: str = "admin") -> dict:
        for acct in self.manifest["accounts"]:
            if acct["accountId"] == account:
                for p in acct["principals"]:
                    if p["name"] == name:
                        return p
        raise KeyError((account, name))

    def client(self, region: str, account="123456789012", name="admin", via_front=False):
        p = self.principal(account, name)
        endpoint = self.manifest["front"] if via_front else self.node(region)["endpoint"]
        assert endpoint, "the cluster runs without a front"
        return boto3.client(
            "secretsmanager",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=p["accessKeyId"],
            aws_secret_access_key=p["secretAccessKey"],
            verify=self.manifest["caBundle"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def pids(self) -> list[int]:
        pids = [n["pid"] for n in self.manifest["nodes"] + self.manifest.get("standbys", [])]
        return pids + ([self.manifest["frontPid"]] if self.manifest.get("frontPid") else [])

    def down(self) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / "cluster" / "down"), "--dir", str(self.directory)],
                              capture_output=True, text=True, timeout=120)


def start_cluster(directory: Path, regions: list[str] | None = None, standbys: int | None = None,
                  sync_standbys: int | None = None) -> Cluster:
    """Runs `cluster/up --no-build` with this suite's binary; fails with its output if it fails."""
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    args = [str(ROOT / "cluster" / "up"), "--no-build", "--dir", str(directory)]
    if regions:
        args += ["--regions", ",".join(regions)]
    # One node per region unless a test asks for standbys (cluster/up's own default is one
    # synchronous standby per region: test_cluster.py checks it).
    args += ["--standbys", str(standbys if standbys is not None else 0)]
    if sync_standbys is not None:
        args += ["--sync-standbys", str(sync_standbys)]
    up = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert up.returncode == 0, f"cluster/up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}"
    return Cluster(directory, json.loads((directory / "cluster.json").read_text()), up.stdout + up.stderr)


@contextlib.contextmanager
def restartable_cluster(directory: Path, regions: list[str] | None = None, standbys: int | None = None,
                        sync_standbys: int | None = None):
    """A cluster for tests that stop and restart its nodes: processes they start again go in
    `extra` and are stopped by PID at the end, before `cluster/down` stops the rest."""
    running = start_cluster(directory, regions, standbys=standbys, sync_standbys=sync_standbys)
    running.extra = []
    try:
        yield running
    finally:
        for proc in running.extra:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        running.down()


@pytest.fixture(scope="module")
def cluster(binary, tmp_path_factory):
    """A three-region cluster (the default regions) for the tests of one module."""
    running = start_cluster(tmp_path_factory.mktemp("cluster") / "c")
    yield running
    if (running.directory / "cluster.json").exists():
        down = running.down()
        assert down.returncode == 0, f"cluster/down failed:\n{down.stdout}\n{down.stderr}"
