"""Rotation run by the node itself: RotateSecret, the four steps of AWS's rotation protocol invoked
on the node's registered functions (executables, webhooks), retries, timeouts, schedules, the
rotation role's session credentials and the redaction of what a function prints.

Each test starts its own `strongroom dev` node with a `rotation` section in its config.json (start
once, stop, edit, start again) and stops it, and any PostgreSQL it starts, even when it fails."""
import contextlib
import http.server
import json
import secrets
import ssl
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BINARY, ROOT, DevNode, free_port
from postgres import postgres  # noqa: F401  (the module-scope fixture)

ROTATORS = ROOT / "cluster" / "rotators"
ACCOUNT = "123456789012"
STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]
# The node gives a function a fixed PATH; the rotators' `#!/usr/bin/env python3` must find the
# Python that has boto3 and pg8000 (this one).
FUNCTION_PATH = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
NOT_INVOKABLE = ("Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy "
                 "grants access to the principal secretsmanager.amazonaws.com.")
PREVIOUS_INCOMPLETE = "A previous rotation isn't complete. That rotation will be reattempted."


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def executable(path, timeout=30, **environment) -> dict:
    return {"executable": str(path), "environment": {"PATH": FUNCTION_PATH, **environment}, "timeoutSeconds": timeout}


@contextlib.contextmanager
def rotation_node(tmp_path: Path, functions=None, webhook=None, **settings):
    """A dev node whose config.json has `rotation: {functions, **settings}`; always stopped.
    `webhook(node_directory)` may return more functions once the node's certificates exist."""
    directory = tmp_path / "node"
    port = free_port()
    first = DevNode(directory, port)
    try:
        first.wait_ready()
    finally:
        first.stop()
    config = json.loads((directory / "config.json").read_text())
    all_functions = dict(functions or {})
    if webhook:
        all_functions.update(webhook(directory))
    config["rotation"] = {"functions": all_functions, **settings}
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    node = DevNode(directory, port)
    try:
        node.wait_ready()
        yield node
    finally:
        code = node.stop()
    assert code == 0, f"strongroom dev exited with {code} on SIGTERM:\n{node.stderr[-4000:]}"


def node_log(node) -> str:
    return node.stdout + node.stderr


