"""strongroom-load against a real dev node: TLS with the dev CA, SigV4 accepted by the node's
verifier, seeding that leaves exactly the secrets and versions asked for."""
import json
import subprocess
import time

import pytest

from conftest import BINARY, start_cluster

LOAD = BINARY.parent / "strongroom-load"


def run_load(dev_node, *args, timeout=60):
    assert LOAD.exists(), f"{LOAD} is missing: build with `swift build -c release` first (scripts/test does)"
    endpoint = dev_node.directory / "endpoint.json"
    proc = subprocess.run([str(LOAD), "--endpoint-json", str(endpoint), "--json", *args],
                          capture_output=True, text=True, timeout=timeout)
    report = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, report, proc.stderr


def test_seeding_creates_each_secret_and_version_once_and_again_changes_nothing(dev_node):
    code, report, stderr = run_load(dev_node, "--workload", "sm-seed", "--secrets", "30", "--versions", "2",
                                    "--secret-prefix", "load/seed-", "--concurrency", "8")
    assert code == 0, stderr
    assert report["requests"] == 90 and report["errors"] == 0, report
    sm = dev_node.client()
    names = [s["Name"] for page in sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": ["load/seed-"]}]) for s in page["SecretList"]]
    assert sorted(names) == [f"load/seed-{i:06d}" for i in range(30)]
    versions = sm.list_secret_version_ids(SecretId="load/seed-000007", IncludeDeprecated=True)["Versions"]
    assert len(versions) == 3
    # Seeding is idempotent: the same tokens and values, ResourceExistsException is "already there".
    code, report, stderr = run_load(dev_node, "--workload", "sm-seed", "--secrets", "30", "--versions", "2",
                                    "--secret-prefix", "load/seed-", "--concurrency", "8")
    assert code == 0 and report["errors"] == 0, (stderr, report)
    assert len(sm.list_secret_version_ids(SecretId="load/seed-000007", IncludeDeprecated=True)["Versions"]) == 3


@pytest.mark.parametrize("workload", ["sm-get", "sm-mix", "sm-describe", "sm-list"])
def test_signed_workloads_succeed(dev_node, workload):
    code, _, stderr = run_load(dev_node, "--workload", "sm-seed", "--secrets", "10", "--secret-prefix", "load/w-")
    assert code == 0, stderr
    code, report, stderr = run_load(dev_node, "--workload", workload, "--secrets", "10", "--secret-prefix", "load/w-",
                                    "--requests", "200", "--warmup", "0.2", "--concurrency", "4")
    assert code == 0, stderr
    assert report["requests"] == 200 and report["errors"] == 0, report
    assert report["p50Ms"] <= report["p99Ms"] <= report["maxMs"]
    assert report["cpuPercent"] > 0 and report["cores"] >= 1


def test_a_wrong_secret_key_is_refused_by_the_node(dev_node):
    code, report, _ = run_load(dev_node, "--workload", "sm-get", "--secret-key", "not-the-key",
                               "--requests", "20", "--warmup", "0")
    assert code == 1
    assert report["errors"] == report["requests"] == 20
    assert report["firstError"]["status"] in (400, 403)
    assert "SignatureDoesNotMatch" in report["firstError"]["message"] or "InvalidSignature" in report["firstError"]["message"]


def test_replication_lag_between_two_regions(binary, tmp_path):
    """sm-replication-lag against a real two-region cluster: every write acknowledged by
    us-east-1 shows in eu-west-1, and the figures are consistent."""
    cluster = start_cluster(tmp_path / "c", regions=["us-east-1", "eu-west-1"])
    try:
        primary = cluster.client("us-east-1")
        replica = cluster.client("eu-west-1")
        for i in range(5):
            primary.create_secret(Name=f"lag/e2e-{i:06d}", SecretString="initial",
                                  AddReplicaRegions=[{"Region": "eu-west-1"}])
        for i in range(5):
            for _ in range(200):
                try:
                    replica.get_secret_value(SecretId=f"lag/e2e-{i:06d}")
                    break
                except replica.exceptions.ResourceNotFoundException:
                    time.sleep(0.05)
        admin = cluster.principal()
        proc = subprocess.run(
            [str(LOAD), "--workload", "sm-replication-lag", "--json",
             "--url", cluster.node("us-east-1")["endpoint"], "--region", "us-east-1",
             "--replica-url", cluster.node("eu-west-1")["endpoint"], "--replica-region", "eu-west-1",
             "--ca", cluster.manifest["caBundle"], "--access-key", admin["accessKeyId"],
             "--secret-key", admin["secretAccessKey"], "--secrets", "5", "--secret-prefix", "lag/e2e-",
             "--rate", "100", "--duration", "1", "--pollers", "2", "--drain", "10"],
            capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report["writes"] == 100 and report["acknowledged"] == 100 and report["neverSeen"] == 0, report
        assert report["regressions"] == 0 and report["anomalies"] == 0, report
        assert 0 <= float(report["lagP50Ms"]) <= float(report["lagP99Ms"]) <= float(report["lagMaxMs"])
        value = replica.get_secret_value(SecretId="lag/e2e-000004")["SecretString"]
        assert " 0000000099 " in value, value
    finally:
        down = cluster.down()
        assert down.returncode == 0, down.stderr
