"""Replication on a real three-region cluster (cluster/up): us-east-1 writes, eu-west-1 and
ap-southeast-2 serve their copies, over mutual TLS between real `strongroom` processes."""
import base64
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BINARY, wait_for_tls

PRIMARY, EU, AP = "us-east-1", "eu-west-1", "ap-southeast-2"
REPLICA_WRITE = "Operation not permitted on a replica secret. Call must be made in primary secret's region."


class Raw:
    """Captures each answer's raw body bytes (botocore's after-call event)."""

    def __init__(self, client):
        self.client = client
        self.last = None
        client.meta.events.register("after-call.secretsmanager", self._capture)

    def _capture(self, http_response, **_):
        self.last = http_response.content

    def call(self, operation, **kwargs):
        getattr(self.client, operation)(**kwargs)
        return self.last


def as_region(body: bytes, region: str) -> bytes:
    """The primary's answer as the replica region must give it: ARNs in that region, no
    ReplicationStatus (the one member that differs, as in AWS)."""
    text = body.decode()
    text = re.sub(r',"ReplicationStatus":\[[^\]]*\]', "", text)
    return text.replace(f"arn:aws:secretsmanager:{PRIMARY}:", f"arn:aws:secretsmanager:{region}:").encode()


def eventually(check, timeout=20.0, interval=0.1):
    """Retries `check` until it returns without an AssertionError or ClientError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, ClientError):
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


def version_ids(client, name):
    out = client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return sorted(v["VersionId"] for v in out)


def workload(us):
    """Creates, puts, label moves, tag and policy changes in us-east-1."""
    both = [{"Region": EU}, {"Region": AP}]
    us.create_secret(Name="app/db", SecretString='{"user":"app","password":"p0"}', Description="db",
                     Tags=[{"Key": "team", "Value": "payments"}], AddReplicaRegions=both)
    us.create_secret(Name="app/api-key", SecretBinary=b"\x00\x01binary", AddReplicaRegions=both)
    us.create_secret(Name="eu-only/token", SecretString="eu-only-value-5b1f", AddReplicaRegions=[{"Region": EU}])
    us.create_secret(Name="local/never-leaves-7c2e", SecretString="local-value-9d4a")
    us.create_secret(Name="later/added", SecretString="first")
    for i in range(1, 6):
        us.put_secret_value(SecretId="app/db", SecretString=f'{{"user":"app","password":"p{i}"}}')
    us.put_secret_value(SecretId="app/db", SecretString="staged", VersionStages=["AWSPENDING"])
    pending = [v for v in us.list_secret_version_ids(SecretId="app/db")["Versions"] if "AWSPENDING" in v["VersionStages"]][0]
    current = [v for v in us.list_secret_version_ids(SecretId="app/db")["Versions"] if "AWSCURRENT" in v["VersionStages"]][0]
    us.update_secret_version_stage(SecretId="app/db", VersionStage="blue", MoveToVersionId=current["VersionId"])
    us.update_secret_version_stage(SecretId="app/db", VersionStage="AWSCURRENT", MoveToVersionId=pending["VersionId"],
                                   RemoveFromVersionId=current["VersionId"])
    us.tag_resource(SecretId="app/db", Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "core"}])
    us.untag_resource(SecretId="app/api-key", TagKeys=["nothing"])
    us.tag_resource(SecretId="app/api-key", Tags=[{"Key": "k", "Value": "v"}])
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    us.put_resource_policy(SecretId="app/db", ResourcePolicy=policy)
    us.update_secret(SecretId="app/api-key", Description="rotated by hand")
    us.put_secret_value(SecretId="eu-only/token", SecretString="eu-only-value-2")
    # Replicated after it was written to: the copy carries its whole history.
    us.put_secret_value(SecretId="later/added", SecretString="second")
    us.replicate_secret_to_regions(SecretId="later/added", AddReplicaRegions=[{"Region": AP}])


@pytest.fixture(scope="module")
def replicated(cluster):
    us = cluster.client(PRIMARY)
    workload(us)
    expected = {EU: ["app/db", "app/api-key", "eu-only/token"], AP: ["app/db", "app/api-key", "later/added"]}

    def all_in_sync():
        for name in ["app/db", "app/api-key", "eu-only/token", "later/added"]:
            for status in us.describe_secret(SecretId=name).get("ReplicationStatus", []):
                assert status["Status"] == "InSync", (name, status)
    eventually(all_in_sync)
    return cluster, expected


def test_replicas_answer_byte_for_byte_as_the_primary(replicated):
    cluster, expected = replicated
    us = Raw(cluster.client(PRIMARY))
    # LastAccessedDate is each region's own (a day, as AWS reports it), the secret's and each
    # version's: read every version everywhere first.
    for region, names in expected.items():
        for name in names:
            eventually(lambda: cluster.client(region).get_secret_value(SecretId=name))
            cluster.client(PRIMARY).get_secret_value(SecretId=name)
            for version in version_ids(cluster.client(PRIMARY), name):
                eventually(lambda: cluster.client(region).get_secret_value(SecretId=name, VersionId=version))
                cluster.client(PRIMARY).get_secret_value(SecretId=name, VersionId=version)
    for region, names in expected.items():
        replica = Raw(cluster.client(region))
        for name in names:
            def same(operation, **kwargs):
                want = as_region(us.call(operation, **kwargs), region)
                assert replica.call(operation, **kwargs) == want, (region, operation, kwargs)
            eventually(lambda: same("describe_secret", SecretId=name))
            eventually(lambda: same("list_secret_version_ids", SecretId=name, IncludeDeprecated=True))
            same("get_secret_value", SecretId=name)
            for version in version_ids(cluster.client(PRIMARY), name):
                same("get_secret_value", SecretId=name, VersionId=version)
            same("get_resource_policy", SecretId=name)


def test_describe_shows_primary_region_and_replication_status(replicated):
    cluster, _ = replicated
    us, eu = cluster.client(PRIMARY), cluster.client(EU)
    primary = us.describe_secret(SecretId="app/db")
    assert primary["PrimaryRegion"] == PRIMARY
    assert sorted((s["Region"], s["Status"], s["StatusMessage"], s["KmsKeyId"]) for s in primary["ReplicationStatus"]) == [
        (AP, "InSync", "Replication succeeded", "alias/aws/secretsmanager"),
        (EU, "InSync", "Replication succeeded", "alias/aws/secretsmanager")]
    copy = eu.describe_secret(SecretId="app/db")
    assert copy["PrimaryRegion"] == PRIMARY
    assert copy["ARN"] == primary["ARN"].replace(PRIMARY, EU)
    listed = {s["Name"]: s for s in us.list_secrets()["SecretList"]}
    # ListSecrets entries carry PrimaryRegion, not ReplicationStatus (AWS's SecretListEntry).
    assert listed["app/db"]["PrimaryRegion"] == PRIMARY and "ReplicationStatus" not in listed["app/db"]
    assert "PrimaryRegion" not in listed["local/never-leaves-7c2e"]
    # ListSecrets' primary-region filter finds a replica by the region it is copied from.
    def by_primary(client, region):
        return {s["Name"] for s in client.list_secrets(Filters=[{"Key": "primary-region", "Values": [region]}])["SecretList"]}
    assert {"app/db", "eu-only/token"} <= by_primary(eu, PRIMARY)
    assert "app/db" not in by_primary(eu, EU)
    # The replica's own key wraps its copies: reading them needs only eu-west-1's keyring.
    assert eu.get_secret_value(SecretId=copy["ARN"])["SecretString"] == "staged"


def test_a_replica_regions_reads_show_as_its_last_accessed_date_on_the_primary(replicated):
    cluster, _ = replicated
    us, eu = cluster.client(PRIMARY), cluster.client(EU)
    us.create_secret(Name="read/in-eu", SecretString="x", AddReplicaRegions=[{"Region": EU}, {"Region": AP}])
    us.get_secret_value(SecretId="read/in-eu")

    def in_sync():
        statuses = us.describe_secret(SecretId="read/in-eu")["ReplicationStatus"]
        assert [s["Status"] for s in statuses] == ["InSync", "InSync"], statuses
        return statuses
    # Read in us-east-1 only: no replica region has a LastAccessedDate (AWS omits it).
    assert all("LastAccessedDate" not in s for s in eventually(in_sync))
    assert "LastAccessedDate" not in eu.describe_secret(SecretId="read/in-eu")
    eu.get_secret_value(SecretId="read/in-eu")
    # The read logs its day without waiting for it (as AWS, LastAccessedDate is not immediate).
    def accessed():
        described = eu.describe_secret(SecretId="read/in-eu")
        assert "LastAccessedDate" in described, described
        return described["LastAccessedDate"]
    day = eventually(accessed)

    def reported():
        statuses = {s["Region"]: s for s in us.describe_secret(SecretId="read/in-eu")["ReplicationStatus"]}
        assert statuses[EU].get("LastAccessedDate") == day, statuses
        assert "LastAccessedDate" not in statuses[AP], statuses
    eventually(reported)
    # A status report is not a change of the secret: LastChangedDate stays, in both regions.
    assert us.describe_secret(SecretId="read/in-eu")["LastChangedDate"] == eu.describe_secret(SecretId="read/in-eu")["LastChangedDate"]


def test_a_secret_not_replicated_to_a_region_never_reaches_its_disk(replicated):
    cluster, _ = replicated

    def disk_holds(region, needle: bytes) -> bool:
        for root, _, files in os.walk(cluster.node(region)["dataDir"]):
            for file in files:
                if needle in Path(root, file).read_bytes():
                    return True
        return False
    # Positive control: eu-west-1 holds the name of its copy (the value is encrypted everywhere).
    assert disk_holds(EU, b"eu-only/token")
    for needle in [b"eu-only/token", b"eu-only-value", b"local/never-leaves-7c2e", b"local-value-9d4a"]:
        assert not disk_holds(AP, needle), needle
    names = [s["Name"] for s in cluster.client(AP).list_secrets()["SecretList"]]
    assert "eu-only/token" not in names and "local/never-leaves-7c2e" not in names
    # Never plaintext on any disk.
    for region in cluster.regions:
        assert not disk_holds(region, b"eu-only-value-2"), region


def test_writes_to_a_replica_are_refused_with_awss_error(replicated):
    cluster, _ = replicated
    eu = cluster.client(EU)
    writes = [
        lambda: eu.put_secret_value(SecretId="app/db", SecretString="nope"),
        lambda: eu.update_secret(SecretId="app/db", Description="nope"),
        lambda: eu.tag_resource(SecretId="app/db", Tags=[{"Key": "a", "Value": "b"}]),
        lambda: eu.untag_resource(SecretId="app/db", TagKeys=["env"]),
        lambda: eu.put_resource_policy(SecretId="app/db", ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:DeleteSecret", "Resource": "*"}]})),
        lambda: eu.delete_resource_policy(SecretId="app/db"),
        lambda: eu.delete_secret(SecretId="app/db", ForceDeleteWithoutRecovery=True),
        lambda: eu.update_secret_version_stage(SecretId="app/db", VersionStage="x", MoveToVersionId="a" * 32),
        lambda: eu.replicate_secret_to_regions(SecretId="app/db", AddReplicaRegions=[{"Region": AP}]),
    ]
    for write in writes:
        with pytest.raises(ClientError) as refused:
            write()
        assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
        assert refused.value.response["Error"]["Message"] == REPLICA_WRITE
    assert eu.get_secret_value(SecretId="app/db")["SecretString"] == "staged"


def test_a_primary_with_replicas_cannot_be_deleted(replicated):
    cluster, _ = replicated
    with pytest.raises(ClientError) as refused:
        cluster.client(PRIMARY).delete_secret(SecretId="app/api-key")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "still has replica regions" in refused.value.response["Error"]["Message"]


def test_a_name_clash_fails_unless_forced(replicated):
    cluster, _ = replicated
    us, eu = cluster.client(PRIMARY), cluster.client(EU)
    eu.create_secret(Name="clash/name", SecretString="eu's own")
    us.create_secret(Name="clash/name", SecretString="us value", AddReplicaRegions=[{"Region": EU}])

    def failed():
        status = us.describe_secret(SecretId="clash/name")["ReplicationStatus"][0]
        assert status["Status"] == "Failed", status
        assert status["StatusMessage"] == "Replication failed: Secret name clash/name already exists in region eu-west-1."
    eventually(failed)
    assert eu.get_secret_value(SecretId="clash/name")["SecretString"] == "eu's own"
    us.replicate_secret_to_regions(SecretId="clash/name", AddReplicaRegions=[{"Region": EU}], ForceOverwriteReplicaSecret=True)
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="clash/name")["SecretString"], "us value"))
    eventually(lambda: assert_equal(us.describe_secret(SecretId="clash/name")["ReplicationStatus"][0]["Status"], "InSync"))


def test_a_forced_copy_over_a_third_regions_replica_tells_that_primary(replicated):
    cluster, _ = replicated
    us, eu, ap = cluster.client(PRIMARY), cluster.client(EU), cluster.client(AP)
    ap.create_secret(Name="clash/three", SecretString="ap value", AddReplicaRegions=[{"Region": EU}])
    eventually(lambda: assert_equal(ap.describe_secret(SecretId="clash/three")["ReplicationStatus"][0]["Status"], "InSync"))
    assert eu.describe_secret(SecretId="clash/three")["PrimaryRegion"] == AP
    us.create_secret(Name="clash/three", SecretString="us value", AddReplicaRegions=[{"Region": EU}],
                     ForceOverwriteReplicaSecret=True)
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="clash/three")["SecretString"], "us value"))
    assert eu.describe_secret(SecretId="clash/three")["PrimaryRegion"] == PRIMARY

    def ap_told():
        status = ap.describe_secret(SecretId="clash/three")["ReplicationStatus"][0]
        assert status["Region"] == EU and status["Status"] == "Failed", status
        assert "overwritten by a secret replicated from us-east-1" in status["StatusMessage"], status
    eventually(ap_told)
    # eu-west-1 follows us-east-1's secret now, whatever ap-southeast-2 writes.
    ap.put_secret_value(SecretId="clash/three", SecretString="ap later")
    us.put_secret_value(SecretId="clash/three", SecretString="us later")
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="clash/three")["SecretString"], "us later"))


def test_removing_a_region_deletes_its_copy(replicated):
    cluster, _ = replicated
    us, ap = cluster.client(PRIMARY), cluster.client(AP)
    us.create_secret(Name="remove/me", SecretString="x", AddReplicaRegions=[{"Region": AP}])
    eventually(lambda: ap.describe_secret(SecretId="remove/me"))
    answer = us.remove_regions_from_replication(SecretId="remove/me", RemoveReplicaRegions=[AP])
    assert answer["ReplicationStatus"] == []

    def gone():
        try:
            ap.describe_secret(SecretId="remove/me")
        except ClientError as missing:
            assert missing.response["Error"]["Code"] == "ResourceNotFoundException"
            return
        raise AssertionError("the copy in ap-southeast-2 is still there")
    eventually(gone)
    us.delete_secret(SecretId="remove/me", ForceDeleteWithoutRecovery=True)


def test_a_promotion_reaches_an_idle_primary(replicated):
    cluster, _ = replicated
    us, eu = cluster.client(PRIMARY), cluster.client(EU)
    us.create_secret(Name="promote/idle", SecretString="x", AddReplicaRegions=[{"Region": EU}])
    eventually(lambda: assert_equal(us.describe_secret(SecretId="promote/idle")["ReplicationStatus"][0]["Status"], "InSync"))
    eu.stop_replication_to_replica(SecretId="promote/idle")
    # Nothing more is written in us-east-1: the notice travels with the heartbeats.
    eventually(lambda: assert_equal("ReplicationStatus" in us.describe_secret(SecretId="promote/idle"), False), timeout=15)
    us.delete_secret(SecretId="promote/idle", ForceDeleteWithoutRecovery=True)
    assert eu.get_secret_value(SecretId="promote/idle")["SecretString"] == "x"


def test_a_large_secret_replicates_whole(replicated):
    cluster, _ = replicated
    us, ap = cluster.client(PRIMARY), cluster.client(AP)
    us.create_secret(Name="large/blob", SecretBinary=os.urandom(60_000))
    for _ in range(40):
        us.put_secret_value(SecretId="large/blob", SecretBinary=os.urandom(60_000))
    # 41 versions of 60 KB: about 2.5 MB in one copy.
    us.replicate_secret_to_regions(SecretId="large/blob", AddReplicaRegions=[{"Region": AP}])
    eventually(lambda: counts_match(us, ap, "large/blob"), timeout=30)
    for version in version_ids(us, "large/blob")[:5]:
        assert (ap.get_secret_value(SecretId="large/blob", VersionId=version)["SecretBinary"]
                == us.get_secret_value(SecretId="large/blob", VersionId=version)["SecretBinary"])
    eventually(lambda: assert_equal(us.describe_secret(SecretId="large/blob")["ReplicationStatus"][0]["Status"], "InSync"))


def test_one_front_endpoint_serves_every_region(replicated):
    cluster, _ = replicated
    if not cluster.manifest.get("front"):
        pytest.skip("this cluster runs without a front")
    for region in cluster.regions:
        via_front = cluster.client(region, via_front=True)
        arn = via_front.describe_secret(SecretId="app/db")["ARN"]
        assert arn.startswith(f"arn:aws:secretsmanager:{region}:"), arn


def node_status(cluster, region):
    """`strongroom status --json` of a region's node."""
    p = cluster.principal()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=p["accessKeyId"], AWS_SECRET_ACCESS_KEY=p["secretAccessKey"],
               AWS_CA_BUNDLE=cluster.manifest["caBundle"], AWS_REGION=PRIMARY)
    run = subprocess.run([str(BINARY), "status", "--endpoint", cluster.node(region)["endpoint"], "--json"],
                         capture_output=True, text=True, env=env, timeout=30)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def own_lsns(cluster):
    """Each node's own log LSN."""
    return {region: node_status(cluster, region)["logs"][0]["lsn"] for region in cluster.regions}


