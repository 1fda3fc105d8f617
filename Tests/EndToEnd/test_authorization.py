"""Authorization end to end: identity and resource policies across the two dev accounts, the
default-key rule, ABAC with session credentials, BlockPublicPolicy, and session expiry.

Every test drives a real `strongroom dev` node over TLS with boto3 (or the CLI); nothing is
mocked. The dev node's IAM file (iam.json) has, per account, `admin` (secretsmanager:*),
`reader` (no policy) and the role `app` (AWS's ABAC example: it may read the secrets whose
`team` tag equals its own `team` tag, `payments`); both accounts are in one organization, and
the keyring has `alias/dev-shared`, a key of 123456789012 whose key policy lets 111122223333 use it.
"""
import base64
import hashlib
import hmac
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

from conftest import BINARY

OWNER = "123456789012"
OTHER = "111122223333"


def unique(prefix="authz"):
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message", "")


def denied(call, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    code, message = error_of(e)
    assert code == "AccessDeniedException", (code, message)
    return message


def allow_policy(principal, actions=("secretsmanager:GetSecretValue",), effect="Allow"):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Principal": {"AWS": principal}, "Action": list(actions), "Resource": "*"}]})


@pytest.fixture(scope="module")
def admin(dev_node):
    return dev_node.client(OWNER, "admin")


def session_client(dev_node, credentials):
    return boto3.client(
        "secretsmanager", endpoint_url=dev_node.endpoint["endpoint"], region_name=dev_node.endpoint["region"],
        aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"], verify=dev_node.endpoint["caBundle"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def issue_session(dev_node, principal, *extra):
    out = subprocess.run([str(BINARY), "iam", "issue-session", "--dir", str(dev_node.directory), "--principal", principal,
                          *extra], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# --- same account ------------------------------------------------------------------------------


def test_reader_without_identity_policy_is_denied_everything(dev_node, admin):
    name = unique()
    arn = admin.create_secret(Name=name, SecretString="s3cr3t")["ARN"]
    reader = dev_node.client(OWNER, "reader")
    # AWS names the resource as the caller sent it: a refusal never reveals the full ARN.
    message = denied(reader.get_secret_value, SecretId=name)
    assert message == (f"User: arn:aws:iam::{OWNER}:user/reader is not authorized to perform: "
                       f"secretsmanager:GetSecretValue on resource: {name} because no identity-based policy allows "
                       f"the secretsmanager:GetSecretValue action")
    assert f"on resource: {arn} because" in denied(reader.get_secret_value, SecretId=arn)
    denied(reader.describe_secret, SecretId=name)
    denied(reader.list_secrets)
    denied(reader.put_secret_value, SecretId=name, SecretString="changed")
    denied(reader.create_secret, Name=unique(), SecretString="x")
    denied(reader.get_random_password)
    # Nothing changed, and a secret that does not exist is not revealed either.
    assert admin.get_secret_value(SecretId=name)["SecretString"] == "s3cr3t"
    denied(reader.get_secret_value, SecretId=unique("missing"))


def test_resource_policy_alone_allows_a_named_user_of_the_same_account(dev_node, admin):
    name = unique()
    admin.create_secret(Name=name, SecretString="for-the-reader")
    reader = dev_node.client(OWNER, "reader")
    denied(reader.get_secret_value, SecretId=name)
    admin.put_resource_policy(SecretId=name, ResourcePolicy=allow_policy(f"arn:aws:iam::{OWNER}:user/reader"))
    assert reader.get_secret_value(SecretId=name)["SecretString"] == "for-the-reader"
    # Only what the policy grants: DescribeSecret is still refused.
    denied(reader.describe_secret, SecretId=name)


def test_explicit_deny_in_resource_policy_beats_admin_allow(dev_node, admin):
    name = unique()
    arn = admin.create_secret(Name=name, SecretString="locked")["ARN"]
    admin.put_resource_policy(SecretId=name, ResourcePolicy=allow_policy(
        f"arn:aws:iam::{OWNER}:user/admin", effect="Deny"))
    message = denied(admin.get_secret_value, SecretId=arn)
    assert message == (f"User: arn:aws:iam::{OWNER}:user/admin is not authorized to perform: "
                       f"secretsmanager:GetSecretValue on resource: {arn} with an explicit deny in a resource-based policy")
    assert admin.describe_secret(SecretId=name)["Name"] == name
    admin.delete_resource_policy(SecretId=name)
    assert admin.get_secret_value(SecretId=name)["SecretString"] == "locked"


# --- cross account -----------------------------------------------------------------------------


def test_cross_account_needs_resource_policy_and_a_shareable_key(dev_node, admin):
    other_admin = dev_node.client(OTHER, "admin")
    shared = unique("shared")
    shared_arn = admin.create_secret(Name=shared, SecretString="cross", KmsKeyId="alias/dev-shared")["ARN"]
    default = unique("default")
    default_arn = admin.create_secret(Name=default, SecretString="stays-home")["ARN"]

    # No resource policy: the other account's admin is allowed by its identity policy only.
    message = denied(other_admin.get_secret_value, SecretId=shared_arn)
    assert message.endswith("because no resource-based policy allows the secretsmanager:GetSecretValue action")
    assert message.startswith(f"User: arn:aws:iam::{OTHER}:user/admin is not authorized")

    policy = allow_policy(f"arn:aws:iam::{OTHER}:root", ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"))
    admin.put_resource_policy(SecretId=shared_arn, ResourcePolicy=policy, BlockPublicPolicy=True)
    admin.put_resource_policy(SecretId=default_arn, ResourcePolicy=policy, BlockPublicPolicy=True)
    assert other_admin.get_secret_value(SecretId=shared_arn)["SecretString"] == "cross"
    assert other_admin.describe_secret(SecretId=shared_arn)["ARN"] == shared_arn

    # The default key cannot be used from another account, as in AWS.
    with pytest.raises(ClientError) as e:
        other_admin.get_secret_value(SecretId=default_arn)
    assert error_of(e) == ("InvalidRequestException", "You can't access a secret from a different AWS account if you "
                           "encrypt the secret with the default KMS service key.")

    # The other account's reader has no identity policy: the resource policy is not enough.
    message = denied(dev_node.client(OTHER, "reader").get_secret_value, SecretId=shared_arn)
    assert message.endswith("because no identity-based policy allows the secretsmanager:GetSecretValue action")

    # A name (not an ARN) is looked up in the caller's own account.
    with pytest.raises(ClientError) as e:
        other_admin.get_secret_value(SecretId=shared)
    assert error_of(e)[0] == "ResourceNotFoundException"
    # And the policy grants no writes.
    denied(other_admin.put_secret_value, SecretId=shared_arn, SecretString="overwrite")
    assert admin.get_secret_value(SecretId=shared)["SecretString"] == "cross"


def test_batch_get_reports_denied_secrets_per_secret(dev_node, admin):
    readable = unique()
    hidden = unique()
    admin.create_secret(Name=readable, SecretString="one")
    admin.create_secret(Name=hidden, SecretString="two")
    admin.put_resource_policy(SecretId=hidden, ResourcePolicy=allow_policy(
        f"arn:aws:iam::{OWNER}:user/admin", effect="Deny"))
    out = admin.batch_get_secret_value(SecretIdList=[readable, hidden])
    assert [v["Name"] for v in out["SecretValues"]] == [readable]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [(hidden, "AccessDeniedException")]


# --- ABAC with session credentials -----------------------------------------------------------


def test_abac_role_session_reads_only_its_teams_secrets(dev_node, admin):
    payments = unique("payments")
    other = unique("other")
    admin.create_secret(Name=payments, SecretString="pay", Tags=[{"Key": "team", "Value": "payments"}])
    admin.create_secret(Name=other, SecretString="nope", Tags=[{"Key": "team", "Value": "search"}])

    issued = issue_session(dev_node, f"arn:aws:iam::{OWNER}:role/app", "--session-name", "ci-job", "--duration", "15m")
    assert issued["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{OWNER}:assumed-role/app/ci-job"
    assert issued["Credentials"]["AccessKeyId"].startswith("ASIA")
    app = session_client(dev_node, issued["Credentials"])
    assert app.get_secret_value(SecretId=payments)["SecretString"] == "pay"
    message = denied(app.get_secret_value, SecretId=other)
    assert message.startswith(f"User: arn:aws:sts::{OWNER}:assumed-role/app/ci-job is not authorized")
    denied(app.put_secret_value, SecretId=payments, SecretString="x")

    # A session tag overrides the role's tag: the same role, another team.
    issued = issue_session(dev_node, f"arn:aws:iam::{OWNER}:role/app", "--tag", "team=search")
    search = session_client(dev_node, issued["Credentials"])
    assert search.get_secret_value(SecretId=other)["SecretString"] == "nope"
    denied(search.get_secret_value, SecretId=payments)


def test_abac_identity_policy_on_request_tags(dev_node, admin, tmp_path):
    """AWS's ABAC example for creation: a user may create only secrets tagged with its own team."""
    iam_path = dev_node.directory / "iam.json"
    original = iam_path.read_text()
    document = json.loads(original)
    account = next(a for a in document["accounts"] if a["accountId"] == OWNER)
    reader = next(p for p in account["principals"] if p["name"] == "reader")
    reader["tags"] = {"team": "payments"}
    reader["policies"] = [{"name": "CreateOwnTeam", "document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:CreateSecret", "secretsmanager:TagResource"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "owner"]}}}]}}]
    iam_path.write_text(json.dumps(document))
    try:
        dev_node.proc.send_signal(signal.SIGHUP)
        reader_client = dev_node.client(OWNER, "reader")
        deadline = time.monotonic() + 10
        name = unique("abac")
        while True:
            try:
                reader_client.create_secret(Name=name, SecretString="x", Tags=[{"Key": "team", "Value": "payments"}])
                break
            except ClientError as e:
                assert e.response["Error"]["Code"] == "AccessDeniedException"
                assert time.monotonic() < deadline, "SIGHUP reload did not take effect"
                time.sleep(0.1)
        denied(reader_client.create_secret, Name=unique("abac"), SecretString="x",
               Tags=[{"Key": "team", "Value": "search"}])
        denied(reader_client.create_secret, Name=unique("abac"), SecretString="x")
        denied(reader_client.create_secret, Name=unique("abac"), SecretString="x",
               Tags=[{"Key": "team", "Value": "payments"}, {"Key": "cost-center", "Value": "1"}])
    finally:
        iam_path.write_text(original)
        dev_node.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while True:
        try:
            dev_node.client(OWNER, "reader").create_secret(Name=unique("abac"), SecretString="x",
                                                          Tags=[{"Key": "team", "Value": "payments"}])
        except ClientError as e:
            if e.response["Error"]["Code"] == "AccessDeniedException":
                break
        assert time.monotonic() < deadline, "restoring iam.json did not take effect"
        time.sleep(0.1)


