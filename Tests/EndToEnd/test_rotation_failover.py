"""Rotation across a promotion (issue 20): rotations run on the region's primary only; a
rotation cut short when its primary dies is resumed by the standby promoted in its place, from
the replicated state (the version carrying AWSPENDING), with the same ClientRequestToken; the
replica region receives the outcome through replication. The standby never invokes a function
while it is a standby.

AWS's behaviour followed: "How rotation works" (the four steps, AWSPENDING on the token's
version until finishSecret) and RotateSecret's API reference ("A previous rotation isn't
complete. That rotation will be reattempted.")."""
import json
import os
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import BINARY, ROOT, restartable_cluster
from test_promote import node, promote, restart
from test_replication import kill
from test_standbys import client, eventually, status

REGIONS = ["us-east-1", "eu-west-1"]
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:generic-slow"


def write_function(directory: Path) -> tuple[Path, Path, Path]:
    """generic-random behind a wrapper that holds setSecret while a flag file exists (bounded),
    and notes which node ran each step."""
    flag = directory / "hold-setSecret"
    steps = directory / "steps.log"
    script = directory / "generic-slow"
    script.write_text(f"""#!/bin/sh
EVENT=$(cat)
STEP=$(printf '%s' "$EVENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Step"])')
echo "$STEP $SECRETS_MANAGER_ENDPOINT" >> {steps}
if [ "$STEP" = setSecret ]; then
    i=0
    while [ -e {flag} ] && [ $i -lt 250 ]; do sleep 0.1; i=$((i+1)); done
fi
printf '%s' "$EVENT" | exec {ROOT / 'cluster' / 'rotators' / 'generic-random'}
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script, flag, steps


def register(entry: dict, script: Path) -> None:
    config_path = Path(entry["dataDir"]).parent / "config.json"
    config = json.loads(config_path.read_text())
    config["rotation"] = {"functions": {LAMBDA: {"executable": str(script), "timeoutSeconds": 40}},
                          "checkIntervalSeconds": 1, "maxAttempts": 4, "retryDelaySeconds": 1}
    config_path.write_text(json.dumps(config, indent=2))


@pytest.fixture
def rotating_region(binary, tmp_path):
    with restartable_cluster(tmp_path / "c", regions=REGIONS, standbys=1, sync_standbys=1) as running:
        script, flag, steps = write_function(tmp_path)
        a, b = node(running, "us-east-1-a"), node(running, "us-east-1-b")
        # Both nodes of the region can invoke the function: whichever is primary runs it.
        for entry in (b, a):
            register(entry, script)
            kill(entry["pid"], signal.SIGTERM)
        processes = {entry["id"]: restart(running, entry["id"]) for entry in (a, b)}
        eventually(lambda: client(running.manifest, a).list_secrets(), seconds=60)
        eventually(lambda: status_role(running, b, "standby"), seconds=60)
        try:
            yield running, flag, steps, processes
        finally:
            flag.unlink(missing_ok=True)


def status_role(cluster, entry: dict, role: str) -> None:
    assert status(cluster.manifest, entry)["role"] == role


def pending_has_value(sm, name: str, token: str) -> None:
    sm.get_secret_value(SecretId=name, VersionId=token, VersionStage="AWSPENDING")


def test_a_rotation_cut_short_by_its_primarys_death_is_finished_by_the_promoted_standby(rotating_region):
    c, flag, steps, processes = rotating_region
    m = c.manifest
    a, b = node(c, "us-east-1-a"), node(c, "us-east-1-b")
    primary = client(m, a)
    name = f"rotation/{uuid.uuid4()}"
    primary.create_secret(Name=name, SecretString=json.dumps({"username": "app", "password": "first-password"}),
                          AddReplicaRegions=[{"Region": "eu-west-1"}])
    flag.touch()
    token = primary.rotate_secret(SecretId=name, RotationLambdaARN=LAMBDA)["VersionId"]
    # createSecret ran on the primary and its value reached the standby (synchronous standby).
    eventually(lambda: pending_has_value(primary, name, token), seconds=30)
    standby = client(m, b)
    eventually(lambda: pending_has_value(standby, name, token), seconds=10)
    eventually(lambda: (steps.read_text().count("setSecret") >= 1) or (_ for _ in ()).throw(AssertionError()), seconds=10)
    ran_on = {line.split()[1] for line in steps.read_text().split("\n") if line}
    assert ran_on == {a["endpoint"]}, f"only the primary invokes the function: {ran_on}"

    # The primary dies in the middle of setSecret; the standby is promoted.
    processes["us-east-1-a"].kill()
    processes["us-east-1-a"].wait(timeout=30)
    flag.unlink()
    promoted = promote(c, "us-east-1-b")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    eventually(lambda: status_role(c, b, "primary"), seconds=60)
    # The old primary returns and follows the new one: with syncStandbys 1 the new primary's
    # writes (the function's among them) commit once a standby holds them.
    restart(c, "us-east-1-a")

    # The new primary resumes the rotation with the same token and finishes it.
    def finished():
        described = standby.describe_secret(SecretId=name)
        assert "AWSCURRENT" in described["VersionIdsToStages"].get(token, []), described["VersionIdsToStages"]
        assert described.get("LastRotatedDate") is not None
        return described
    described = eventually(finished, seconds=90)
    assert described["RotationEnabled"] is True
    lines = [line.split() for line in steps.read_text().split("\n") if line]
    assert [step for step, endpoint in lines if endpoint == b["endpoint"]][-1] == "finishSecret"
    rotated = json.loads(standby.get_secret_value(SecretId=name)["SecretString"])
    assert rotated["username"] == "app" and rotated["password"] != "first-password"
    previous = json.loads(standby.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"])
    assert previous["password"] == "first-password"

    # The replica region receives the outcome through replication.
    west = client(m, c.node("eu-west-1"))
    eventually(lambda: json.loads(west.get_secret_value(SecretId=name)["SecretString"]) == rotated
               or (_ for _ in ()).throw(AssertionError()), seconds=30)
    assert west.describe_secret(SecretId=name).get("LastRotatedDate") is not None

    # The new primary's status shows the run it finished.
    recent = status(m, b)["rotation"]["recent"]
    assert any(run["clientRequestToken"] == token and run["phase"] == "succeeded" for run in recent), recent
