"""Secrets Manager semantics over HTTPS with boto3: versions and labels, names and ARNs,
deletion, listing, tags, policies, rotation metadata, encryption at rest, and the same answers
after a kill -9 restart (state rebuilt from the region log)."""
import base64
import datetime
import signal
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import DevNode, free_port


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message", "")


def unique(prefix="s"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def sm(dev_node):
    return dev_node.client()


def test_create_get_put_labels(sm):
    name = unique("app/db")
    created = sm.create_secret(Name=name, SecretString="v1", Description="the db")
    arn = created["ARN"]
    assert created["Name"] == name
    assert arn.startswith(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-")
    assert len(arn) == len(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-") + 6
    v1 = created["VersionId"]

    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == "v1"
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert got["VersionId"] == v1
    assert isinstance(got["CreatedDate"], datetime.datetime)

    put = sm.put_secret_value(SecretId=arn, SecretString="v2")
    assert put["VersionStages"] == ["AWSCURRENT"]
    v2 = put["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"
    prev = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (prev["VersionId"], prev["SecretString"]) == (v1, "v1")
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "v1"

    pending = sm.put_secret_value(SecretId=name, SecretString="v3", VersionStages=["AWSPENDING"])
    assert pending["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"

    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"], pending["VersionId"]: ["AWSPENDING"]}

    # Finish a "rotation": move AWSCURRENT to the pending version.
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                   RemoveFromVersionId=v2, MoveToVersionId=pending["VersionId"])
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v3"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "v2"

    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1)
    assert error_of(e)[0] == "InvalidParameterException"

    # Partial ARN (no suffix) finds it too.
    assert sm.get_secret_value(SecretId=arn[:-7])["SecretString"] == "v3"

    # v1 lost AWSPREVIOUS to v2: deprecated, listed only on request, without VersionStages.
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert {v["VersionId"] for v in versions} == {v2, pending["VersionId"]}
    versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in versions} == {v1, v2, pending["VersionId"]}
    assert [v for v in versions if v["VersionId"] == v1][0].get("VersionStages") is None


def test_binary_values(sm):
    name = unique()
    blob = bytes(range(256))
    sm.create_secret(Name=name, SecretBinary=blob)
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == blob
    assert "SecretString" not in got


def test_client_request_token_idempotency(sm):
    name = unique()
    token = str(uuid.uuid4())
    a = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=token)
    b = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=token)
    assert (a["ARN"], a["VersionId"]) == (b["ARN"], b["VersionId"]) == (a["ARN"], token)
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="different", ClientRequestToken=token)
    assert error_of(e)[0] == "ResourceExistsException"

    t2 = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=t2)
    sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=t2)
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 2
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name, SecretString="three", ClientRequestToken=t2)
    assert error_of(e)[0] == "ResourceExistsException"


def test_errors_have_aws_types(sm):
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=unique("missing"))
    assert error_of(e) == ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="y")
    assert error_of(e)[0] == "ResourceExistsException"
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=unique(), SecretString="a", SecretBinary=b"b")
    assert error_of(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=unique(), SecretString="a", KmsKeyId="alias/does-not-exist")
    assert error_of(e)[0] in ("EncryptionFailure", "ResourceNotFoundException", "InvalidParameterException",
                              "InvalidRequestException", "KMSInvalidStateException")
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="bad name!", SecretString="a")
    assert error_of(e)[0] in ("ValidationException", "InvalidParameterException")
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=unique(), SecretString="x" * 65537)
    assert error_of(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=unique(), SecretString="x", Description="d" * 2049)
    assert error_of(e)[0] == "ValidationException"


def test_delete_restore_and_recreate(sm):
    name = unique()
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    before = time.time()
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert deleted["ARN"] == arn
    assert abs(deleted["DeletionDate"].timestamp() - (before + 7 * 86400)) < 60
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name)
    assert error_of(e)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=name, SecretString="y")
    assert error_of(e)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="y")
    assert error_of(e)[0] == "InvalidRequestException"
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    names = [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
    assert names == []
    names = [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True,
                                                Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
    assert names == [name]
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "x"

    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=3)
    assert error_of(e)[0] in ("InvalidParameterException", "ValidationException")
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert error_of(e)[0] == "InvalidParameterException"

    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId=name)
    assert error_of(e)[0] == "ResourceNotFoundException"
    again = sm.create_secret(Name=name, SecretString="new")
    assert again["ARN"] != arn and again["ARN"][:-6] == arn[:-6]