def audit_records(node) -> list[dict]:
    lines = []
    for path in sorted((node.directory / "data" / "audit").glob("audit-*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass  # a line being written
    return lines


def rotation_events(node, arn: str, token: str | None = None, name: str | None = None) -> list[dict]:
    """The rotation service events of `arn` (optionally of one version, one eventName), their
    additionalEventData with eventName added."""
    found = []
    for record in audit_records(node):
        data = record.get("additionalEventData") or {}
        if not record.get("eventName", "").startswith("Rotation") or data.get("SecretId") != arn:
            continue
        if token and data.get("ClientRequestToken") != token:
            continue
        if name and record["eventName"] != name:
            continue
        found.append(dict(data, eventName=record["eventName"]))
    return found


def wait_until(predicate, timeout: float, what: str, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_for_outcome(node, arn: str, token: str, timeout=45, count=1) -> str:
    """Waits for the `count`th RotationSucceeded or RotationFailed of version `token`; returns
    the last one's eventName."""
    def ended():
        events = [e for e in rotation_events(node, arn, token) if e["eventName"] in ("RotationSucceeded", "RotationFailed")]
        return events[count - 1]["eventName"] if len(events) >= count else None
    try:
        return wait_until(ended, timeout, f"the rotation of {arn} ({token}) to end")
    except AssertionError:
        raise AssertionError(f"rotation of {arn} ({token}) did not end within {timeout} s; node log:\n"
                             f"{node_log(node)[-6000:]}") from None


def stages(client, arn: str) -> dict:
    return client.describe_secret(SecretId=arn)["VersionIdsToStages"]


def write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def node_status(node) -> dict:
    env = node.cli_env()
    result = subprocess.run([str(BINARY), "status", "--endpoint", node.endpoint["endpoint"], "--json",
                             "--ca-bundle", node.endpoint["caBundle"], "--region", node.endpoint["region"]],
                            capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- 1. single user, through RotateSecret ------------------------------------------------------------
# AWS: "Rotate AWS Secrets Manager secrets" / "Rotation by Lambda function" (how rotation works:
# createSecret, setSecret, testSecret, finishSecret) and "Lambda rotation functions" — the
# single-user strategy ("Rotation strategy: single user").

def test_single_user_rotation_through_rotate_secret(tmp_path, postgres):
    arn_fn = lambda_arn("pg-single")
    with rotation_node(tmp_path, {arn_fn: executable(ROTATORS / "postgresql-single-user")}) as node:
        client = node.client()
        old = postgres.create_user("rot_single")
        created = client.create_secret(Name="pg/rot-single", SecretString=json.dumps(postgres.secret("rot_single", old)))
        arn, first_version = created["ARN"], created["VersionId"]

        answer = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn, RotationRules={"AutomaticallyAfterDays": 30})
        assert {k for k in answer if k != "ResponseMetadata"} == {"ARN", "Name", "VersionId"}
        assert answer["ARN"] == arn and answer["Name"] == "pg/rot-single"
        token = answer["VersionId"]
        assert wait_for_outcome(node, arn, token) == "RotationSucceeded", node_log(node)[-6000:]

        new = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        assert new["username"] == "rot_single" and new["password"] != old
        assert not postgres.can_login("rot_single", old), "the old password still logs in"
        assert postgres.can_login("rot_single", new["password"])

        described = client.describe_secret(SecretId=arn)
        versions = described["VersionIdsToStages"]
        assert "AWSCURRENT" in versions[token], versions
        assert "AWSPENDING" in versions[token], versions  # AWS leaves AWSPENDING on the new version
        assert versions[first_version] == ["AWSPREVIOUS"]
        assert described["RotationEnabled"] is True
        assert described["RotationLambdaARN"] == arn_fn
        assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
        assert "LastRotatedDate" in described and "NextRotationDate" in described
        assert described["NextRotationDate"] > described["LastRotatedDate"]
        assert client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["VersionId"] == first_version

        names = [e["eventName"] for e in rotation_events(node, arn, token)]
        assert names[0] == "RotationStarted" and names[-1] == "RotationSucceeded", names
        started = [e["Step"] for e in rotation_events(node, arn, token, "RotationStepStarted")]
        assert started == STEPS
        log = node_log(node)
        for step in STEPS:
            assert f"{step} started" in log and f"{step} succeeded" in log
        assert old not in log and new["password"] not in log, "a password is in the node's log"


# -- 2. alternating users ------------------------------------------------------------------------------
# AWS: "Lambda rotation functions" — "Rotation strategy: alternating users"
# (SecretsManagerRDSPostgreSQLRotationMultiUser).

def test_alternating_users_rotation_through_rotate_secret(tmp_path, postgres):
    arn_fn = lambda_arn("pg-alternating")
    with rotation_node(tmp_path, {arn_fn: executable(ROTATORS / "postgresql-alternating-users")}) as node:
        client = node.client()
        master_arn = client.create_secret(
            Name="pg/rot-master",
            SecretString=json.dumps(postgres.secret(postgres.SUPERUSER, postgres.master_password)))["ARN"]
        base = postgres.create_user("rot_alt")
        arn = client.create_secret(
            Name="pg/rot-alt", SecretString=json.dumps(postgres.secret("rot_alt", base, masterarn=master_arn)))["ARN"]

        token1 = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                      RotationRules={"ScheduleExpression": "rate(10 days)", "Duration": "3h"})["VersionId"]
        assert wait_for_outcome(node, arn, token1) == "RotationSucceeded", node_log(node)[-6000:]
        # RotationRulesType: AutomaticallyAfterDays "is calculated from the rotation schedule
        # after every successful rotation"; the next window opens at midnight UTC, 10 days on.
        described = client.describe_secret(SecretId=arn)
        assert described["RotationRules"] == {"AutomaticallyAfterDays": 10, "Duration": "3h", "ScheduleExpression": "rate(10 days)"}
        next_date = described["NextRotationDate"]
        assert (next_date.hour, next_date.minute) == (0, 0) and 9 <= (next_date - described["LastRotatedDate"]).days <= 10
        first = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        assert first["username"] == "rot_alt_clone"
        assert postgres.can_login("rot_alt_clone", first["password"])
        assert postgres.can_login("rot_alt", base), "the previous user works until the next rotation"

        token2 = client.rotate_secret(SecretId=arn)["VersionId"]
        assert token2 != token1
        assert wait_for_outcome(node, arn, token2) == "RotationSucceeded", node_log(node)[-6000:]
        second = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        assert second["username"] == "rot_alt" and second["password"] != base
        assert postgres.can_login("rot_alt", second["password"])
        assert not postgres.can_login("rot_alt", base)
        assert postgres.can_login("rot_alt_clone", first["password"])
        versions = stages(client, arn)
        assert "AWSCURRENT" in versions[token2] and versions[token1] == ["AWSPREVIOUS"], versions
        log = node_log(node)
        for value in (base, first["password"], second["password"], postgres.master_password):
            assert value not in log, "a password is in the node's log"


# -- 3. a failing step, retries, the resumed rotation ---------------------------------------------------
# AWS: "Troubleshoot rotation" ("A previous rotation isn't complete", AWSPENDING left on the
# version) and RotateSecret's API reference (the rotation is reattempted with the same token).

FAILING_WRAPPER = """#!/usr/bin/env python3
import json, os, subprocess, sys
event = sys.stdin.read()
if json.loads(event)["Step"] == "setSecret" and os.path.exists({flag!r}):
    print("wrapper: setSecret refused while the flag file exists", file=sys.stderr)
    print("RotationError: the database is unreachable (test flag)", file=sys.stderr)
    sys.exit(1)
result = subprocess.run([{rotator!r}], input=event, text=True)
sys.exit(result.returncode)
"""


def test_failed_rotation_is_resumed_with_the_same_token(tmp_path, postgres):
    flag = tmp_path / "fail-set-secret"
    flag.write_text("")
    wrapper = write_script(tmp_path / "failing-rotator",
                           FAILING_WRAPPER.format(flag=str(flag), rotator=str(ROTATORS / "postgresql-single-user")))
    arn_fn = lambda_arn("pg-flaky")
    with rotation_node(tmp_path, {arn_fn: executable(wrapper)}, maxAttempts=2, retryDelaySeconds=0.2) as node:
        client = node.client()
        old = postgres.create_user("rot_flaky")
        created = client.create_secret(Name="pg/rot-flaky", SecretString=json.dumps(postgres.secret("rot_flaky", old)))
        arn, first_version = created["ARN"], created["VersionId"]

        token = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                     RotationRules={"AutomaticallyAfterDays": 7})["VersionId"]
        assert wait_for_outcome(node, arn, token) == "RotationFailed", node_log(node)[-6000:]
        failures = rotation_events(node, arn, token, "RotationStepFailed")
        assert [(f["Step"], f["Attempt"], f["WillRetry"]) for f in failures] == [("setSecret", 1, True), ("setSecret", 2, False)]
        assert "test flag" in failures[-1]["Reason"]
        failed = rotation_events(node, arn, token, "RotationFailed")[0]
        assert failed["Step"] == "setSecret"

        versions = stages(client, arn)
        assert versions[token] == ["AWSPENDING"], versions
        assert versions[first_version] == ["AWSCURRENT"]
        assert postgres.can_login("rot_flaky", old), "setSecret failed before changing the password"
        assert "LastRotatedDate" not in client.describe_secret(SecretId=arn)
        status = node_status(node)["rotation"]
        recent = [r for r in status["recent"] if r["clientRequestToken"] == token]
        assert recent and recent[0]["phase"] == "failed" and "test flag" in (recent[0]["lastError"] or ""), status
        # The operators' view: `strongroom rotation status` prints the failed run, its step and error.
        shown = subprocess.run([str(BINARY), "rotation", "status", "--endpoint", node.endpoint["endpoint"],
                                "--ca-bundle", node.endpoint["caBundle"], "--region", node.endpoint["region"]],
                               capture_output=True, text=True, env=node.cli_env(), timeout=30)
        assert shown.returncode == 0, shown.stderr
        line = next(l for l in shown.stdout.splitlines() if token in l)
        assert "failed setSecret" in line and "test flag" in line, shown.stdout
        assert "runs this region's rotations" in shown.stdout and arn_fn in shown.stdout, shown.stdout

        # The fault is fixed; RotateSecret answers AWS's error and the node reattempts that rotation.
        flag.unlink()
        with pytest.raises(ClientError) as refused:
            client.rotate_secret(SecretId=arn)
        assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
        assert refused.value.response["Error"]["Message"] == PREVIOUS_INCOMPLETE
        assert wait_for_outcome(node, arn, token, count=2) == "RotationSucceeded", node_log(node)[-6000:]

        versions = stages(client, arn)
        assert "AWSCURRENT" in versions[token] and versions[first_version] == ["AWSPREVIOUS"], versions
        assert len(versions) == 2, f"the resumed rotation made a version of its own: {versions}"
        new = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        assert client.get_secret_value(SecretId=arn)["VersionId"] == token
        assert not postgres.can_login("rot_flaky", old)
        assert postgres.can_login("rot_flaky", new["password"])
        assert old not in node_log(node) and new["password"] not in node_log(node)


# -- 4. a schedule fires without a client call ------------------------------------------------------------
# AWS: "Rotation schedules" (rate expressions) and RotateSecret's RotateImmediately ("the
# rotation function runs testSecret … on the AWSPENDING version" / "The test creates an AWSPENDING
# version of the secret and then removes it").

def test_schedule_rotates_without_a_client_call(tmp_path):
    arn_fn = lambda_arn("generic")
    with rotation_node(tmp_path, {arn_fn: executable(ROTATORS / "generic-random")},
                       minimumScheduleIntervalSeconds=60, checkIntervalSeconds=1) as node:
        client = node.client()
        initial = "initial-token-" + secrets.token_hex(8)
        created = client.create_secret(Name="api/scheduled", SecretString=initial)
        arn, first_version = created["ARN"], created["VersionId"]
        # rate(1 minute) windows open on the minute (UTC): enabling in a minute's last seconds
        # would let the scheduled rotation start before the checks of the test run below.
        if time.time() % 60 > 50:
            time.sleep(61 - time.time() % 60)
        enabled_at = time.monotonic()
        enabled_wall = time.time()
        answer = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                      RotationRules={"ScheduleExpression": "rate(1 minute)"}, RotateImmediately=False)
        test_token = answer["VersionId"]
        assert wait_for_outcome(node, arn, test_token, timeout=20) == "RotationSucceeded", node_log(node)[-6000:]
        steps = rotation_events(node, arn, test_token, "RotationStepStarted")
        assert [(s["Step"], s["Kind"]) for s in steps] == [("testSecret", "test")], steps

        described = client.describe_secret(SecretId=arn)
        assert described["RotationEnabled"] is True
        assert described["RotationRules"]["ScheduleExpression"] == "rate(1 minute)"
        assert "NextRotationDate" in described
        assert enabled_wall - 1 < described["NextRotationDate"].timestamp() <= enabled_wall + 61, described
        assert "LastRotatedDate" not in described, "RotateImmediately=False rotated"
        assert test_token not in described["VersionIdsToStages"], described["VersionIdsToStages"]
        assert client.get_secret_value(SecretId=arn)["SecretString"] == initial

        # No client call from here on: the scheduler starts the rotation when the window opens.
        def rotated():
            d = client.describe_secret(SecretId=arn)
            return d if "LastRotatedDate" in d else None
        described = wait_until(rotated, 85 - (time.monotonic() - enabled_at), "the scheduled rotation", interval=1)
        current = client.get_secret_value(SecretId=arn)
        assert current["SecretString"] != initial and len(current["SecretString"]) == 32
        assert current["VersionId"] not in (first_version, test_token)
        assert described["VersionIdsToStages"][first_version] == ["AWSPREVIOUS"]
        runs = [e for e in rotation_events(node, arn, current["VersionId"]) if e["eventName"] == "RotationSucceeded"]
        assert runs and runs[0]["Kind"] == "rotate"
        assert described["NextRotationDate"] > described["LastRotatedDate"]
        assert initial not in node_log(node) and current["SecretString"] not in node_log(node)