def test_invalid_iam_file_keeps_the_previous_configuration(dev_node, admin):
    iam_path = dev_node.directory / "iam.json"
    original = iam_path.read_text()
    document = json.loads(original)
    document["accounts"][0]["principals"][0]["policies"][0]["document"]["Statement"][0]["Effect"] = "Perhaps"
    iam_path.write_text(json.dumps(document))
    try:
        dev_node.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "IAM reload refused" not in dev_node.stderr + dev_node.stdout:
            assert time.monotonic() < deadline, "no log line for the refused reload"
            time.sleep(0.1)
        assert admin.get_random_password()["RandomPassword"]
    finally:
        iam_path.write_text(original)
        dev_node.proc.send_signal(signal.SIGHUP)


# --- session credentials ---------------------------------------------------------------------


def mint_session(dev_node, principal, issued_at, expires_at, key=None, tags=None):
    """A session token made the way `strongroom iam issue-session` makes one (same format, same
    signing key read from iam.json): used to make one that has already expired."""
    document = json.loads((dev_node.directory / "iam.json").read_text())
    key = key or base64.b64decode(document["sessionSigningKey"])
    access_key = "ASIA" + uuid.uuid4().hex[:16].upper()
    payload = json.dumps({"k": access_key, "p": principal, "s": "minted", "i": issued_at, "e": expires_at,
                          "t": tags or {}}, separators=(",", ":")).encode()
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    encoded = b64(payload)
    mac = hmac.new(key, b"strongroom session token v1\0" + encoded.encode(), hashlib.sha256).digest()
    secret = base64.b64encode(hmac.new(key, b"strongroom session secret v1\0" + encoded.encode(),
                                       hashlib.sha256).digest()).decode()[:40]
    return {"AccessKeyId": access_key, "SecretAccessKey": secret, "SessionToken": f"SRS1.{encoded}.{b64(mac)}"}