def test_list_filters_and_pagination(sm):
    prefix = unique("list")
    made = []
    for i in range(7):
        sm.create_secret(Name=f"{prefix}/n{i}", SecretString="x", Description=f"Number {i}",
                         Tags=[{"Key": "idx", "Value": str(i)}, {"Key": "group", "Value": prefix}])
        made.append(f"{prefix}/n{i}")
    seen = []
    kwargs = {"Filters": [{"Key": "name", "Values": [prefix]}], "MaxResults": 3}
    while True:
        page = sm.list_secrets(**kwargs)
        seen += [s["Name"] for s in page["SecretList"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
        # Secrets created meanwhile do not shift or repeat pages already handed out.
        if len(seen) == 3:
            sm.create_secret(Name=f"{prefix}/late", SecretString="x")
    assert sorted(seen) == sorted(made + [f"{prefix}/late"])
    assert len(seen) == len(set(seen))

    by_tag = sm.list_secrets(Filters=[{"Key": "tag-value", "Values": [prefix]}, {"Key": "tag-key", "Values": ["idx"]}])
    assert len(by_tag["SecretList"]) == 7
    negated = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix, f"!{prefix}/n1"]}])
    assert f"{prefix}/n1" not in [s["Name"] for s in negated["SecretList"]]
    desc = sm.list_secrets(Filters=[{"Key": "description", "Values": ["number 3"]}, {"Key": "name", "Values": [prefix]}])
    assert [s["Name"] for s in desc["SecretList"]] == [f"{prefix}/n3"]
    desc_order = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}], SortOrder="desc")["SecretList"]
    assert desc_order[0]["Name"] == f"{prefix}/late"
    paginator = sm.get_paginator("list_secrets")
    total = sum(len(p["SecretList"]) for p in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}],
                                                                 PaginationConfig={"PageSize": 2}))
    assert total == 8


def test_batch_get_secret_value(sm):
    a, b = unique("batch"), unique("batch")
    sm.create_secret(Name=a, SecretString="A")
    sm.create_secret(Name=b, SecretString="B")
    out = sm.batch_get_secret_value(SecretIdList=[a, "does-not-exist-xyz", b])
    assert sorted(v["SecretString"] for v in out["SecretValues"]) == ["A", "B"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [("does-not-exist-xyz", "ResourceNotFoundException")]
    out = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [a]}])
    assert [v["Name"] for v in out["SecretValues"]] == [a]
    with pytest.raises(ClientError):
        sm.batch_get_secret_value()


def test_tags_policy_rotation(sm):
    name = unique()
    sm.create_secret(Name=name, SecretString="x", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "9"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "9"}, {"Key": "b", "Value": "2"}]
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as e:
        sm.tag_resource(SecretId=name, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert error_of(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sm.tag_resource(SecretId=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error_of(e)[0] == "InvalidParameterException"

    policy = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},'
              '"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}')
    assert sm.validate_resource_policy(ResourcePolicy=policy)["PolicyValidationPassed"] is True
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    assert sm.get_resource_policy(SecretId=name)["ResourcePolicy"] == policy
    with pytest.raises(ClientError) as e:
        sm.put_resource_policy(SecretId=name, ResourcePolicy='{"Statement": 5}')
    assert error_of(e)[0] == "MalformedPolicyDocumentException"
    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)

    # This node registers no rotation function: AWS's answer for one it cannot invoke, and
    # rotation stays off (test_rotation.py runs rotations with registered functions).
    lam = "arn:aws:lambda:us-east-1:123456789012:function:rotate-me"
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=lam, RotationRules={"AutomaticallyAfterDays": 30})
    assert error_of(e)[0] == "AccessDeniedException"
    d = sm.describe_secret(SecretId=name)
    assert "RotationEnabled" not in d and "RotationLambdaARN" not in d and "NextRotationDate" not in d


def test_kms_key_change_rewraps(sm, dev_node):
    name = unique()
    sm.create_secret(Name=name, SecretString="one")
    sm.put_secret_value(SecretId=name, SecretString="two")
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    default_keys = {k for v in versions for k in v.get("KmsKeyIds", [])}
    assert len(default_keys) == 1
    # The dev keyring's default key, named by its id: a change of key id re-wraps labelled versions.
    sm.update_secret(SecretId=name, KmsKeyId="alias/aws/secretsmanager", Description="same key")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "one"


def test_a_single_node_refuses_replica_regions_it_has_no_node_for(sm):
    # `strongroom dev` is one region: a replica elsewhere would stay InProgress for ever.
    name = unique()
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=name, SecretString="x", AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert error_of(e) == ("InvalidParameterException",
                           "Invalid replica region: eu-west-1 is not a region of this Strongroom cluster.")
    with pytest.raises(ClientError):
        sm.describe_secret(SecretId=name)  # nothing was created
    sm.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as e:
        sm.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert error_of(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sm.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "us-east-1"}])
    assert error_of(e) == ("InvalidParameterException", "Invalid replica region.")