def acknowledged_everything(cluster, source, subscriber):
    """The subscriber has acknowledged the source's whole log."""
    own = node_status(cluster, source)["logs"][0]
    acked = [s["ackedLSN"] for s in own["subscribers"] if s["region"] == subscriber]
    assert acked == [own["lsn"]], (own["lsn"], acked)


def test_status_shows_each_log_and_its_subscribers(replicated):
    cluster, _ = replicated
    status = node_status(cluster, PRIMARY)
    assert status["region"] == PRIMARY and status["role"] == "primary"
    own = status["logs"][0]
    assert own["region"] == PRIMARY and own["lsn"] > 0
    assert sorted(s["region"] for s in own["subscribers"]) == [AP, EU]
    replicas = {log["region"]: log for log in status["logs"][1:]}
    assert set(replicas) == {EU, AP}
    assert all(log["link"] == "connected" for log in replicas.values())
    # Idle links stay up: heartbeats both ways, no link closed for silence in this module's life.
    for region in cluster.regions:
        assert "silent for" not in (cluster.directory / region / "node.log").read_text(), region


def assert_equal(a, b):
    assert a == b, (a, b)


# MARK: - Failures: kill and restart, a cut link, a foreign CA, promotion with the primary down.

def start_node(cluster, region) -> subprocess.Popen:
    """Starts a region's node again from its configuration (our process, stopped by PID)."""
    directory = cluster.directory / region
    log = open(directory / "node.log", "a")
    proc = subprocess.Popen([str(BINARY), "serve", "--config", str(directory / "config.json")],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    port = int(cluster.node(region)["endpoint"].rsplit(":", 1)[1])
    wait_for_tls(port, cluster.manifest["caBundle"], proc)
    return proc


def kill(pid: int, sig=signal.SIGKILL):
    os.kill(pid, sig)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"pid {pid} did not stop")