# -- 5. a function that hangs ----------------------------------------------------------------------------
# AWS: "Troubleshoot rotation" ("Task timed out": a rotation function that runs past its timeout).

HANGING = """#!/bin/bash
echo $$ > {pids}
sleep 60 &
echo $! >> {pids}
wait
"""


def test_hanging_function_is_killed_at_its_timeout(tmp_path):
    pids = tmp_path / "pids"
    script = write_script(tmp_path / "hanging", HANGING.format(pids=pids))
    arn_fn = lambda_arn("hangs")
    with rotation_node(tmp_path, {arn_fn: executable(script, timeout=2)}, maxAttempts=1) as node:
        client = node.client()
        arn = client.create_secret(Name="api/hangs", SecretString="value-" + secrets.token_hex(8))["ARN"]
        started = time.monotonic()
        token = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                     RotationRules={"AutomaticallyAfterDays": 1})["VersionId"]
        assert wait_for_outcome(node, arn, token, timeout=20) == "RotationFailed"
        elapsed = time.monotonic() - started
        assert elapsed < 10, f"the run took {elapsed:.1f} s with a 2 s timeout"

        failed = rotation_events(node, arn, token, "RotationFailed")[0]
        assert failed["Step"] == "createSecret" and "timed out after 2 s" in failed["Reason"], failed
        assert "timed out after 2 s" in node_log(node)
        status = node_status(node)["rotation"]
        recent = [r for r in status["recent"] if r["clientRequestToken"] == token]
        assert recent and recent[0]["phase"] == "failed" and "timed out" in (recent[0]["lastError"] or ""), status
        assert status["running"] == [] or all(r["secretId"] != arn for r in status["running"])

        written = [int(line) for line in pids.read_text().split()]
        assert len(written) == 2, "the script did not start its sleep"

        def gone(pid):
            try:
                state = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                return True
            return "\nState:\tZ" in state  # killed, waiting for a reaper
        wait_until(lambda: all(gone(p) for p in written), 5, f"processes {written} to end")
        assert stages(client, arn)[token] == ["AWSPENDING"]