def test_session_credentials_work_and_expire(dev_node, admin):
    name = unique()
    admin.create_secret(Name=name, SecretString="session")
    principal = f"arn:aws:iam::{OWNER}:user/admin"
    issued = issue_session(dev_node, principal, "--duration", "1h")
    assert session_client(dev_node, issued["Credentials"]).get_secret_value(SecretId=name)["SecretString"] == "session"

    now = int(time.time())
    live = mint_session(dev_node, principal, now - 60, now + 600)
    assert session_client(dev_node, live).get_secret_value(SecretId=name)["SecretString"] == "session"
    expired = mint_session(dev_node, principal, now - 4000, now - 400)
    with pytest.raises(ClientError) as e:
        session_client(dev_node, expired).get_secret_value(SecretId=name)
    assert error_of(e) == ("ExpiredTokenException", "The security token included in the request is expired")

    forged = mint_session(dev_node, principal, now - 60, now + 600, key=os.urandom(32))
    with pytest.raises(ClientError) as e:
        session_client(dev_node, forged).get_secret_value(SecretId=name)
    assert error_of(e) == ("UnrecognizedClientException", "The security token included in the request is invalid.")

    # A token carried with another session's secret does not verify either.
    mixed = dict(issued["Credentials"], SessionToken=live["SessionToken"])
    with pytest.raises(ClientError) as e:
        session_client(dev_node, mixed).get_secret_value(SecretId=name)
    assert error_of(e)[0] == "UnrecognizedClientException"


