"""In-region standbys on real processes (issue 19): a standby follows its primary's whole log
over mutual TLS and serves reads; the writes it receives go to the primary and come back
answered; with syncStandbys 1 the primary answers a write only once its standby holds it, answers
with a retryable error when the standby is gone, and commits the write when it returns."""
import json
import os
import signal
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import BINARY, restartable_cluster

REGIONS = ["us-east-1", "eu-west-1"]


def client(manifest: dict, node: dict, attempts: int = 1):
    admin = next(p for p in manifest["accounts"][0]["principals"] if p["name"] == "admin")
    return boto3.client("secretsmanager", endpoint_url=node["endpoint"], region_name=node["region"],
                        aws_access_key_id=admin["accessKeyId"], aws_secret_access_key=admin["secretAccessKey"],
                        verify=manifest["caBundle"],
                        config=Config(retries={"max_attempts": attempts, "mode": "standard"}, read_timeout=60))


def eventually(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except (AssertionError, ClientError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def status(manifest: dict, node: dict) -> dict:
    admin = next(p for p in manifest["accounts"][0]["principals"] if p["name"] == "admin")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=admin["accessKeyId"], AWS_SECRET_ACCESS_KEY=admin["secretAccessKey"])
    out = subprocess.run([str(BINARY), "status", "--endpoint", node["endpoint"], "--ca-bundle", manifest["caBundle"],
                          "--region", node["region"], "--json"], capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def standby_cluster(binary, tmp_path_factory):
    with restartable_cluster(tmp_path_factory.mktemp("standbys") / "c", regions=REGIONS, standbys=1, sync_standbys=1) as running:
        yield running


def nodes(cluster, region: str) -> tuple[dict, dict]:
    primary = cluster.node(region)
    standby = next(s for s in cluster.manifest["standbys"] if s["region"] == region)
    return primary, standby


def test_a_standby_holds_its_primarys_writes_and_forwards_its_own(standby_cluster):
    m = standby_cluster.manifest
    primary, standby = nodes(standby_cluster, "us-east-1")
    at_primary, at_standby = client(m, primary), client(m, standby)
    name = f"standby/{uuid.uuid4().hex[:8]}"
    created = at_primary.create_secret(Name=name, SecretString="one", AddReplicaRegions=[{"Region": "eu-west-1"}])
    # With syncStandbys 1 the answer came after the standby held it: readable there at once.
    assert at_standby.get_secret_value(SecretId=name)["SecretString"] == "one"
    # A write sent to the standby is the primary's to decide; the answer comes back through it.
    put = at_standby.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=uuid.uuid4().hex)
    assert at_primary.get_secret_value(SecretId=name)["VersionId"] == put["VersionId"]
    assert at_standby.get_secret_value(SecretId=name)["SecretString"] == "two"
    # The SDK reports the primary's request id: the one in the primary's audit trail.
    request_id = put["ResponseMetadata"]["RequestId"]
    assert request_id
    audit = subprocess.run([str(BINARY), "audit", "query", "--dir", primary["dataDir"], "--event", "PutSecretValue"],
                           capture_output=True, text=True, timeout=30)
    assert request_id in audit.stdout, audit.stdout
    with pytest.raises(ClientError) as refused:
        at_standby.create_secret(Name=name, SecretString="again")
    assert refused.value.response["Error"]["Code"] == "ResourceExistsException"
    # The same versions, labels and dates on both nodes of the region; the replica region has them too.
    assert at_standby.list_secret_version_ids(SecretId=name)["Versions"] == at_primary.list_secret_version_ids(SecretId=name)["Versions"]
    replica = client(m, standby_cluster.node("eu-west-1"))
    eventually(lambda: assert_value(replica, created["ARN"].replace("us-east-1", "eu-west-1"), "two"))
    # The replica region's own standby follows its primary, replica copies included.
    _, eu_standby = nodes(standby_cluster, "eu-west-1")
    eventually(lambda: assert_value(client(m, eu_standby), name, "two"))
    # status: the standby names its primary; the primary lists its standby among its subscribers.
    mine = status(m, standby)
    assert mine["role"] == "standby" and mine["following"]["link"] == "connected"
    assert mine["following"]["primary"].startswith(primary["id"])
    theirs = status(m, primary)
    assert any(s["nodeId"] == standby["id"] for s in theirs["logs"][0]["subscribers"])


def assert_value(sm, secret_id: str, value: str):
    assert sm.get_secret_value(SecretId=secret_id)["SecretString"] == value


def test_with_its_standby_gone_a_write_fails_retryably_and_commits_when_it_returns(standby_cluster):
    m = standby_cluster.manifest
    primary, standby = nodes(standby_cluster, "us-east-1")
    at_primary = client(m, primary)
    name = f"sync/{uuid.uuid4().hex[:8]}"
    at_primary.create_secret(Name=name, SecretString="before")
    os.kill(standby["pid"], signal.SIGKILL)
    token = uuid.uuid4().hex
    started = time.monotonic()
    with pytest.raises(ClientError) as failed:
        at_primary.put_secret_value(SecretId=name, SecretString="while-gone", ClientRequestToken=token)
    waited = time.monotonic() - started
    error = failed.value.response["Error"]
    assert error["Code"] == "InternalServiceError" and "not yet held by 1 standby" in error["Message"]
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert 8 <= waited < 30, waited  # syncTimeoutSeconds, 10 s by default
    # Not acknowledged, so not shown: readers still see the value before it.
    assert at_primary.get_secret_value(SecretId=name)["SecretString"] == "before"
    # The standby comes back (from its own log's end) and the write commits.
    config = standby_cluster.directory / standby["id"] / "config.json"
    proc = subprocess.Popen([str(BINARY), "serve", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    standby_cluster.extra.append(proc)
    eventually(lambda: assert_value(at_primary, name, "while-gone"), seconds=30)
    # The SDK's retry (same token) finds it, once.
    again = at_primary.put_secret_value(SecretId=name, SecretString="while-gone", ClientRequestToken=token)
    assert again["VersionId"] == token
    assert len(at_primary.list_secret_version_ids(SecretId=name)["Versions"]) == 2
    eventually(lambda: assert_value(client(m, standby), name, "while-gone"))


def test_a_read_on_a_standby_sets_last_accessed_date_through_its_primary(standby_cluster):
    """LastAccessedDate is part of the region log, which only the primary writes: a standby's read
    on a new day is noted, sent with its acks, and recorded by the primary, for every node."""
    m = standby_cluster.manifest
    primary, standby = nodes(standby_cluster, "us-east-1")
    at_primary, at_standby = client(m, primary), client(m, standby)
    name = f"accessed/{uuid.uuid4().hex[:8]}"
    version = at_primary.create_secret(Name=name, SecretString="v")["VersionId"]
    assert "LastAccessedDate" not in at_primary.describe_secret(SecretId=name)
    eventually(lambda: assert_value(at_standby, name, "v"))

    def recorded(sm):
        described = sm.describe_secret(SecretId=name)
        assert "LastAccessedDate" in described, described
        versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
        assert [v.get("LastAccessedDate") is not None for v in versions if v["VersionId"] == version] == [True], versions
        return described["LastAccessedDate"]

    day = eventually(lambda: recorded(at_primary))
    assert day.hour == 0 and day.minute == 0  # a day's resolution
    assert eventually(lambda: recorded(at_standby)) == day