@pytest.fixture
def own_cluster(binary, tmp_path):
    """A cluster of its own, for tests that kill and restart nodes."""
    from conftest import restartable_cluster
    with restartable_cluster(tmp_path / "c") as running:
        yield running


def counts_match(us, replica, name):
    want = version_ids(us, name)
    got = version_ids(replica, name)
    assert got == want, (len(got), len(want))
    assert len(set(got)) == len(got)


def restart_with_keyring(cluster, region, change):
    """Stops a region's node (SIGTERM), changes its keyring file with `change(keys)`, and starts it again."""
    node = cluster.node(region)
    proc = next((p for p in cluster.extra if p.poll() is None and p.args[-1].startswith(str(cluster.directory / region))), None)
    if proc is not None:
        cluster.extra.remove(proc)
        proc.terminate()
        proc.wait(timeout=30)
    else:
        kill(node["pid"], signal.SIGTERM)
    path = cluster.directory / region / "keyring.json"
    keyring = json.loads(path.read_text())
    keyring["keys"] = change(keyring["keys"])
    path.write_text(json.dumps(keyring))
    os.chmod(path, 0o600)
    cluster.extra.append(start_node(cluster, region))


def test_an_idle_cluster_writes_nothing(own_cluster):
    """Nothing is logged while no client writes: no region's bookkeeping (positions, notices)
    makes another region log something in turn."""
    cluster = own_cluster
    us = cluster.client(PRIMARY)
    us.create_secret(Name="idle/db", SecretString="x", AddReplicaRegions=[{"Region": EU}, {"Region": AP}])
    for i in range(5):
        us.create_secret(Name=f"idle/local-{i}", SecretString="stays home")
    eventually(lambda: assert_equal({s["Status"] for s in us.describe_secret(SecretId="idle/db")["ReplicationStatus"]},
                                    {"InSync"}))
    time.sleep(3)  # notices recorded and acknowledged, positions logged
    settled = own_lsns(cluster)
    time.sleep(4)  # four heartbeat periods
    assert own_lsns(cluster) == settled