# -- 6. what a function prints is redacted ------------------------------------------------------------------
# AWS: "Monitor rotation" / "Log" (a rotation function's output goes to its CloudWatch log; we
# keep it in the node's log, with the secret's values redacted).

PRINTING = """#!/usr/bin/env python3
import json, os, sys, boto3
event = json.loads(sys.stdin.read())
client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"],
                      region_name=os.environ["AWS_REGION"], verify=os.environ["AWS_CA_BUNDLE"])
arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
current = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
print("current value:", current)
print("current value on stderr:", current, file=sys.stderr)
print("api key member:", json.loads(current)["apikey"], file=sys.stderr)
if step == "createSecret":
    pending = json.dumps({{"user": "svc", "apikey": "NEWKEY-" + os.urandom(12).hex()}})
    open({pending_file!r}, "a").write(pending + "\\n")
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=pending, VersionStages=["AWSPENDING"])
pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"]
print("pending value:", pending)
print("pending value on stderr:", pending, file=sys.stderr)
if step == "finishSecret":
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    old = next(v for v, s in stages.items() if "AWSCURRENT" in s)
    client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                       RemoveFromVersionId=old)
"""


def test_function_output_is_redacted(tmp_path):
    pending_file = tmp_path / "pending-values"
    script = write_script(tmp_path / "printing", PRINTING.format(pending_file=str(pending_file)))
    arn_fn = lambda_arn("prints")
    with rotation_node(tmp_path, {arn_fn: executable(script)}) as node:
        client = node.client()
        apikey = "OLDKEY-" + secrets.token_hex(12)
        initial = json.dumps({"user": "svc", "apikey": apikey})
        arn = client.create_secret(Name="api/printing", SecretString=initial)["ARN"]
        token = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                     RotationRules={"AutomaticallyAfterDays": 1})["VersionId"]
        assert wait_for_outcome(node, arn, token) == "RotationSucceeded", node_log(node)[-6000:]
        pending = pending_file.read_text().split("\n")[0]
        new_key = json.loads(pending)["apikey"]
        assert client.get_secret_value(SecretId=arn)["SecretString"] == pending

        log = node_log(node)
        assert "current value: [REDACTED]" in log and "pending value on stderr: [REDACTED]" in log, log[-6000:]
        assert "api key member: [REDACTED]" in log
        for value in (initial, apikey, pending, new_key):
            assert value not in log, f"{value!r} is in the node's log"
        trail = "".join(p.read_text() for p in (node.directory / "data" / "audit").glob("audit-*.jsonl"))
        for value in (apikey, new_key):
            assert value not in trail, f"{value!r} is in the audit trail"


