"""cluster/up --standbys N: every region's node and its N standbys run and answer, each on its own
endpoint as cluster.json lists it; cluster/down stops them all. What a standby does (follows its
primary, serves reads, forwards writes, synchronous standbys) is test_standbys.py's."""
import json
import os
import subprocess

import boto3
from botocore.config import Config

from conftest import BINARY, ROOT, start_cluster

REGIONS = ["us-east-1", "eu-west-1"]


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def client(manifest: dict, node: dict):
    admin = next(p for p in manifest["accounts"][0]["principals"] if p["name"] == "admin")
    return boto3.client("secretsmanager", endpoint_url=node["endpoint"], region_name=node["region"],
                        aws_access_key_id=admin["accessKeyId"], aws_secret_access_key=admin["secretAccessKey"],
                        verify=manifest["caBundle"], config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def up(directory, *options) -> subprocess.CompletedProcess:
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    return subprocess.run([str(ROOT / "cluster" / "up"), "--no-build", "--dir", str(directory), *options],
                          capture_output=True, text=True, env=env, timeout=300)


def test_up_with_a_standby_per_region_starts_them_all_and_down_stops_them(binary, tmp_path):
    running = start_cluster(tmp_path / "c", regions=REGIONS, standbys=1, sync_standbys=1)
    try:
        m = running.manifest
        assert sorted(n["id"] for n in m["nodes"]) == sorted(f"{r}-a" for r in REGIONS)
        standbys = m["standbys"]
        assert [(s["id"], s["region"], s["ordinal"]) for s in standbys] == [(f"{r}-b", r, 1) for r in sorted(REGIONS)]
        everyone = m["nodes"] + standbys
        assert len(everyone) == 2 * len(REGIONS)
        endpoints = [n["endpoint"] for n in everyone]
        assert len(set(endpoints)) == len(endpoints) and all(e.startswith("https://127.0.0.1:") for e in endpoints)
        for s in standbys:
            assert s["dataDir"] == str(running.directory / s["id"] / "data") and os.path.isdir(s["dataDir"])
            config = json.loads((running.directory / s["id"] / "config.json").read_text())
            assert config["nodeId"] == s["id"] and config["replication"]["syncStandbys"] == 1
            assert [n["nodeId"] for n in config["replication"]["regionNodes"]] == [s["region"] + "-a", s["id"]]
        # Every node answers a signed call on its own endpoint.
        for node in everyone:
            assert alive(node["pid"])
            assert "SecretList" in client(m, node).list_secrets(), node["id"]
        # The banner lists the standbys.
        assert all(s["id"] in running.up_output for s in standbys)
        show = subprocess.run([str(BINARY), "cluster", "show", "--dir", str(running.directory)], capture_output=True, text=True)
        assert show.returncode == 0 and all(f"(standby in {s['region']}, ordinal 1)" in show.stdout for s in standbys)
        # A different standby count for this directory is refused, and starts nothing.
        other = up(running.directory, "--standbys", "2")
        assert other.returncode == 1 and "was made with --standbys 1" in other.stderr and "not 2" in other.stderr
        # Asking for what it holds says it is running.
        same = up(running.directory, "--standbys", "1")
        assert same.returncode == 0 and "already running (5 processes)" in same.stdout
    finally:
        pids = running.pids()
        down = running.down()
    assert down.returncode == 0, down.stderr
    assert len(pids) == 5 and all(not alive(p) for p in pids)
    assert down.stdout.count(": stopped") == 5
    assert not (running.directory / "cluster.json").exists()