def test_a_replica_key_gone_from_the_keyring_fails_that_secret_alone(own_cluster):
    cluster = own_cluster
    us, eu = cluster.client(PRIMARY), cluster.client(EU)
    app_key = {"accountId": "123456789012", "aliases": ["alias/eu-app"],
               "description": "eu-west-1 key for the app", "keyId": "0d1f6c2e-5b7a-4c1e-9f3d-2a8b6c4e1f00",
               "material": base64.b64encode(os.urandom(32)).decode(), "region": EU}
    restart_with_keyring(cluster, EU, lambda keys: keys + [app_key])
    us.create_secret(Name="keyed/db", SecretString="v1", AddReplicaRegions=[{"Region": EU, "KmsKeyId": "alias/eu-app"}])
    us.create_secret(Name="keyed/other", SecretString="o1", AddReplicaRegions=[{"Region": EU}])
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="keyed/db")["SecretString"], "v1"))
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="keyed/other")["SecretString"], "o1"))
    assert eu.describe_secret(SecretId="keyed/db")["KmsKeyId"] == "alias/eu-app"

    # The key leaves eu-west-1's keyring; us-east-1 writes on.
    restart_with_keyring(cluster, EU, lambda keys: [k for k in keys if k["keyId"] != app_key["keyId"]])
    eu = cluster.client(EU)
    us.put_secret_value(SecretId="keyed/db", SecretString="v2")
    us.put_secret_value(SecretId="keyed/other", SecretString="o2")
    # The other secret keeps replicating; the keyed one fails alone and says why.
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="keyed/other")["SecretString"], "o2"))

    def failed():
        status = us.describe_secret(SecretId="keyed/db")["ReplicationStatus"][0]
        assert status["Status"] == "Failed", status
        assert "alias/eu-app" in status["StatusMessage"] and status["StatusMessage"].startswith("Replication failed"), status
    eventually(failed)
    with pytest.raises(ClientError) as gone:
        eu.get_secret_value(SecretId="keyed/db")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "failed here" in (cluster.directory / EU / "node.log").read_text()
    # Later writes go on to eu-west-1 for the other secret, not for the failed one.
    us.put_secret_value(SecretId="keyed/other", SecretString="o3")
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="keyed/other")["SecretString"], "o3"))

    # The key is back: ReplicateSecretToRegions makes a whole new copy.
    restart_with_keyring(cluster, EU, lambda keys: keys + [app_key])
    eu = cluster.client(EU)
    us.replicate_secret_to_regions(SecretId="keyed/db", AddReplicaRegions=[{"Region": EU, "KmsKeyId": "alias/eu-app"}])
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="keyed/db")["SecretString"], "v2"))
    eventually(lambda: assert_equal(us.describe_secret(SecretId="keyed/db")["ReplicationStatus"][0]["Status"], "InSync"))
    counts_match(us, eu, "keyed/db")