# -- 7. an unregistered function --------------------------------------------------------------------------
# AWS: RotateSecret API reference, Errors: AccessDeniedException, and "Troubleshoot rotation"
# ("Secrets Manager cannot invoke the specified Lambda function …").

def test_unregistered_function_is_refused_and_rotation_unchanged(tmp_path):
    registered = lambda_arn("generic")
    with rotation_node(tmp_path, {registered: executable(ROTATORS / "generic-random")}) as node:
        client = node.client()
        created = client.create_secret(Name="api/unregistered", SecretString="value-" + secrets.token_hex(8))
        arn = created["ARN"]
        with pytest.raises(ClientError) as refused:
            client.rotate_secret(SecretId=arn, RotationLambdaARN=lambda_arn("nobody-registered-this"),
                                 RotationRules={"AutomaticallyAfterDays": 30})
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert refused.value.response["Error"]["Message"] == NOT_INVOKABLE
        described = client.describe_secret(SecretId=arn)
        assert not described.get("RotationEnabled") and "RotationLambdaARN" not in described
        assert "RotationRules" not in described and "NextRotationDate" not in described
        assert described["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}

        # A secret whose rotation is configured keeps it.
        answer = client.rotate_secret(SecretId=arn, RotationLambdaARN=registered,
                                      RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
        assert wait_for_outcome(node, arn, answer["VersionId"], timeout=20) == "RotationSucceeded"
        before = client.describe_secret(SecretId=arn)
        with pytest.raises(ClientError) as refused:
            client.rotate_secret(SecretId=arn, RotationLambdaARN=lambda_arn("nobody-registered-this"),
                                 RotationRules={"AutomaticallyAfterDays": 2})
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        after = client.describe_secret(SecretId=arn)
        for key in ("RotationEnabled", "RotationLambdaARN", "RotationRules", "NextRotationDate", "VersionIdsToStages"):
            assert after.get(key) == before.get(key), key
        assert after["RotationLambdaARN"] == registered and after["RotationRules"]["AutomaticallyAfterDays"] == 30


# -- 8. the rotation role's session credentials -------------------------------------------------------------
# AWS: "Lambda rotation function execution role permissions for AWS Secrets Manager" (the
# function's permissions are its role's: rotation actions on the secret, nothing more).

CHECKING = """#!/usr/bin/env python3
import json, os, subprocess, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
event = sys.stdin.read()
if json.loads(event)["Step"] == "createSecret":
    arn = json.loads(event)["SecretId"]
    def client(**kw):
        return boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"],
                            region_name=os.environ["AWS_REGION"], verify=os.environ["AWS_CA_BUNDLE"],
                            config=Config(retries={{"max_attempts": 1}}), **kw)
    def attempt(c, call):
        try:
            call(c)
            return "ok"
        except ClientError as e:
            return e.response["Error"]["Code"]
    result = {{
        "keyPrefix": os.environ["AWS_ACCESS_KEY_ID"][:4],
        "hasSessionToken": bool(os.environ.get("AWS_SESSION_TOKEN")),
        "describe": attempt(client(), lambda c: c.describe_secret(SecretId=arn)),
        "delete": attempt(client(), lambda c: c.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)),
        "createOther": attempt(client(), lambda c: c.create_secret(Name="rotation-role-made-this", SecretString="x")),
        "withoutToken": attempt(client(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                                       aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                                       aws_session_token=None),
                                lambda c: c.describe_secret(SecretId=arn)),
    }}
    open({result_file!r}, "w").write(json.dumps(result))
sys.exit(subprocess.run([{generic!r}], input=event, text=True).returncode)
"""


def test_function_gets_limited_session_credentials(tmp_path):
    result_file = tmp_path / "result.json"
    script = write_script(tmp_path / "checking",
                          CHECKING.format(result_file=str(result_file), generic=str(ROTATORS / "generic-random")))
    arn_fn = lambda_arn("checks")
    with rotation_node(tmp_path, {arn_fn: executable(script)}) as node:
        client = node.client()
        arn = client.create_secret(Name="api/session", SecretString="value-" + secrets.token_hex(8))["ARN"]
        token = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                     RotationRules={"AutomaticallyAfterDays": 1})["VersionId"]
        assert wait_for_outcome(node, arn, token) == "RotationSucceeded", node_log(node)[-6000:]
        result = json.loads(result_file.read_text())
        assert result["keyPrefix"] == "ASIA" and result["hasSessionToken"], result
        assert result["describe"] == "ok", result
        assert result["delete"] == "AccessDeniedException", result
        assert result["createOther"] == "AccessDeniedException", result
        assert result["withoutToken"] != "ok", result
        assert client.describe_secret(SecretId=arn)["Name"] == "api/session"

        # The trail names the role's session as the caller of the rotation's writes.
        puts = [r for r in audit_records(node) if r.get("eventName") == "PutSecretValue"]
        assert puts and all("strongroom-rotation" in json.dumps(r["userIdentity"]) for r in puts), puts
        denied = [r for r in audit_records(node) if r.get("eventName") == "DeleteSecret"]
        assert denied and "strongroom-rotation" in json.dumps(denied[0]["userIdentity"])


# -- 9. a webhook ----------------------------------------------------------------------------------------------
# AWS: "Rotation by Lambda function" (the event: Step, SecretId, ClientRequestToken,
# RotationToken; each step a separate invocation) — here POSTed to an HTTPS endpoint.

class _Hook:
    def __init__(self, directory: Path, port: int):
        self.events = []
        self.paths = []
        self.client = None
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event = json.loads(body)
                hook.events.append(event)
                hook.paths.append(self.path)
                try:
                    hook.perform(event)
                    status, answer = 200, b'{"ok": true}'
                except Exception as error:  # noqa: BLE001 - the node sees a 500
                    status, answer = 500, json.dumps({"error": type(error).__name__}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / "node.pem", directory / "node.key")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def perform(self, event):
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        if step == "createSecret":
            self.client.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                         SecretString="hooked-" + secrets.token_hex(12), VersionStages=["AWSPENDING"])
        elif step == "finishSecret":
            versions = self.client.describe_secret(SecretId=arn)["VersionIdsToStages"]
            old = next(v for v, s in versions.items() if "AWSCURRENT" in s)
            if old != token:
                self.client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                                        RemoveFromVersionId=old)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_function(tmp_path):
    arn_fn = lambda_arn("hook")
    hook_port = free_port()
    hooks = []

    def webhook(directory):
        hooks.append(_Hook(directory, hook_port))
        return {arn_fn: {"webhook": f"https://127.0.0.1:{hook_port}/rotate", "ca": str(directory / "ca.pem"),
                         "timeoutSeconds": 10}}
    try:
        with rotation_node(tmp_path, webhook=webhook) as node:
            hook = hooks[0]
            hook.client = node.client()
            client = node.client()
            created = client.create_secret(Name="api/webhook", SecretString="before-" + secrets.token_hex(8))
            arn = created["ARN"]
            token = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                         RotationRules={"AutomaticallyAfterDays": 1})["VersionId"]
            assert wait_for_outcome(node, arn, token) == "RotationSucceeded", node_log(node)[-6000:]
            assert [e["Step"] for e in hook.events] == STEPS
            assert set(hook.paths) == {"/rotate"}
            for event in hook.events:
                assert event["SecretId"] == arn and event["ClientRequestToken"] == token and event["RotationToken"]
            current = client.get_secret_value(SecretId=arn)
            assert current["VersionId"] == token and current["SecretString"].startswith("hooked-")
            versions = stages(client, arn)
            assert versions[created["VersionId"]] == ["AWSPREVIOUS"] and "AWSCURRENT" in versions[token]
            assert "LastRotatedDate" in client.describe_secret(SecretId=arn)
    finally:
        for hook in hooks:
            hook.stop()


