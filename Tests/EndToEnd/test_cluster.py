"""The local multi-region cluster: cluster/up starts a node per region, cluster/down stops them."""
import json
import os
import subprocess

from conftest import BINARY, ROOT, start_cluster


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_manifest_shape(cluster):
    m = cluster.manifest
    assert set(m) == {"caBundle", "accounts", "front", "nodes", "frontPid", "standbys"}
    assert m["standbys"] == []
    assert cluster.regions == sorted(["us-east-1", "eu-west-1", "ap-southeast-2"])
    for node in m["nodes"]:
        assert node["id"] == node["region"] + "-a" and node["ordinal"] == 0
        assert node["endpoint"].startswith("https://127.0.0.1:")
        assert node["replication"].startswith("127.0.0.1:")
        assert os.path.isabs(node["dataDir"]) and os.path.isdir(node["dataDir"])
        assert alive(node["pid"])
    assert [a["accountId"] for a in m["accounts"]] == ["123456789012", "111122223333"]
    assert "export AWS_ACCESS_KEY_ID=" in cluster.up_output


def test_every_node_answers_in_its_region(cluster):
    for region in cluster.regions:
        c = cluster.client(region)
        name = f"smoke-{region}"
        c.create_secret(Name=name, SecretString="v")
        names = [s["Name"] for s in c.list_secrets()["SecretList"]]
        assert name in names
        assert c.get_secret_value(SecretId=name)["ARN"].startswith(f"arn:aws:secretsmanager:{region}:123456789012:secret:")


def test_up_again_says_it_is_running(cluster):
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    up = subprocess.run([str(ROOT / "cluster" / "up"), "--no-build", "--dir", str(cluster.directory)],
                        capture_output=True, text=True, env=env, timeout=60)
    assert up.returncode == 0, up.stderr
    assert "already running" in up.stdout
    assert all(alive(pid) for pid in cluster.pids())


def test_down_stops_every_pid(binary, tmp_path):
    running = start_cluster(tmp_path / "c", regions=["us-east-1", "eu-west-1"])
    pids = running.pids()
    assert len(pids) >= 2 and all(alive(p) for p in pids)
    down = running.down()
    assert down.returncode == 0, down.stderr
    assert all(not alive(p) for p in pids)
    assert down.stdout.count(": stopped") == len(pids)
    assert not (running.directory / "cluster.json").exists()
    again = running.down()
    assert again.returncode != 0 and "cluster.json is missing" in again.stderr
    # The cluster's files stay: up starts it again on the same data.
    restarted = start_cluster(running.directory)
    try:
        c = restarted.client("us-east-1")
        c.list_secrets()
    finally:
        assert restarted.down().returncode == 0


def test_up_without_standby_options_gives_each_region_a_synchronous_standby(binary, tmp_path):
    """The README's first command: a new cluster has a primary and one synchronous standby per
    region, so `strongroom promote` and cluster/drill work on it as it is."""
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    directory = tmp_path / "c"
    up = subprocess.run([str(ROOT / "cluster" / "up"), "--no-build", "--dir", str(directory), "--regions", "us-east-1"],
                        capture_output=True, text=True, env=env, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        m = json.loads((directory / "cluster.json").read_text())
        assert [(s["id"], s["region"], s["ordinal"]) for s in m["standbys"]] == [("us-east-1-b", "us-east-1", 1)]
        config = json.loads((directory / "us-east-1-b" / "config.json").read_text())
        assert config["replication"]["syncStandbys"] == 1
        assert all(alive(n["pid"]) for n in m["nodes"] + m["standbys"])
    finally:
        down = subprocess.run([str(ROOT / "cluster" / "down"), "--dir", str(directory)], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