def test_a_killed_replica_catches_up_with_nothing_missing_or_duplicated(own_cluster):
    cluster = own_cluster
    us, eu = cluster.client(PRIMARY), cluster.client(EU)
    us.create_secret(Name="kill/one", SecretString="v0", AddReplicaRegions=[{"Region": EU}])
    eventually(lambda: eu.describe_secret(SecretId="kill/one"))
    kill(cluster.node(EU)["pid"])
    for i in range(1, 31):
        us.put_secret_value(SecretId="kill/one", SecretString=f"v{i}")
    us.create_secret(Name="kill/two", SecretString="while down", AddReplicaRegions=[{"Region": EU}])
    cluster.extra.append(start_node(cluster, EU))
    eu = cluster.client(EU)
    eventually(lambda: counts_match(us, eu, "kill/one"), timeout=30)
    assert eu.get_secret_value(SecretId="kill/one")["SecretString"] == "v30"
    assert eu.get_secret_value(SecretId="kill/two")["SecretString"] == "while down"
    # The restart again, cleanly this time: the position is durable, nothing is applied twice.
    proc = cluster.extra.pop()
    proc.terminate()
    proc.wait(timeout=30)
    us.put_secret_value(SecretId="kill/one", SecretString="v31")
    cluster.extra.append(start_node(cluster, EU))
    eventually(lambda: counts_match(us, cluster.client(EU), "kill/one"), timeout=30)
    assert cluster.client(EU).get_secret_value(SecretId="kill/one")["SecretString"] == "v31"


def test_a_restarted_source_is_resumed_by_streaming_not_a_snapshot(own_cluster):
    """Records with nothing for a region are acknowledged without being logged there; a new
    link starts from the acknowledged position kept in memory, and a stopping replica logs it,
    so that a source that compacts its log finds the replica where it left it, not behind
    what it retains, whichever of the two restarts."""
    cluster = own_cluster
    us, eu = cluster.client(PRIMARY), cluster.client(EU)
    us.create_secret(Name="resume/db", SecretString="v0", AddReplicaRegions=[{"Region": EU}])
    eventually(lambda: eu.describe_secret(SecretId="resume/db"))
    # us-east-1 again with a small log: 4 KiB segments, compacted every 8 records.
    kill(cluster.node(PRIMARY)["pid"], signal.SIGTERM)
    config_path = cluster.directory / PRIMARY / "config.json"
    config = json.loads(config_path.read_text())
    config["journal"] = {"segmentBytes": 4096, "snapshotEveryRecords": 8}
    config_path.write_text(json.dumps(config))
    log = cluster.directory / EU / "node.log"

    def subscriptions():
        return [line for line in log.read_text().splitlines() if f"subscribed to {PRIMARY}" in line]

    def resumed_by_streaming(us, eu, value, since):
        """A write reaches eu-west-1, over links that all started by streaming."""
        us.put_secret_value(SecretId="resume/db", SecretString=value)
        eventually(lambda: assert_equal(eu.get_secret_value(SecretId="resume/db")["SecretString"], value), timeout=30)
        resumed = subscriptions()[since:]
        assert resumed and all("(streaming;" in line for line in resumed), resumed
    before = len(subscriptions())
    cluster.extra.append(start_node(cluster, PRIMARY))
    us = cluster.client(PRIMARY)
    eventually(lambda: assert_equal(len(subscriptions()) > before, True), timeout=30)
    # Its log moves on, and is compacted, with writes eu-west-1 never receives.
    for i in range(40):
        us.create_secret(Name=f"resume/local-{i}", SecretString="stays home " + "x" * 200)
    def compacted():
        compactions = re.findall(r"removed (\d+) covered segments", (cluster.directory / PRIMARY / "node.log").read_text())
        assert sum(int(n) for n in compactions) > 0, compactions
    eventually(compacted)  # snapshots are taken in the background
    eventually(lambda: acknowledged_everything(cluster, PRIMARY, EU))
    # The source restarts: the replica's next link starts from the position it acknowledged.
    before = len(subscriptions())
    proc = cluster.extra.pop()
    proc.terminate()
    proc.wait(timeout=30)
    cluster.extra.append(start_node(cluster, PRIMARY))
    us = cluster.client(PRIMARY)
    resumed_by_streaming(us, cluster.client(EU), "after the restart", since=before)

    # More local writes, compacted; then the replica restarts: it logged the acknowledged
    # position as it stopped, so it resumes there too.
    for i in range(40, 80):
        us.create_secret(Name=f"resume/local-{i}", SecretString="stays home " + "x" * 200)
    eventually(lambda: acknowledged_everything(cluster, PRIMARY, EU))
    kill(cluster.node(EU)["pid"], signal.SIGTERM)
    before = len(subscriptions())
    cluster.extra.append(start_node(cluster, EU))
    eu = cluster.client(EU)
    resumed_by_streaming(us, eu, "after the replica's restart", since=before)