def test_accounts_are_separate(dev_node, sm):
    name = unique()
    sm.create_secret(Name=name, SecretString="mine")
    other = dev_node.client(account="111122223333")
    with pytest.raises(ClientError) as e:
        other.get_secret_value(SecretId=name)
    assert error_of(e)[0] == "ResourceNotFoundException"
    other.create_secret(Name=name, SecretString="theirs")
    assert other.get_secret_value(SecretId=name)["SecretString"] == "theirs"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "mine"


# --- durability: a fresh node per test ------------------------------------------------------


@pytest.fixture
def own_node(binary, tmp_path):
    node = DevNode(tmp_path / "node", free_port()).wait_ready()
    yield node
    node.stop()


def snapshot_of(sm):
    out = {}
    for page in sm.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True):
        for s in page["SecretList"]:
            d = sm.describe_secret(SecretId=s["ARN"])
            d.pop("ResponseMetadata")
            d.pop("LastAccessedDate", None)
            versions = sm.list_secret_version_ids(SecretId=s["ARN"], IncludeDeprecated=True)["Versions"]
            for v in versions:
                v.pop("LastAccessedDate", None)
            values = {}
            if "DeletedDate" not in d:
                for v in versions:
                    got = sm.get_secret_value(SecretId=s["ARN"], VersionId=v["VersionId"])
                    values[v["VersionId"]] = got.get("SecretString", got.get("SecretBinary"))
            out[s["ARN"]] = (d, versions, values)
    return out


def test_kill9_restart_gives_identical_answers_and_no_plaintext_on_disk(own_node):
    sm = own_node.client()
    plaintexts = []
    for i in range(20):
        value = f"plaintext-marker-{uuid.uuid4().hex}"
        plaintexts.append(value)
        name = f"durable/{i}"
        sm.create_secret(Name=name, SecretString=value, Tags=[{"Key": "i", "Value": str(i)}])
        if i % 3 == 0:
            more = f"plaintext-marker-{uuid.uuid4().hex}"
            plaintexts.append(more)
            sm.put_secret_value(SecretId=name, SecretString=more)
        if i % 7 == 0:
            sm.update_secret(SecretId=name, Description=f"described {i}")
        if i % 5 == 0:
            sm.delete_secret(SecretId=name, RecoveryWindowInDays=10)
    blob = b"\x00binary-marker\xff" + uuid.uuid4().bytes
    sm.create_secret(Name="durable/binary", SecretBinary=blob)
    sm.delete_secret(SecretId="durable/3", ForceDeleteWithoutRecovery=True)
    before = snapshot_of(sm)

    own_node.proc.send_signal(signal.SIGKILL)
    own_node.proc.wait()
    restarted = DevNode(own_node.directory, own_node.port).wait_ready()
    try:
        after = snapshot_of(restarted.client())
        assert after == before
        assert "durable/3" not in {a.split(":secret:")[1][:-7] for a in after}
    finally:
        restarted.stop()

    data = own_node.directory / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    assert files, "the data directory holds the region log"
    for path in files:
        content = path.read_bytes()
        for value in plaintexts:
            assert value.encode() not in content, f"plaintext found in {path}"
        assert b"plaintext-marker" not in content, f"plaintext found in {path}"
        assert b"binary-marker" not in content, f"plaintext found in {path}"
    for log in (own_node.stdout_path, own_node.stderr_path):
        assert "plaintext-marker" not in log.read_text()


def test_restart_after_snapshot_replays_tail(own_node):
    sm = own_node.client()
    for i in range(5):
        sm.create_secret(Name=f"snap/{i}", SecretString=f"value {i}")
    own_node.stop()
    restarted = DevNode(own_node.directory, own_node.port).wait_ready()
    try:
        c = restarted.client()
        for i in range(5):
            assert c.get_secret_value(SecretId=f"snap/{i}")["SecretString"] == f"value {i}"
        c.put_secret_value(SecretId="snap/0", SecretString="changed")
    finally:
        restarted.stop()
    third = DevNode(own_node.directory, own_node.port).wait_ready()
    try:
        c = third.client()
        assert c.get_secret_value(SecretId="snap/0")["SecretString"] == "changed"
        assert c.get_secret_value(SecretId="snap/0", VersionStage="AWSPREVIOUS")["SecretString"] == "value 0"
    finally:
        third.stop()
