"""A Strongroom cluster in the chaos namespaces: `strongroom cluster init --address REGION=IP`
makes its files, and each node runs `strongroom serve` inside its region's namespace (through
`ip netns exec`, which execs the binary: the PID we hold is the node's). Only those PIDs are
ever signalled."""
from __future__ import annotations

import json
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import netns


def in_namespace(name: str, fn, timeout: float = 120):
    """Runs fn() on a thread that has entered namespace `name`; returns its result."""
    box: dict = {}

    def body():
        try:
            netns.enter_namespace(name)
            box["value"] = fn()
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            box["error"] = error

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"{fn} in {name} did not finish within {timeout}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


class Node:
    def __init__(self, region: str, namespace: str, config: Path, binary: Path, logs: Path, key: str | None = None):
        # `key`: the node's name in the run (its region for a region's ordinal-0 node, else its
        # node id); `region`: the region it serves; `node_id`: its configuration's nodeId.
        self.key = key or region
        self.region, self.namespace, self.config, self.binary = region, namespace, config, binary
        document = json.loads(config.read_text())
        self.node_id = document.get("nodeId", f"{region}-a")
        self.host, port = document["listen"][0].rsplit(":", 1)
        self.port = int(port)
        self.endpoint = f"https://{self.host}:{self.port}"
        self.log = logs / f"{self.key}.log"
        self.proc: subprocess.Popen | None = None
        self.paused = False
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> int:
        assert not self.running
        self.starts += 1
        with open(self.log, "a") as log:
            log.write(f"--- start {self.starts}\n")
            log.flush()
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.namespace, str(self.binary), "serve", "--config", str(self.config)],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        self.paused = False
        return self.proc.pid

    def signal(self, sig: int) -> None:
        if self.running:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """kill -9 of the node's PID, and wait for it."""
        if self.running:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)
        self.paused = False

    def stop(self, timeout: float = 20) -> None:
        if not self.running:
            return
        if self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)

    def wait_ready(self, ca: str, timeout: float = 60) -> None:
        """Until the node completes a TLS handshake seen from the clients' namespace."""
        context = ssl.create_default_context(cafile=ca)
        deadline = time.monotonic() + timeout

        def probe():
            while time.monotonic() < deadline:
                if not self.running:
                    raise RuntimeError(f"{self.key}'s node exited with {self.proc.returncode}; see {self.log}")
                try:
                    with socket.create_connection((self.host, self.port), timeout=2) as raw:
                        with context.wrap_socket(raw, server_hostname=self.host):
                            return
                except (OSError, ssl.SSLError):
                    time.sleep(0.1)
            raise TimeoutError(f"{self.key}'s node did not serve TLS on {self.endpoint} within {timeout}s")

        in_namespace(netns.CLIENT_NS, probe, timeout + 10)


class Front(Node):
    """`strongroom front` in the clients' namespace, routing each request to its region's node
    by its SigV4 scope (the arguments `cluster init` wrote to front.json)."""

    def __init__(self, document: dict, binary: Path, logs: Path):
        self.region, self.namespace, self.binary = "front", netns.CLIENT_NS, binary
        self.arguments = document["arguments"]
        self.host, port = document["listen"].rsplit(":", 1)
        self.port = int(port)
        self.endpoint = f"https://{self.host}:{self.port}"
        self.log = logs / "front.log"
        self.proc = None
        self.paused = False
        self.starts = 0

    def start(self) -> int:
        assert not self.running
        self.starts += 1
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.namespace, str(self.binary), *self.arguments],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        return self.proc.pid