def test_stop_replication_to_replica_works_with_the_primary_down(own_cluster):
    cluster = own_cluster
    us, eu, ap = cluster.client(PRIMARY), cluster.client(EU), cluster.client(AP)
    us.create_secret(Name="dr/db", SecretString="before", AddReplicaRegions=[{"Region": EU}, {"Region": AP}])
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="dr/db")["SecretString"], "before"))
    eventually(lambda: ap.describe_secret(SecretId="dr/db"))
    kill(cluster.node(PRIMARY)["pid"], signal.SIGTERM)
    # The DR drill: promote eu-west-1's copy while us-east-1 is down.
    answer = eu.stop_replication_to_replica(SecretId="dr/db")
    assert answer["ARN"].startswith(f"arn:aws:secretsmanager:{EU}:")
    described = eu.describe_secret(SecretId="dr/db")
    assert "PrimaryRegion" not in described and "ReplicationStatus" not in described
    eu.put_secret_value(SecretId="dr/db", SecretString="written in eu")
    assert eu.get_secret_value(SecretId="dr/db")["SecretString"] == "written in eu"
    # The primary comes back and learns of it: eu-west-1 leaves its ReplicationStatus.
    cluster.extra.append(start_node(cluster, PRIMARY))
    us = cluster.client(PRIMARY)

    def reconciled():
        statuses = us.describe_secret(SecretId="dr/db")["ReplicationStatus"]
        assert [s["Region"] for s in statuses] == [AP], statuses
    eventually(reconciled, timeout=30)
    us.put_secret_value(SecretId="dr/db", SecretString="written in us")
    eventually(lambda: assert_equal(ap.get_secret_value(SecretId="dr/db")["SecretString"], "written in us"))
    time.sleep(0.5)
    assert eu.get_secret_value(SecretId="dr/db")["SecretString"] == "written in eu"


class CuttableProxy:
    """A TCP relay between two nodes that the test can cut (every connection dropped, new ones
    refused) and heal: the replication link, cut for real, bytes untouched (TLS end to end)."""

    def __init__(self, target: tuple[str, int]):
        import socket
        import threading
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.settimeout(0.2)
        self.open = True
        self.stopped = False
        self.sockets = []
        self.lock = threading.Lock()
        self.accepted = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        import socket
        import threading
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
                self.accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        import socket
        self.open = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets = []

    def heal(self):
        self.open = True

    def stop(self):
        self.stopped = True
        self.cut()
        self.listener.close()


def test_a_cut_link_heals_and_catches_up_with_nothing_missing_or_duplicated(own_cluster):
    cluster = own_cluster
    us = cluster.client(PRIMARY)
    # eu-west-1 reaches us-east-1 through a relay we can cut.
    host, port = cluster.node(PRIMARY)["replication"].rsplit(":", 1)
    proxy = CuttableProxy((host, int(port)))
    try:
        kill(cluster.node(EU)["pid"], signal.SIGTERM)
        config_path = cluster.directory / EU / "config.json"
        config = json.loads(config_path.read_text())
        for peer in config["replication"]["peers"]:
            if peer["region"] == PRIMARY:
                peer["address"] = f"127.0.0.1:{proxy.port}"
        config_path.write_text(json.dumps(config))
        cluster.extra.append(start_node(cluster, EU))
        eu = cluster.client(EU)
        us.create_secret(Name="cut/one", SecretString="v0", AddReplicaRegions=[{"Region": EU}])
        eventually(lambda: assert_equal(eu.get_secret_value(SecretId="cut/one")["SecretString"], "v0"))
        before = proxy.accepted

        proxy.cut()
        for i in range(1, 41):
            us.put_secret_value(SecretId="cut/one", SecretString=f"v{i}")
        us.update_secret_version_stage(SecretId="cut/one", VersionStage="blue",
                                       MoveToVersionId=version_ids(us, "cut/one")[0])
        time.sleep(1.5)
        # Cut: eu-west-1 still serves what it had, and nothing of what was written since.
        assert eu.get_secret_value(SecretId="cut/one")["SecretString"] != "v40"

        proxy.heal()
        eventually(lambda: counts_match(us, eu, "cut/one"), timeout=30)
        assert eu.get_secret_value(SecretId="cut/one")["SecretString"] == "v40"
        want = {v["VersionId"]: sorted(v["VersionStages"]) for v in us.list_secret_version_ids(SecretId="cut/one")["Versions"]}
        got = {v["VersionId"]: sorted(v["VersionStages"]) for v in eu.list_secret_version_ids(SecretId="cut/one")["Versions"]}
        assert got == want
        assert proxy.accepted > before, "the link was not made again"
        log = (cluster.directory / EU / "node.log").read_text()
        assert "subscribed to us-east-1 at 1/" in log
    finally:
        proxy.stop()


