"""Every operation of botocore's Secrets Manager model, probed for the errors its model lists
that a request alone can provoke: required members missing, a secret that does not exist, a
secret scheduled for deletion, an expired NextToken. docs/API-FIDELITY.md's per-operation
table (scripts/api-fidelity-table.py) cites these tests."""
import gzip
import json
import os
import uuid

import botocore
import pytest

from rawhttp import connect, read_response, signed_request

MODEL = json.load(gzip.open(os.path.join(os.path.dirname(botocore.__file__), "data", "secretsmanager",
                                         "2017-10-17", "service-2.json.gz")))
OPERATIONS = sorted(MODEL["operations"])
NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "AWS": "arn:aws:iam::123456789012:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})


def call(node, operation, body):
    head, payload = signed_request(node, operation, body)
    with connect(node) as sock:
        sock.sendall(head + payload)
        response = read_response(sock, bytearray())
    answer = response.json() if response.body else {}
    kind = answer.get("__type", "").split("#")[-1]
    return response.status, kind, answer.get("message", answer.get("Message"))


def required(operation):
    shape = MODEL["shapes"][MODEL["operations"][operation]["input"]["shape"]]
    return shape.get("required", [])


def test_the_model_has_the_23_operations_the_table_covers():
    assert len(OPERATIONS) == 23


@pytest.mark.parametrize("operation", OPERATIONS)
def test_missing_required_members_are_one_validation_exception(dev_node, operation):
    # The model layer: every required member missing is reported at once, in the shape's
    # member order, "N validation error(s) detected: Value null at 'member' …".
    members = [m for m in MODEL["shapes"][MODEL["operations"][operation]["input"]["shape"]]["members"]
               if m in required(operation)]
    status, kind, message = call(dev_node, operation, {})
    if not members:
        assert kind != "ValidationException", (status, kind, message)
        return
    assert (status, kind) == (400, "ValidationException"), message
    noun = "error" if len(members) == 1 else "errors"
    expected = f"{len(members)} validation {noun} detected: " + "; ".join(
        f"Value null at '{m[0].lower() + m[1:]}' failed to satisfy constraint: Member must not be null" for m in members)
    assert message == expected


# A well-formed request for each operation on SECRET (filled in per test); None: no SecretId.
def body(operation, secret):
    token = str(uuid.uuid4())
    return {
        "CancelRotateSecret": {"SecretId": secret},
        "DeleteResourcePolicy": {"SecretId": secret},
        "DeleteSecret": {"SecretId": secret},
        "DescribeSecret": {"SecretId": secret},
        "GetResourcePolicy": {"SecretId": secret},
        "GetSecretValue": {"SecretId": secret},
        "ListSecretVersionIds": {"SecretId": secret},
        "PutResourcePolicy": {"SecretId": secret, "ResourcePolicy": POLICY},
        "PutSecretValue": {"SecretId": secret, "SecretString": "v", "ClientRequestToken": token},
        "RemoveRegionsFromReplication": {"SecretId": secret, "RemoveReplicaRegions": ["eu-west-1"]},
        "ReplicateSecretToRegions": {"SecretId": secret, "AddReplicaRegions": [{"Region": "eu-west-1"}]},
        "RestoreSecret": {"SecretId": secret},
        "RotateSecret": {"SecretId": secret, "ClientRequestToken": token,
                         "RotationLambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:r"},
        "StopReplicationToReplica": {"SecretId": secret},
        "TagResource": {"SecretId": secret, "Tags": [{"Key": "k", "Value": "v"}]},
        "UntagResource": {"SecretId": secret, "TagKeys": ["k"]},
        "UpdateSecret": {"SecretId": secret, "Description": "d"},
        "UpdateSecretVersionStage": {"SecretId": secret, "VersionStage": "custom",
                                     "MoveToVersionId": "00000000-0000-4000-8000-000000000001"},
        "ValidateResourcePolicy": {"SecretId": secret, "ResourcePolicy": POLICY},
    }.get(operation)


WITH_SECRET = [op for op in OPERATIONS if body(op, "x") is not None]