class ChaosCluster:
    def __init__(self, directory: Path, topology: netns.Topology, binary: Path):
        self.directory, self.topology, self.binary = directory, topology, binary
        self.nodes: dict[str, Node] = {}  # by key: every node (a region's ordinal-0 node under the region's name)
        self.mounts: list[Path] = []
        self.front: Front | None = None
        self.standbys, self.sync = 0, 0
        self.primary: dict[str, str] = {}  # region -> the key of the node last promoted (or its first primary)

    def provision(self, standbys: int = 0, sync: int = 0) -> None:
        """`strongroom cluster init` with every node on its own address (`--address NODE=IP` for
        each standby); with `standbys` N each region has N standbys, `sync` of them synchronous."""
        self.standbys, self.sync = standbys, sync
        args = [str(self.binary), "cluster", "init", "--dir", str(self.directory), "--regions", ",".join(self.topology.regions)]
        for member in self.topology.members:
            args += ["--address", f"{member}={self.topology.address[member]}"]
        if standbys:
            args += ["--standbys", str(standbys), "--sync-standbys", str(sync)]
        netns.sh(*args, timeout=120)
        logs = self.directory / "logs"
        logs.mkdir(exist_ok=True)
        for member in self.topology.members:
            region = self.topology.region_of(member)
            self.nodes[member] = Node(region, self.topology.namespace[member], self.directory / member / "config.json", self.binary, logs, key=member)
        self.primary = {r: r for r in self.topology.regions}
        iam = json.loads((self.directory / "iam.json").read_text())
        admin = next(p for p in iam["accounts"][0]["principals"] if p["name"] == "admin")
        self.account = iam["accounts"][0].get("accountId", "123456789012")
        self.access_key = admin["accessKeys"][0]["accessKeyId"]
        self.secret_key = admin["accessKeys"][0]["secretAccessKey"]
        self.ca = str(self.directory / "ca.pem")

    def set_journal(self, settings: dict) -> None:
        """Writes `settings` as every node's `journal` section (small snapshot thresholds and
        segments, so that a run compacts its logs): before the nodes start."""
        for node in self.nodes.values():
            document = json.loads(node.config.read_text())
            document["journal"] = settings
            node.config.write_text(json.dumps(document, indent=2) + "\n")

    def data_directory(self, region: str) -> Path:
        config = self.nodes[region].config
        return (config.parent / json.loads(config.read_text())["dataDirectory"]).resolve()

    def small_disk(self, region: str, mib: int = 128) -> Path:
        """Puts a region's data directory on a file system of its own (a tmpfs of `mib` MiB), so
        that the disk-full fault fills that node's disk and nobody else's. Before the node starts."""
        data = self.data_directory(region)
        keep = data.parent / (data.name + ".before-mount")
        if data.exists():
            data.rename(keep)
        data.mkdir(mode=0o700)
        netns.sh("mount", "-t", "tmpfs", "-o", f"size={mib}m,mode=0700", "strongroom-chaos", str(data))
        self.mounts.append(data)
        if keep.exists():
            for item in keep.iterdir():
                shutil.move(str(item), str(data / item.name))
            keep.rmdir()
        return data

    def unmount_all(self) -> None:
        for mount in reversed(self.mounts):
            netns.sh("umount", "-l", str(mount), check=False)
        self.mounts.clear()

    def start_all(self) -> None:
        for node in self.nodes.values():
            if not node.running:
                node.start()
        for node in self.nodes.values():
            node.wait_ready(self.ca)
        self.write_manifest()

    def start_front(self) -> str:
        """Starts the front in the clients' namespace; its endpoint there."""
        self.front = Front(json.loads((self.directory / "front.json").read_text()), self.binary, self.directory / "logs")
        self.front.start()
        self.front.wait_ready(self.ca)
        return self.front.endpoint

    def region_members(self, region: str) -> list[str]:
        """The keys of a region's nodes, its ordinal-0 node first."""
        return [k for k in self.topology.members if self.topology.region_of(k) == region]

    def by_node_id(self, node_id: str) -> str:
        return next(k for k, n in self.nodes.items() if n.node_id == node_id)

    def write_manifest(self) -> None:
        """DIR/cluster.json (`strongroom cluster manifest`) for the running nodes: what
        `strongroom promote --dir DIR` finds a node's endpoint, the CA and the admin in."""
        if not self.standbys:
            return
        pids = ",".join(f"{k}={n.proc.pid}" for k, n in self.nodes.items() if k in self.topology.regions and n.running)
        standby_pids = ",".join(f"{n.node_id}={n.proc.pid}" for k, n in self.nodes.items() if k not in self.topology.regions and n.running)
        args = [str(self.binary), "cluster", "manifest", "--dir", str(self.directory), "--pids", pids]
        if standby_pids:
            args += ["--standby-pids", standby_pids]
        netns.sh(*args, timeout=60)

    def stop_all(self) -> None:
        for node in self.nodes.values():
            node.stop()
        if self.front is not None:
            self.front.stop()

    def pids(self) -> list[int]:
        nodes = list(self.nodes.values()) + ([self.front] if self.front else [])
        return [n.proc.pid for n in nodes if n.running]
