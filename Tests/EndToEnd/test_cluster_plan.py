"""`strongroom cluster plan --spec`: bundles for nodes on their own hosts (issue 23). The nodes of
the test listen on their own loopback addresses (127.0.0.2, .3, .4), each started from a copy of
its bundle alone, and replicate: a region's standby acknowledges every write (syncStandbys 1)
and a replica region serves the value."""
import json
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time

import boto3
import pytest
from botocore.config import Config

from conftest import BINARY, free_port


def run(args, timeout=60):
    return subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def wait_tls(host, port, ca, proc, timeout=60):
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"strongroom exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=2) as raw:
                with context.wrap_socket(raw, server_hostname=host):
                    return
        except (OSError, ssl.SSLError):
            time.sleep(0.1)
    raise TimeoutError(f"nothing serves TLS on {host}:{port}")


def spec_of(ports):
    return {"regions": [
        {"name": "us-east-1", "syncStandbys": 1, "nodes": [
            {"id": "use1-a", "address": "127.0.0.2", "hosts": ["use1-a.secrets.test"], "apiPort": ports[0], "replicationPort": ports[1]},
            {"id": "use1-b", "address": "127.0.0.3", "apiPort": ports[2], "replicationPort": ports[3]}]},
        {"name": "eu-west-1", "nodes": [
            {"id": "euw1-a", "address": "127.0.0.4", "apiPort": ports[4], "replicationPort": ports[5]}]},
    ]}


def test_a_planned_cluster_runs_from_its_bundles(tmp_path):
    ports = [free_port() for _ in range(6)]
    (tmp_path / "spec.json").write_text(json.dumps(spec_of(ports)))
    plan = tmp_path / "plan"
    result = run(["cluster", "plan", "--spec", tmp_path / "spec.json", "--out", plan])
    assert result.returncode == 0, result.stderr
    assert (plan / "ca" / "ca.key").exists()
    for node in ("use1-a", "use1-b", "euw1-a"):
        bundle = plan / node
        assert sorted(p.name for p in bundle.iterdir()) == ["ca.pem", "config.json", "iam.json", "keyring.json", "node.key", "node.pem"]
        for secret in ("node.key", "iam.json", "keyring.json", "config.json"):
            assert stat.S_IMODE((bundle / secret).stat().st_mode) == 0o600, (node, secret)
        config = json.loads((bundle / "config.json").read_text())
        assert "127.0.0.1" not in json.dumps(config), "nothing assumes 127.0.0.1"
        assert "eventLoops" not in config
        assert config["tls"] == {"certificate": "node.pem", "privateKey": "node.key", "ca": "ca.pem"}
    assert (plan / "use1-a" / "keyring.json").read_bytes() == (plan / "use1-b" / "keyring.json").read_bytes()
    assert (plan / "use1-a" / "keyring.json").read_bytes() != (plan / "euw1-a" / "keyring.json").read_bytes()
    text = subprocess.run(["openssl", "x509", "-in", plan / "use1-a" / "node.pem", "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "IP Address:127.0.0.2" in text and "DNS:use1-a.secrets.test" in text and "127.0.0.1" not in text
    assert "URI:spiffe://strongroom/region/us-east-1/node/use1-a" in text

    # Each "host" gets its bundle and nothing else.
    hosts = tmp_path / "hosts"
    processes = {}
    try:
        for node in ("use1-a", "use1-b", "euw1-a"):
            shutil.copytree(plan / node, hosts / node)
            processes[node] = subprocess.Popen([str(BINARY), "serve", "--config", "config.json"], cwd=hosts / node,
                                               stdout=open(tmp_path / f"{node}.log", "w"), stderr=subprocess.STDOUT)
        addresses = {"use1-a": ("127.0.0.2", ports[0]), "use1-b": ("127.0.0.3", ports[2]), "euw1-a": ("127.0.0.4", ports[4])}
        for node, (host, port) in addresses.items():
            wait_tls(host, port, plan / "ca" / "ca.pem", processes[node])
        credentials = json.loads((plan / "credentials.json").read_text())
        admin = next(p for p in credentials["accounts"][0]["principals"] if p["name"] == "admin")

        def client(node, region):
            host, port = addresses[node]
            return boto3.client("secretsmanager", endpoint_url=f"https://{host}:{port}", region_name=region,
                                aws_access_key_id=admin["accessKeyId"], aws_secret_access_key=admin["secretAccessKey"],
                                verify=str(plan / "ca" / "ca.pem"), config=Config(retries={"max_attempts": 8, "mode": "standard"}))

        primary = client("use1-a", "us-east-1")
        # A write is acknowledged only once the standby has it (syncStandbys 1): this one proves
        # the region's link between two hosts.
        primary.create_secret(Name="planned/db", SecretString="from-the-plan", AddReplicaRegions=[{"Region": "eu-west-1"}])
        primary.put_secret_value(SecretId="planned/db", SecretString="second")
        replica = client("euw1-a", "eu-west-1")
        deadline = time.monotonic() + 30
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = replica.get_secret_value(SecretId="planned/db")["SecretString"]
                if seen == "second":
                    break
            except replica.exceptions.ResourceNotFoundException:
                pass
            time.sleep(0.2)
        assert seen == "second"
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.mark.parametrize("change, message", [
    (lambda s: s["regions"][0]["nodes"][1].update(id="use1-a"), "regions[0].nodes[1]: node id use1-a is used twice"),
    (lambda s: s["regions"][0]["nodes"][0].update(address="use1-a.example"), "regions[0].nodes[0].address must be the IP address"),
    (lambda s: s["regions"][1]["nodes"][0].update(apiPort=s["regions"][0]["nodes"][0]["apiPort"], address="127.0.0.2"),
     "is used by another node"),
    (lambda s: s["regions"][0].update(syncStandbys=2), "regions[0].syncStandbys must be a whole number from 0 to 1"),
    (lambda s: s["regions"][1].update(name="Europe"), "regions[1].name must look like an AWS region name"),
    (lambda s: s["regions"][0]["nodes"][0].update(hosts=["bad host"]), "regions[0].nodes[0].hosts: 'bad host' is neither"),
    (lambda s: s.update(extra=1), "unknown member 'extra'"),
])
def test_a_spec_it_cannot_plan_is_refused_by_place(tmp_path, change, message):
    spec = spec_of([7000 + n for n in range(6)])
    change(spec)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = run(["cluster", "plan", "--spec", tmp_path / "spec.json", "--out", tmp_path / "plan"])
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert not (tmp_path / "plan").exists()