@pytest.mark.parametrize("operation", WITH_SECRET)
def test_a_secret_that_does_not_exist_is_not_found(dev_node, operation):
    # Every operation on one secret lists ResourceNotFoundException; AWS's text for a name
    # that names no secret (the same for every operation, GetSecretValue's recorded answer).
    assert "ResourceNotFoundException" in [e["shape"] for e in MODEL["operations"][operation]["errors"]]
    status, kind, message = call(dev_node, operation, body(operation, "probe/never-created"))
    assert (status, kind, message) == (400, "ResourceNotFoundException", NOT_FOUND)


# What each operation answers on a secret scheduled for deletion (DeleteSecret with a recovery
# window). AWS's model documents the refusal among InvalidRequestException's "possible causes"
# ("The secret is scheduled for deletion."), an error most of these operations list;
# DescribeSecret, ListSecretVersionIds and RestoreSecret work on such a secret (RestoreSecret
# exists for it, DescribeSecret shows its DeletedDate). Which of the others AWS refuses, and in
# which order against their other checks, is not documented: the expectations below are this
# server's answers, recorded so that a change shows. On this single-region node the
# replication operations first answer the request's other problem (a region outside the
# cluster, a secret that is not replicated or not a replica).
MARKED_ANSWER = ("InvalidRequestException", MARKED)
DELETED = {
    "CancelRotateSecret": MARKED_ANSWER, "DeleteResourcePolicy": MARKED_ANSWER, "DeleteSecret": MARKED_ANSWER,
    "DescribeSecret": None, "GetResourcePolicy": MARKED_ANSWER, "GetSecretValue": MARKED_ANSWER,
    "ListSecretVersionIds": None, "PutResourcePolicy": MARKED_ANSWER, "PutSecretValue": MARKED_ANSWER,
    "RemoveRegionsFromReplication": ("InvalidParameterException", "The secret isn't replicated to region eu-west-1."),
    "ReplicateSecretToRegions": ("InvalidParameterException",
                                 "Invalid replica region: eu-west-1 is not a region of this Strongroom cluster."),
    "RestoreSecret": None,
    "RotateSecret": MARKED_ANSWER,
    "StopReplicationToReplica": ("InvalidRequestException",
                                 "StopReplicationToReplica can only be called on a replica secret, in the replica's region."),
    "TagResource": MARKED_ANSWER, "UntagResource": MARKED_ANSWER, "UpdateSecret": MARKED_ANSWER,
    "UpdateSecretVersionStage": MARKED_ANSWER, "ValidateResourcePolicy": None,
}


@pytest.mark.parametrize("operation", WITH_SECRET)
def test_a_secret_scheduled_for_deletion(dev_node, operation):
    client = dev_node.client()
    name = f"probe/deleted-{operation}"
    client.create_secret(Name=name, SecretString="x")
    client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    status, kind, message = call(dev_node, operation, body(operation, name))
    if DELETED[operation] is None:
        assert status == 200, (kind, message)
    else:
        assert (status, kind, message) == (400, *DELETED[operation])


@pytest.mark.parametrize("operation", ["ListSecrets", "ListSecretVersionIds", "BatchGetSecretValue"])
def test_a_bad_next_token_is_invalid_next_token_exception(dev_node, operation):
    client = dev_node.client()
    client.create_secret(Name=f"probe/token-{operation}", SecretString="x")
    request = {"NextToken": "garbage"}
    if operation == "ListSecretVersionIds":
        request["SecretId"] = f"probe/token-{operation}"
    if operation == "BatchGetSecretValue":
        request["Filters"] = [{"Key": "name", "Values": ["probe/"]}]
    status, kind, message = call(dev_node, operation, request)
    assert (status, kind) == (400, "InvalidNextTokenException"), message


BOTH_VALUES = "You can't specify both a binary secret value and a string secret value in the same secret."


@pytest.mark.parametrize("operation", ["CreateSecret", "PutSecretValue", "UpdateSecret"])
def test_both_values_is_invalid_parameter(dev_node, operation):
    client = dev_node.client()
    name = f"probe/both-{operation}"
    if operation != "CreateSecret":
        client.create_secret(Name=name, SecretString="x")
    request = {"SecretString": "a", "SecretBinary": "Yg==", "ClientRequestToken": str(uuid.uuid4()),
               "Name" if operation == "CreateSecret" else "SecretId": name}
    assert call(dev_node, operation, request) == (400, "InvalidParameterException", BOTH_VALUES)


