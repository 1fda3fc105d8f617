"""Promotion with fencing on real processes (issue 19): `strongroom promote --node ID` makes a
standby its region's primary at a new epoch; the region's other nodes follow it, writes sent to
any of them reach it, other regions follow it, and an old primary that returns is fenced, sets
its divergent records aside in its quarantine directory and rejoins as a standby. With
syncStandbys 1, no write a client saw acknowledged is lost, and an old primary cut off during
the promotion acknowledges nothing."""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError, SSLError

from conftest import BINARY, restartable_cluster
from test_standbys import client, eventually, status

REGIONS = ["us-east-1", "eu-west-1"]


def node(cluster, node_id: str) -> dict:
    return next(n for n in cluster.manifest["nodes"] + cluster.manifest["standbys"] if n["id"] == node_id)


def promote(cluster, node_id: str, *flags: str, principal: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if principal:
        env.update(AWS_ACCESS_KEY_ID=principal["accessKeyId"], AWS_SECRET_ACCESS_KEY=principal["secretAccessKey"])
    return subprocess.run([str(BINARY), "promote", "--node", node_id, "--dir", str(cluster.directory), *flags],
                          capture_output=True, text=True, env=env, timeout=60)


def restart(cluster, node_id: str) -> subprocess.Popen:
    """Starts a killed node again as cluster/up does; stopped by the fixture."""
    entry = node(cluster, node_id)
    config = os.path.join(os.path.dirname(entry["dataDir"]), "config.json")
    log = open(os.path.join(os.path.dirname(entry["dataDir"]), "node.log"), "ab")
    proc = subprocess.Popen([str(BINARY), "serve", "--config", config], stdout=log, stderr=log)
    cluster.extra.append(proc)
    return proc


def write_until_acknowledged(sm, secret_id: str, value: str, seconds: float = 20.0) -> str:
    """PutSecretValue, retried while the region changes primary; the acknowledged VersionId."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return sm.put_secret_value(SecretId=secret_id, SecretString=value)["VersionId"]
        except (ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError, SSLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def region_of_three(binary, tmp_path):
    """Two regions, each a primary and two standbys, syncStandbys 1."""
    with restartable_cluster(tmp_path / "c", regions=REGIONS, standbys=2, sync_standbys=1) as running:
        try:
            yield running
        finally:
            # A node a test left frozen must run again to stop.
            for entry in running.manifest["nodes"] + running.manifest["standbys"]:
                try:
                    os.kill(entry["pid"], signal.SIGCONT)
                except ProcessLookupError:
                    pass


def test_promote_after_the_primary_is_killed_keeps_every_acknowledged_write_and_the_old_primary_rejoins(region_of_three):
    c = region_of_three
    m = c.manifest
    a, b, s = node(c, "us-east-1-a"), node(c, "us-east-1-b"), node(c, "us-east-1-c")
    name = f"promote/{uuid.uuid4()}"
    primary = client(m, a)
    primary.create_secret(Name=name, SecretString="v0", AddReplicaRegions=[{"Region": "eu-west-1"}])
    acknowledged = [primary.put_secret_value(SecretId=name, SecretString=f"v{i}")["VersionId"] for i in range(1, 6)]

    os.kill(a["pid"], signal.SIGKILL)
    # Only the cluster's admins may promote: the reader is refused, and nothing changes.
    reader = next(p for p in m["accounts"][0]["principals"] if p["name"] == "reader")
    denied = promote(c, "us-east-1-b", principal=reader)
    assert denied.returncode == 1 and "AccessDenied" in denied.stderr, denied.stderr
    assert status(m, b)["role"] == "standby"
    began = time.monotonic()
    out = promote(c, "us-east-1-b", "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["NodeId"] == "us-east-1-b" and answer["Epoch"] == 2 and answer["PreviousEpoch"] == 1 and answer["MayLose"] is None
    assert [r["NodeId"] for r in answer["Reached"]] == ["us-east-1-c"] and len(answer["NotReached"]) == 1

    # A write sent to the other standby is forwarded to the new primary and acknowledged.
    after = write_until_acknowledged(client(m, s), name, "after-promotion")
    rto = time.monotonic() - began
    assert rto < 10, rto
    new_primary = client(m, b)
    for version in acknowledged + [after]:
        new_primary.get_secret_value(SecretId=name, VersionId=version)
    assert new_primary.get_secret_value(SecretId=name)["SecretString"] == "after-promotion"
    st = status(m, b)
    assert st["role"] == "primary" and st["epoch"] == 2 and st["epochHistory"].startswith("1@1 2@")

    # The front, whose first route for the region is the dead node, reaches another of its nodes.
    through_front = write_until_acknowledged(c.client("us-east-1", via_front=True), name, "via-front")
    assert new_primary.get_secret_value(SecretId=name)["VersionId"] == through_front
    after = through_front

    # The other region follows the new primary.
    eventually(lambda: assert_value(client(m, node(c, "eu-west-1-a")), name, "via-front"), 30)

    # The old primary returns: it learns of epoch 2, and follows the new primary as a standby.
    restart(c, "us-east-1-a")
    eventually(lambda: check_standby_following(m, a, "us-east-1-b"), 30)
    eventually(lambda: assert_value(client(m, a), name, "via-front"), 20)
    # A write sent to it now is forwarded to the new primary.
    again = write_until_acknowledged(client(m, a), name, "through-the-old-primary")
    assert new_primary.get_secret_value(SecretId=name)["VersionId"] == again
    # The promotion is in the promoted node's audit trail, with who asked.
    audit = subprocess.run([str(BINARY), "audit", "query", "--dir", b["dataDir"], "--event", "PromoteNode"],
                           capture_output=True, text=True, timeout=30)
    assert audit.returncode == 0, audit.stderr
    rows = [line for line in audit.stdout.splitlines() if "PromoteNode" in line]
    assert any("user/admin" in line and " OK " in line for line in rows), audit.stdout
    assert any("user/reader" in line for line in rows), audit.stdout


def assert_value(sm, secret_id: str, value: str):
    assert sm.get_secret_value(SecretId=secret_id)["SecretString"] == value


def assert_following(manifest, entry, primary_id: str):
    st = status(manifest, entry)
    assert st["following"] and st["following"]["primary"].startswith(primary_id), st["following"]


def assert_role(manifest, entry, role: str):
    assert status(manifest, entry)["role"] == role


def check_standby_following(manifest, entry, primary_id: str):
    st = status(manifest, entry)
    assert st["role"] == "standby", st["role"]
    assert st["following"]["primary"].startswith(primary_id) and st["following"]["link"] == "connected", st["following"]


def test_promote_refuses_a_standby_behind_another_and_force_says_what_is_lost_and_the_other_sets_it_aside(region_of_three):
    c = region_of_three
    m = c.manifest
    a, b, s = node(c, "us-east-1-a"), node(c, "us-east-1-b"), node(c, "us-east-1-c")
    name = f"ahead/{uuid.uuid4()}"
    client(m, a).create_secret(Name=name, SecretString="v0")
    eventually(lambda: assert_value(client(m, b), name, "v0"))
    # b is down while the next write is acknowledged with c's copy alone; then the primary is
    # lost, and b comes back behind c.
    os.kill(b["pid"], signal.SIGKILL)
    only_on_c = client(m, a).put_secret_value(SecretId=name, SecretString="only-on-c")["VersionId"]
    os.kill(a["pid"], signal.SIGKILL)
    restart(c, "us-east-1-b")
    eventually(lambda: status(m, b))

    refused = promote(c, "us-east-1-b")
    assert refused.returncode == 1
    assert "us-east-1-c is further ahead" in refused.stderr and "--force" in refused.stderr, refused.stderr
    # The refusal fenced the region with b's epoch (the old primary can no longer commit
    # anything): b stays a standby that takes no more records, and may be promoted again.
    eventually(lambda: assert_role(m, b, "standby"))
    # c, fenced with b's epoch, restarts to follow b (its owner): wait until it has, as an
    # operator would before forcing, or the forced promotion would not reach it.
    eventually(lambda: assert_following(m, s, "us-east-1-b"), 30)

    forced = promote(c, "us-east-1-b", "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    answer = json.loads(forced.stdout)
    assert answer["MayLose"] and "us-east-1-c is further ahead" in answer["MayLose"]
    epoch = answer["Epoch"]
    assert epoch > 2 and (epoch - 1) % 16 == 1  # b's own epoch (ordinal 1), above the one it fenced with first

    # c held a record b never had: it sets it aside and follows b.
    eventually(lambda: check_standby_following(m, s, "us-east-1-b"), 30)
    quarantine = os.path.join(s["dataDir"], "quarantine")
    files = os.listdir(quarantine)
    assert len(files) == 1 and files[0].endswith(".records"), files
    dump = subprocess.run([str(BINARY), "journal", "dump", "--dir", s["dataDir"], "--quarantine"], capture_output=True, text=True)
    assert dump.returncode == 0, dump.stderr
    assert files[0] in dump.stdout and "epoch=1" in dump.stdout
    # What was set aside is never served: the version is gone from the region, as --force said.
    with pytest.raises(ClientError) as missing:
        client(m, s).get_secret_value(SecretId=name, VersionId=only_on_c)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    write_until_acknowledged(client(m, s), name, "after-force")
    assert client(m, b).get_secret_value(SecretId=name)["SecretString"] == "after-force"


def test_an_old_primary_cut_off_during_the_promotion_acknowledges_nothing_and_rejoins(region_of_three):
    c = region_of_three
    m = c.manifest
    a, b = node(c, "us-east-1-a"), node(c, "us-east-1-b")
    name = f"frozen/{uuid.uuid4()}"
    client(m, a).create_secret(Name=name, SecretString="v0")
    # The primary is frozen (cut off from everyone), and b is promoted without it.
    os.kill(a["pid"], signal.SIGSTOP)
    try:
        out = promote(c, "us-east-1-b", "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["Epoch"] == 2
        acknowledged = write_until_acknowledged(client(m, b), name, "on-b")
    finally:
        os.kill(a["pid"], signal.SIGCONT)
    # Straight after it thaws, the old primary may still believe it is primary: a write sent to
    # it then is not acknowledged (no standby takes its records); once it heard of epoch 2 it
    # forwards the write to b. Either way, whatever a client saw acknowledged is on b.
    from botocore.config import Config
    admin = next(p for p in m["accounts"][0]["principals"] if p["name"] == "admin")
    import boto3
    once = boto3.client("secretsmanager", endpoint_url=a["endpoint"], region_name="us-east-1",
                        aws_access_key_id=admin["accessKeyId"], aws_secret_access_key=admin["secretAccessKey"],
                        verify=m["caBundle"], config=Config(retries={"total_max_attempts": 1}, read_timeout=60))
    stale = None
    try:
        stale = once.put_secret_value(SecretId=name, SecretString="stale")["VersionId"]
    except (ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError, SSLError) as error:
        if isinstance(error, ClientError):
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] >= 500, error.response
    eventually(lambda: check_standby_following(m, a, "us-east-1-b"), 40)
    versions = {v["VersionId"] for v in client(m, b).list_secret_version_ids(SecretId=name)["Versions"]}
    assert acknowledged in versions
    if stale is not None:
        assert stale in versions, "a write was acknowledged by the fenced old primary and is not on the new one"
    assert client(m, a).get_secret_value(SecretId=name)["VersionId"] == client(m, b).get_secret_value(SecretId=name)["VersionId"]