def test_issue_session_refuses_bad_requests(dev_node):
    for extra, problem in [(["--principal", f"arn:aws:iam::{OWNER}:user/nobody"], "not a principal"),
                           (["--principal", f"arn:aws:iam::{OWNER}:user/admin", "--duration", "5m"], "between 15 minutes"),
                           (["--principal", f"arn:aws:iam::{OWNER}:user/admin", "--duration", "13h"], "between 15 minutes")]:
        out = subprocess.run([str(BINARY), "iam", "issue-session", "--dir", str(dev_node.directory), *extra],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and problem in out.stderr, out.stderr


# --- resource policy checks ------------------------------------------------------------------


def test_block_public_policy_and_validation(dev_node, admin):
    name = unique()
    admin.create_secret(Name=name, SecretString="x")
    public = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        admin.put_resource_policy(SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    assert error_of(e) == ("PublicPolicyException",
                           "You can't attach a resource-based policy that allows broad access to the secret.")
    assert "ResourcePolicy" not in admin.get_resource_policy(SecretId=name)
    # Without the flag a broad policy is accepted, as in AWS (public policies are not blocked by default).
    admin.put_resource_policy(SecretId=name, ResourcePolicy=public)

    out = admin.validate_resource_policy(SecretId=name, ResourcePolicy=public)
    assert out["PolicyValidationPassed"] is False
    assert [v["CheckName"] for v in out["ValidationErrors"]] == ["BROAD_ACCESS_CHECK"]
    pinned = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-strongroomdev"}}}]})
    out = admin.validate_resource_policy(ResourcePolicy=pinned)
    assert (out["PolicyValidationPassed"], out["ValidationErrors"]) == (True, [])
    # A principal outside the organization is broad access too.
    foreign = allow_policy("arn:aws:iam::999999999999:root")
    with pytest.raises(ClientError) as e:
        admin.put_resource_policy(SecretId=name, ResourcePolicy=foreign, BlockPublicPolicy=True)
    assert error_of(e)[0] == "PublicPolicyException"

    bad = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}'
    with pytest.raises(ClientError) as e:
        admin.put_resource_policy(SecretId=name, ResourcePolicy=bad)
    assert error_of(e)[0] == "MalformedPolicyDocumentException"
    out = admin.validate_resource_policy(ResourcePolicy=bad)
    assert out["PolicyValidationPassed"] is False
    assert out["ValidationErrors"][0]["CheckName"] == "SYNTAX_CHECK" and out["ValidationErrors"][0]["ErrorMessage"]


def test_condition_on_version_stage_and_source_ip(dev_node, admin):
    """A resource policy can scope by staging label and by source address; the VersionStage
    trap: a request that sends no VersionStage has no secretsmanager:VersionStage key."""
    name = unique()
    admin.create_secret(Name=name, SecretString="v1")
    admin.put_secret_value(SecretId=name, SecretString="v2")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:user/reader"},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"secretsmanager:VersionStage": "AWSPREVIOUS"},
                       "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]})
    admin.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    reader = dev_node.client(OWNER, "reader")
    assert reader.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "v1"
    denied(reader.get_secret_value, SecretId=name, VersionStage="AWSCURRENT")
    denied(reader.get_secret_value, SecretId=name)