def make_certificate(directory: Path, name: str, ca_cert: Path | None, ca_key: Path | None, uri: str,
                     expired: bool = False) -> tuple[Path, Path]:
    """A P-256 certificate with the SAN URI `uri`, issued by the CA given (or a new foreign CA);
    with `expired`, valid only for a day in 2020."""
    directory.mkdir(parents=True, exist_ok=True)
    if ca_cert is None:
        ca_key = directory / "foreign-ca.key"
        ca_cert = directory / "foreign-ca.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "2", "-subj", "/CN=foreign CA"],
                       check=True, capture_output=True)
    key, csr, cert, ext = (directory / f"{name}.{s}" for s in ("key", "csr", "pem", "ext"))
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}"], check=True, capture_output=True)
    ext.write_text(f"subjectAltName=URI:{uri},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    if not expired:
        subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
                        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)], check=True, capture_output=True)
        return cert, key
    # `openssl x509` (3.0) cannot set past dates; `openssl ca` can.
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("1000\n")
    config = directory / "ca.cnf"
    config.write_text(f"""[ca]
default_ca = local
[local]
database = {directory / "index.txt"}
serial = {directory / "serial"}
new_certs_dir = {directory}
default_md = sha256
policy = anything
[anything]
commonName = supplied
""")
    subprocess.run(["openssl", "ca", "-batch", "-config", str(config), "-cert", str(ca_cert), "-keyfile", str(ca_key),
                    "-in", str(csr), "-out", str(cert), "-notext", "-extfile", str(ext),
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z"], check=True, capture_output=True)
    return cert, key


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def hello_frame(node_id: str, region: str, source: str) -> bytes:
    """A replication hello (type 1) as the protocol frames it: SRPL, length, CRC32C, type, flags."""
    def text(s):
        b = s.encode()
        return len(b).to_bytes(4, "big") + b
    payload = (1).to_bytes(2, "big") + text(node_id) + text(region) + text(source) + b"\x00" + (0).to_bytes(4, "big")
    body = bytes([1, 0]) + payload
    return b"SRPL" + len(body).to_bytes(4, "big") + crc32c(body).to_bytes(4, "big") + body


def replication_handshake(cluster, cert: Path, key: Path, frame: bytes) -> bytes:
    """Connects to us-east-1's replication port with `cert`, sends `frame`, returns what came back."""
    import socket
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cluster.manifest["caBundle"])
    context.check_hostname = False
    context.load_cert_chain(str(cert), str(key))
    host, port = cluster.node(PRIMARY)["replication"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw) as tls:
            tls.sendall(frame)
            received = b""
            try:
                while len(received) < 64:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    received += chunk
            except (ssl.SSLError, ConnectionResetError, TimeoutError):
                pass
            return received


def test_a_node_with_a_foreign_ca_certificate_is_refused(replicated, tmp_path):
    cluster, _ = replicated
    log_path = cluster.directory / PRIMARY / "node.log"
    before = len(log_path.read_text())
    cert, key = make_certificate(tmp_path, "impostor", None, None, "spiffe://strongroom/region/eu-west-1/node/eu-west-1-a")
    received = replication_handshake(cluster, cert, key, hello_frame("eu-west-1-a", EU, PRIMARY))
    assert b"SRPL" not in received, "a node with a foreign CA's certificate was answered"
    eventually(lambda: assert_equal("replication: refused a link" in log_path.read_text()[before:], True), timeout=10)


def test_an_expired_certificate_of_the_cluster_ca_is_refused(replicated, tmp_path):
    cluster, _ = replicated
    ca_cert, ca_key = cluster.directory / "ca.pem", cluster.directory / "ca.key"
    log_path = cluster.directory / PRIMARY / "node.log"
    cert, key = make_certificate(tmp_path, "eu-old", ca_cert, ca_key, "spiffe://strongroom/region/eu-west-1/node/eu-west-1-a",
                                 expired=True)
    dates = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-enddate"], capture_output=True, text=True).stdout
    assert "2020" in dates, dates
    before = len(log_path.read_text())
    received = replication_handshake(cluster, cert, key, hello_frame("eu-west-1-a", EU, PRIMARY))
    assert b"SRPL" not in received, "a node with an expired certificate was answered"
    eventually(lambda: assert_equal("replication: refused a link" in log_path.read_text()[before:], True), timeout=10)
    assert "expired" in log_path.read_text()[before:]


def test_a_certificate_naming_another_node_than_the_hello_is_refused(replicated, tmp_path):
    cluster, _ = replicated
    ca_cert, ca_key = cluster.directory / "ca.pem", cluster.directory / "ca.key"
    log_path = cluster.directory / PRIMARY / "node.log"
    cert, key = make_certificate(tmp_path, "eu", ca_cert, ca_key, "spiffe://strongroom/region/eu-west-1/node/eu-west-1-b")
    before = len(log_path.read_text())
    received = replication_handshake(cluster, cert, key, hello_frame("eu-west-1-a", EU, PRIMARY))
    assert received[:4] == b"SRPL" and received[12] == 3, received[:20]  # a `refused` frame
    assert b"does not match the certificate" in received
    eventually(lambda: assert_equal("its certificate names eu-west-1-b" in log_path.read_text()[before:], True), timeout=10)


def test_a_replica_rebuilt_from_nothing_is_brought_up_to_date_by_a_filtered_snapshot(own_cluster):
    import shutil
    cluster = own_cluster
    us = cluster.client(PRIMARY)
    us.create_secret(Name="snap/both", SecretString="b0", AddReplicaRegions=[{"Region": EU}, {"Region": AP}])
    us.create_secret(Name="snap/ap-only-4e1d", SecretString="ap-only", AddReplicaRegions=[{"Region": AP}])
    us.create_secret(Name="snap/eu-only", SecretString="e0", AddReplicaRegions=[{"Region": EU}])
    eventually(lambda: assert_equal(cluster.client(EU).get_secret_value(SecretId="snap/eu-only")["SecretString"], "e0"))
    # eu-west-1 loses its disk: stopped, its data directory removed, started empty.
    kill(cluster.node(EU)["pid"], signal.SIGTERM)
    shutil.rmtree(cluster.node(EU)["dataDir"])
    for i in range(1, 11):
        us.put_secret_value(SecretId="snap/both", SecretString=f"b{i}")
    cluster.extra.append(start_node(cluster, EU))
    eu = cluster.client(EU)
    eventually(lambda: counts_match(us, eu, "snap/both"), timeout=30)
    counts_match(us, eu, "snap/eu-only")
    assert eu.get_secret_value(SecretId="snap/both")["SecretString"] == "b10"
    names = [s["Name"] for s in eu.list_secrets()["SecretList"]]
    assert "snap/ap-only-4e1d" not in names
    log = (cluster.directory / PRIMARY / "node.log").read_text()
    assert re.search(r"snapshot at 1/\d+ sent to eu-west-1: 2 secrets", log), log[-2000:]
    # And it streams again afterwards.
    us.put_secret_value(SecretId="snap/eu-only", SecretString="e1")
    eventually(lambda: assert_equal(eu.get_secret_value(SecretId="snap/eu-only")["SecretString"], "e1"))


def promote_region(cluster, region, *args, name="admin"):
    """`strongroom dr promote-region` against `region`'s node, as `name` of the first account."""
    principal = cluster.principal(name=name)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=principal["accessKeyId"], AWS_SECRET_ACCESS_KEY=principal["secretAccessKey"],
               AWS_CA_BUNDLE=cluster.manifest["caBundle"], AWS_DEFAULT_REGION=region)
    return subprocess.run([str(BINARY), "dr", "promote-region", "--endpoint", cluster.node(region)["endpoint"], *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_region_level_dr_promotes_every_replica_of_the_lost_region(own_cluster):
    """`strongroom dr promote-region --lost us-east-1` in eu-west-1 with us-east-1 down: a dry run
    lists and changes nothing; the run promotes every copy of us-east-1's secrets there (and only
    those), each accepts writes at once, a second run finds nothing, and us-east-1, back, drops
    eu-west-1 from those secrets' ReplicationStatus."""
    cluster = own_cluster
    us, eu, ap = cluster.client(PRIMARY), cluster.client(EU), cluster.client(AP)
    for name in ("region-dr/a", "region-dr/b"):
        us.create_secret(Name=name, SecretString=f"{name} from us", AddReplicaRegions=[{"Region": EU}])
    us.create_secret(Name="region-dr/elsewhere", SecretString="to ap only", AddReplicaRegions=[{"Region": AP}])
    ap.create_secret(Name="region-dr/from-ap", SecretString="ap's own", AddReplicaRegions=[{"Region": EU}])
    for name in ("region-dr/a", "region-dr/b", "region-dr/from-ap"):
        eventually(lambda name=name: eu.describe_secret(SecretId=name))
    kill(cluster.node(PRIMARY)["pid"], signal.SIGTERM)

    # Only the cluster's admins may; a reader is refused.
    refused = promote_region(cluster, EU, "--lost", PRIMARY, name="reader")
    assert refused.returncode == 1 and "AccessDeniedException" in refused.stderr and "strongroom:PromoteRegion" in refused.stderr
    # A region that is not another of the cluster's is a clear error.
    for lost, expected in ((EU, "another region than this node's"), ("mars-1", "not one of this cluster's regions")):
        bad = promote_region(cluster, EU, "--lost", lost)
        assert bad.returncode == 1 and "InvalidParameterException" in bad.stderr and expected in bad.stderr, bad.stderr

    dry = promote_region(cluster, EU, "--lost", PRIMARY, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    listed = json.loads(dry.stdout)
    assert listed["DryRun"] is True and listed["LostRegion"] == PRIMARY
    assert sorted(p["Name"] for p in listed["Promoted"]) == ["region-dr/a", "region-dr/b"]
    assert all(p["ARN"].startswith(f"arn:aws:secretsmanager:{EU}:") for p in listed["Promoted"])
    assert eu.describe_secret(SecretId="region-dr/a")["PrimaryRegion"] == PRIMARY  # unchanged

    done = promote_region(cluster, EU, "--lost", PRIMARY)
    assert done.returncode == 0, done.stderr
    assert "promoted 2 secret(s) whose primary was in us-east-1" in done.stdout
    for name in ("region-dr/a", "region-dr/b"):
        described = eu.describe_secret(SecretId=name)
        assert "PrimaryRegion" not in described and "ReplicationStatus" not in described
        eu.put_secret_value(SecretId=name, SecretString=f"{name} written in eu")
        assert eu.get_secret_value(SecretId=name)["SecretString"] == f"{name} written in eu"
    # ap-southeast-2's secret is still its replica, read-only here.
    assert eu.describe_secret(SecretId="region-dr/from-ap")["PrimaryRegion"] == AP
    again = promote_region(cluster, EU, "--lost", PRIMARY)
    assert again.returncode == 0 and "nothing was promoted" in again.stdout, again.stdout
    # The call is in eu-west-1's audit trail.
    trail = "".join(p.read_text() for p in (cluster.directory / EU).rglob("audit-*.jsonl"))
    assert '"eventName":"PromoteRegion"' in trail.replace(" ", "")

    # us-east-1 comes back and hears of each promotion.
    cluster.extra.append(start_node(cluster, PRIMARY))
    us = cluster.client(PRIMARY)
    for name in ("region-dr/a", "region-dr/b"):
        eventually(lambda name=name: assert_equal("ReplicationStatus" in us.describe_secret(SecretId=name), False), timeout=30)
    assert [s["Region"] for s in us.describe_secret(SecretId="region-dr/elsewhere")["ReplicationStatus"]] == [AP]
    time.sleep(0.5)
    assert eu.get_secret_value(SecretId="region-dr/a")["SecretString"] == "region-dr/a written in eu"