# -- generic-random on a JSON secret ------------------------------------------------------------------
# AWS: "Lambda rotation functions" (a rotation function's createSecret makes the new value with
# GetRandomPassword, honouring the templates' PASSWORD_LENGTH and EXCLUDE_CHARACTERS).

def test_generic_random_changes_only_the_password_member(tmp_path):
    arn_fn = lambda_arn("generic")
    function = executable(ROTATORS / "generic-random", PASSWORD_LENGTH="20", EXCLUDE_CHARACTERS="abcXYZ")
    with rotation_node(tmp_path, {arn_fn: function}) as node:
        client = node.client()
        initial = {"user": "svc", "password": "old-" + secrets.token_hex(8), "endpoint": "https://api.example"}
        arn = client.create_secret(Name="api/json", SecretString=json.dumps(initial))["ARN"]
        token = client.rotate_secret(SecretId=arn, RotationLambdaARN=arn_fn,
                                     RotationRules={"AutomaticallyAfterDays": 1})["VersionId"]
        assert wait_for_outcome(node, arn, token) == "RotationSucceeded", node_log(node)[-6000:]
        new = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        assert dict(new, password=None) == dict(initial, password=None)
        assert new["password"] != initial["password"] and len(new["password"]) == 20
        assert not set("abcXYZ") & set(new["password"])
        assert initial["password"] not in node_log(node) and new["password"] not in node_log(node)
