"""cluster/drill on a real cluster (issue 19): under load, the region's primary is killed, the
standby furthest ahead promoted, the old primary started again; no acknowledged write is lost
with syncStandbys 1, the old primary comes back as a standby, and cluster/down still stops every
process, the restarted one included."""
import json
import os
import subprocess

import boto3
from botocore.config import Config

from conftest import BINARY, ROOT, start_cluster

REGIONS = ["us-east-1", "eu-west-1"]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def status(manifest: dict, node: dict) -> dict:
    admin = next(p for p in manifest["accounts"][0]["principals"] if p["name"] == "admin")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=admin["accessKeyId"], AWS_SECRET_ACCESS_KEY=admin["secretAccessKey"])
    out = subprocess.run([str(BINARY), "status", "--endpoint", node["endpoint"], "--ca-bundle", manifest["caBundle"],
                          "--region", node["region"], "--json"], capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def client(manifest: dict, node: dict):
    admin = next(p for p in manifest["accounts"][0]["principals"] if p["name"] == "admin")
    return boto3.client("secretsmanager", endpoint_url=node["endpoint"], region_name=node["region"], verify=manifest["caBundle"],
                        aws_access_key_id=admin["accessKeyId"], aws_secret_access_key=admin["secretAccessKey"],
                        config=Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=30))


def drill(directory, *options) -> subprocess.CompletedProcess:
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    return subprocess.run([str(ROOT / "cluster" / "drill"), "--dir", str(directory), "--json", *options],
                          capture_output=True, text=True, env=env, timeout=240)


def test_drill_kills_the_primary_promotes_a_standby_and_loses_no_acknowledged_write(binary, tmp_path):
    running = start_cluster(tmp_path / "c", regions=REGIONS, standbys=2, sync_standbys=1)
    try:
        run = drill(running.directory, "--fault", "kill", "--seconds", "9")
        assert run.returncode == 0, f"cluster/drill failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
        report = json.loads(run.stdout)
        region = report["region"]
        assert region == running.manifest["nodes"][0]["region"]  # the first region with standbys
        assert report["ok"] and report["failures"] == []
        assert report["syncStandbys"] == 1 and report["rpo"] == 0 and report["missing"] == 0
        assert report["writesAcknowledged"] > 0 and report["rtoSeconds"] is not None
        assert report["oldPrimaryRole"] == "standby"
        assert report["promoted"] in report["standbys"] and report["promoted"] != report["oldPrimary"]

        # cluster.json names the restarted old primary's new process, which runs as a standby;
        # the promoted node is the region's primary.
        manifest = json.loads((running.directory / "cluster.json").read_text())
        everyone = {n["id"]: n for n in manifest["nodes"] + manifest["standbys"]}
        old = everyone[report["oldPrimary"]]
        assert old["pid"] == report["oldPrimaryNewPid"] != report["oldPrimaryPid"] and alive(old["pid"])
        assert not alive(report["oldPrimaryPid"])
        assert status(manifest, old)["role"] == "standby"
        assert status(manifest, everyone[report["promoted"]])["role"] == "primary"

        # The cluster stays usable: a write through the old primary (forwarded) lands.
        at_old, at_new = client(manifest, old), client(manifest, everyone[report["promoted"]])
        created = at_old.create_secret(Name="after/drill", SecretString="still here")
        assert at_new.get_secret_value(SecretId="after/drill")["VersionId"] == created["VersionId"]
        # The drill's own secrets are gone.
        assert not [s for s in at_new.list_secrets()["SecretList"] if s["Name"].startswith("drill/")]
    finally:
        manifest = json.loads((running.directory / "cluster.json").read_text())
        pids = [n["pid"] for n in manifest["nodes"] + manifest["standbys"]] + [manifest["frontPid"]]
        down = running.down()
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(alive(p) for p in pids)


def test_drill_refuses_a_region_without_standbys(binary, tmp_path):
    running = start_cluster(tmp_path / "c", regions=["us-east-1"])
    try:
        run = drill(running.directory)
        assert run.returncode == 1
        assert "no region" in run.stderr and "has standbys" in run.stderr and "--standbys" in run.stderr
        assert all(alive(p) for p in running.pids())  # nothing was faulted
    finally:
        down = running.down()
    assert down.returncode == 0, down.stderr