def test_batch_get_secret_value_pages_only_with_filters(dev_node):
    # BatchGetSecretValue, MaxResults: "To use this parameter, you must also use the Filters
    # parameter." (the message is this server's; AWS's is unverified)
    status, kind, _ = call(dev_node, "BatchGetSecretValue", {"SecretIdList": ["probe/x"], "MaxResults": 2})
    assert (status, kind) == (400, "InvalidParameterException")
    client = dev_node.client()
    for n in range(3):
        client.create_secret(Name=f"probe/page-{n}", SecretString=str(n))
    seen, token = [], None
    while True:
        extra = {"NextToken": token} if token else {}
        page = client.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["probe/page-"]}], MaxResults=2, **extra)
        assert len(page["SecretValues"]) <= 2
        seen += [v["SecretString"] for v in page["SecretValues"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == ["0", "1", "2"]


def test_validate_resource_policy_reports_a_policy_that_does_not_parse(dev_node):
    # Reported as a failed SYNTAX_CHECK, not as MalformedPolicyDocumentException (which the
    # model also lists): what AWS answers for text that is not JSON at all is unverified.
    answer = dev_node.client().validate_resource_policy(ResourcePolicy="{not json")
    assert answer["PolicyValidationPassed"] is False
    assert [e["CheckName"] for e in answer["ValidationErrors"]] == ["SYNTAX_CHECK"]


def test_restore_secret_on_a_secret_not_scheduled_for_deletion(dev_node):
    # This server answers it as a restore that changes nothing; AWS's answer is unverified.
    client = dev_node.client()
    client.create_secret(Name="probe/restore-live", SecretString="x")
    assert call(dev_node, "RestoreSecret", {"SecretId": "probe/restore-live"})[0] == 200


def test_update_secret_answers_as_create_and_put_do(dev_node):
    client = dev_node.client()
    client.create_secret(Name="probe/update", SecretString="v1")
    token = str(uuid.uuid4())
    client.update_secret(SecretId="probe/update", SecretBinary=b"\x00\x01", ClientRequestToken=token)
    assert client.get_secret_value(SecretId="probe/update")["SecretBinary"] == b"\x00\x01"
    # The same token with another value: ResourceExistsException, as PutSecretValue answers.
    status, kind, _ = call(dev_node, "UpdateSecret", {"SecretId": "probe/update", "SecretString": "other",
                                                      "ClientRequestToken": token})
    assert (status, kind) == (400, "ResourceExistsException")
    # A KmsKeyId naming no key: EncryptionFailure, as CreateSecret answers (message unverified).
    status, kind, _ = call(dev_node, "UpdateSecret", {"SecretId": "probe/update", "KmsKeyId": "alias/does-not-exist"})
    assert (status, kind) == (400, "EncryptionFailure")


def test_a_value_whose_key_left_the_keyring_is_a_decryption_failure(binary, tmp_path):
    # DecryptionFailure (the model): "Secrets Manager can't decrypt the protected secret text
    # using the provided KMS key." Here: the customer key is removed from the node's keyring.
    from conftest import DevNode, free_port
    directory = tmp_path / "node"
    node = DevNode(directory, free_port()).wait_ready()
    try:
        node.client().create_secret(Name="probe/keyless", SecretString="x", KmsKeyId="alias/dev-shared")
    finally:
        node.stop()
    keyring = json.loads((directory / "keyring.json").read_text())
    keyring["keys"] = [k for k in keyring["keys"] if "alias/dev-shared" not in k.get("aliases", [])]
    (directory / "keyring.json").write_text(json.dumps(keyring))
    node = DevNode(directory, node.port).wait_ready()
    try:
        status, kind, _ = call(node, "GetSecretValue", {"SecretId": "probe/keyless"})
        assert (status, kind) == (400, "DecryptionFailure")
        errors = node.client().batch_get_secret_value(SecretIdList=["probe/keyless"])["Errors"]
        assert [e["ErrorCode"] for e in errors] == ["DecryptionFailure"]
    finally:
        node.stop()
