"""Behaviours AWS documents that Strongroom once answered differently (issue "API fidelity"),
one test each, written from AWS's documentation; docs/API-FIDELITY.md has the table."""
import json

import pytest
from botocore.exceptions import ClientError

from rawhttp import connect, read_response, signed_request

INVALID_NAME = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
TOKEN_REQUIRED = "You must provide a ClientRequestToken value. We recommend a UUID-type value."


def error_of(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def raw_call(node, operation, body):
    head, payload = signed_request(node, operation, body)
    with connect(node) as sock:
        sock.sendall(head + payload)
        response = read_response(sock, bytearray())
    return response.status, response.json()


@pytest.mark.parametrize("operation", [
    lambda c, i: c.delete_secret(SecretId=i, ForceDeleteWithoutRecovery=True),
    lambda c, i: c.describe_secret(SecretId=i),
    lambda c, i: c.get_secret_value(SecretId=i),
    lambda c, i: c.list_secret_version_ids(SecretId=i),
    lambda c, i: c.put_secret_value(SecretId=i, SecretString="x"),
    lambda c, i: c.tag_resource(SecretId=i, Tags=[{"Key": "k", "Value": "v"}]),
    lambda c, i: c.untag_resource(SecretId=i, TagKeys=["k"]),
    lambda c, i: c.update_secret(SecretId=i, Description="d"),
    lambda c, i: c.validate_resource_policy(SecretId=i, ResourcePolicy='{"Version":"2012-10-17","Statement":[]}'),
], ids=["DeleteSecret", "DescribeSecret", "GetSecretValue", "ListSecretVersionIds", "PutSecretValue", "TagResource",
        "UntagResource", "UpdateSecret", "ValidateResourcePolicy"])
def test_a_secret_id_with_a_space_is_a_validation_error(dev_node, operation):
    # AWS answers a SecretId outside the name characters with ValidationException "Invalid
    # name…" before it looks for the secret (recorded against AWS; the API reference's
    # SecretId: "the ARN or name of the secret"). DeleteSecret used to answer with an ARN.
    assert error_of(lambda: operation(dev_node.client(), "has space")) == ("ValidationException", INVALID_NAME)


def test_valid_secret_ids_are_still_looked_up(dev_node):
    client = dev_node.client()
    created = client.create_secret(Name="fidelity/ids+=.@-_", SecretString="x")
    for secret_id in ("fidelity/ids+=.@-_", created["ARN"], created["ARN"][:-7]):
        assert client.describe_secret(SecretId=secret_id)["ARN"] == created["ARN"]
    # '!' is in AWS's message: not a name character, so a clean ResourceNotFoundException.
    assert error_of(lambda: client.describe_secret(SecretId="no!such"))[0] == "ResourceNotFoundException"


@pytest.mark.parametrize("operation, body, code", [
    ("PutSecretValue", {"SecretId": "fidelity/missing", "SecretString": "x"}, "InvalidRequestException"),
    ("UpdateSecret", {"SecretId": "fidelity/missing", "SecretString": "x"}, "InvalidRequestException"),
    ("RotateSecret", {"SecretId": "fidelity/missing"}, "InvalidParameterException"),
])
def test_a_missing_client_request_token_is_answered_before_existence(dev_node, operation, body, code):
    # PutSecretValue, UpdateSecret and RotateSecret (API reference, ClientRequestToken): "If you
    # don't use the SDK and instead generate a raw HTTP request to the Secrets Manager service
    # endpoint, then you must generate a ClientRequestToken and include it in the request."
    # Checked before the secret is looked for, as AWS does.
    status, answer = raw_call(dev_node, operation, body)
    assert status == 400
    assert answer["__type"].endswith(code), answer
    assert answer.get("message", answer.get("Message")) == TOKEN_REQUIRED, answer


def test_update_secret_without_a_value_needs_no_token(dev_node):
    client = dev_node.client()
    client.create_secret(Name="fidelity/describe-only", SecretString="x")
    status, answer = raw_call(dev_node, "UpdateSecret", {"SecretId": "fidelity/describe-only", "Description": "d"})
    assert status == 200, answer
    assert client.describe_secret(SecretId="fidelity/describe-only")["Description"] == "d"


def test_an_empty_kms_key_id_returns_a_secret_to_the_default_key(dev_node):
    # UpdateSecret, KmsKeyId (API reference): "If you set this to an empty string, Secrets
    # Manager uses the Amazon Web Services managed key aws/secretsmanager."
    client = dev_node.client()
    client.create_secret(Name="fidelity/back-to-default", SecretString="v1", KmsKeyId="alias/dev-shared")
    assert client.describe_secret(SecretId="fidelity/back-to-default")["KmsKeyId"] == "alias/dev-shared"
    client.update_secret(SecretId="fidelity/back-to-default", KmsKeyId="")
    assert "KmsKeyId" not in client.describe_secret(SecretId="fidelity/back-to-default")
    # Every labelled version was re-wrapped under the default key and still opens.
    assert client.get_secret_value(SecretId="fidelity/back-to-default")["SecretString"] == "v1"
    client.put_secret_value(SecretId="fidelity/back-to-default", SecretString="v2")
    assert client.get_secret_value(SecretId="fidelity/back-to-default")["SecretString"] == "v2"
    assert client.get_secret_value(SecretId="fidelity/back-to-default", VersionStage="AWSPREVIOUS")["SecretString"] == "v1"


def test_put_secret_value_answers_its_stages_in_the_order_given(dev_node):
    # PutSecretValue (API reference, response VersionStages: "The list of staging labels that
    # are currently attached to this version of the secret"): the labels the request attached,
    # as it listed them.
    client = dev_node.client()
    client.create_secret(Name="fidelity/stage-order", SecretString="v1")
    answer = client.put_secret_value(SecretId="fidelity/stage-order", SecretString="v2", VersionStages=["zeta", "alpha", "mid"])
    assert answer["VersionStages"] == ["zeta", "alpha", "mid"]


def test_rotate_secret_without_a_function_says_none_is_associated(dev_node):
    # RotateSecret on a secret that never had a rotation function and without RotationLambdaARN:
    # AWS's InvalidRequestException "No Lambda rotation function ARN is associated with this secret."
    client = dev_node.client()
    client.create_secret(Name="fidelity/no-rotation", SecretString="x")
    assert error_of(lambda: client.rotate_secret(SecretId="fidelity/no-rotation")) == (
        "InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")


def test_a_secret_whose_tags_were_all_removed_lists_an_empty_tag_list(dev_node):
    # As AWS answers (recorded against the service, the API-fidelity issue): once a secret had
    # tags, DescribeSecret and ListSecrets keep a Tags member, empty when every tag is gone; a
    # secret never tagged has none (the snapshot keeps it: CodingTests).
    client = dev_node.client()
    client.create_secret(Name="fidelity/never-tagged", SecretString="x")
    client.create_secret(Name="fidelity/untagged", SecretString="x", Tags=[{"Key": "team", "Value": "a"}])
    client.untag_resource(SecretId="fidelity/untagged", TagKeys=["team"])
    assert "Tags" not in client.describe_secret(SecretId="fidelity/never-tagged")
    assert client.describe_secret(SecretId="fidelity/untagged")["Tags"] == []
    listed = {s["Name"]: s for s in client.list_secrets(Filters=[{"Key": "name", "Values": ["fidelity/"]}])["SecretList"]}
    assert "Tags" not in listed["fidelity/never-tagged"]
    assert listed["fidelity/untagged"]["Tags"] == []


def test_list_secret_version_ids_shows_each_versions_own_last_access_day(dev_node):
    # ListSecretVersionIds, SecretVersionsListEntry.LastAccessedDate: "The date that this version
    # of the secret was last accessed. Note that the resolution of this field is at the date
    # level and does not include the time." A version never read has none (it used to show the
    # secret's day on every version).
    import datetime
    client = dev_node.client()
    client.create_secret(Name="fidelity/version-days", SecretString="v1")
    client.put_secret_value(SecretId="fidelity/version-days", SecretString="v2")
    client.get_secret_value(SecretId="fidelity/version-days")  # AWSCURRENT: v2

    def days():
        versions = client.list_secret_version_ids(SecretId="fidelity/version-days")["Versions"]
        return {v["VersionStages"][0]: v.get("LastAccessedDate") for v in versions}
    import time
    deadline = time.monotonic() + 10
    while days()["AWSCURRENT"] is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the access day is logged after the read is answered
    seen = days()
    assert seen["AWSPREVIOUS"] is None
    current = seen["AWSCURRENT"]
    assert current is not None
    midnight = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    assert current == midnight, current  # a date, no time


# ListSecrets / BatchGetSecretValue filters. The rules are the API reference's (`Filter`: "name:
# Prefix match, case-sensitive", "description: … not case-sensitive", "all: Breaks the filter
# value string into words and then searches all attributes for matches. Not case-sensitive")
# and the examples of the user guide's "Find secrets in AWS Secrets Manager".
SCOPE = {"Key": "tag-key", "Values": ["fidelity-filters"]}


@pytest.fixture(scope="module")
def filter_secrets(dev_node):
    client = dev_node.client()
    rows = [
        ("DatabaseSecret", None, {}), ("databaseSecret", None, {}), ("MyData", None, {}),
        ("flt/production", None, {"Production": "a"}), ("flt/prod1", None, {"Prod1": "b"}),
        ("flt/lower", None, {"prod": "Prod"}), ("flt/spaced", None, {"1 Prod": "c"}),
        ("flt/d1", "My Description", {}), ("flt/d2", "my description", {}),
        ("flt/d3", "My basic description", {}), ("flt/d4", "Description of my secret", {}),
        ("flt/d5", "Mine alone", {}),
        ("flt/same-field", "Secrets for the team", {}), ("flt/two-fields", None, {"secrets": "for"}),
    ]
    for name, description, tags in rows:
        extra = {"Description": description} if description else {}
        client.create_secret(Name=name, SecretString=name, **extra,
                             Tags=[{"Key": "fidelity-filters", "Value": "1"}] + [{"Key": k, "Value": v} for k, v in tags.items()])
    return client


def listed(client, *filters):
    return sorted(s["Name"] for s in client.list_secrets(Filters=[SCOPE, *filters])["SecretList"])


def test_a_name_filter_is_a_case_sensitive_prefix_of_the_whole_name(filter_secrets):
    # User guide: "Name: Data returns a secret named DatabaseSecret, but not databaseSecret or MyData."
    assert listed(filter_secrets, {"Key": "name", "Values": ["Data"]}) == ["DatabaseSecret"]
    assert listed(filter_secrets, {"Key": "name", "Values": ["Data", "My"]}) == ["DatabaseSecret", "MyData"]
    # A negation: every scoped secret whose name does not start with "flt/".
    assert listed(filter_secrets, {"Key": "name", "Values": ["!flt/"]}) == ["DatabaseSecret", "MyData", "databaseSecret"]


def test_tag_filters_are_case_sensitive_prefixes(filter_secrets):
    # User guide: "Tag key: Prod returns secrets with the tag Production and Prod1, but not
    # secrets with the tag prod or 1 Prod"; the same for tag values.
    assert listed(filter_secrets, {"Key": "tag-key", "Values": ["Prod"]}) == ["flt/prod1", "flt/production"]
    assert listed(filter_secrets, {"Key": "tag-value", "Values": ["Prod"]}) == ["flt/lower"]
    # Several filters are ANDed.
    assert listed(filter_secrets, {"Key": "tag-key", "Values": ["Prod"]}, {"Key": "name", "Values": ["flt/prod1"]}) == ["flt/prod1"]


def test_description_and_all_match_words_ignoring_case(filter_secrets):
    # User guide: "Description: My Description matches … My Description, my description, My
    # basic description, Description of my secret".
    assert listed(filter_secrets, {"Key": "description", "Values": ["My Description"]}) == [
        "flt/d1", "flt/d2", "flt/d3", "flt/d4"]
    # all: the words must be found in one field (AWS's launch post of the search: "secrets
    # for" finds a name, description, tag key or tag value that holds both).
    assert listed(filter_secrets, {"Key": "all", "Values": ["SECRETS FOR"]}) == ["flt/same-field"]
    assert "flt/two-fields" in listed(filter_secrets, {"Key": "all", "Values": ["secrets"]})


@pytest.mark.parametrize("operation", ["ListSecrets", "BatchGetSecretValue"])
@pytest.mark.parametrize("filters, code, message", [
    ([{"Values": ["x"]}], "InvalidParameterException", "Invalid filter key"),
    ([{"Key": "name"}], "InvalidParameterException", "Invalid filter values for key: name"),
    ([{"Key": "nope", "Values": ["x"]}], "ValidationException",
     "1 validation error detected: Value 'nope' at 'filters.1.member.key' failed to satisfy constraint: Member must "
     "satisfy enum value set: [all, name, tag-key, description, tag-value, primary-region, owning-service]"),
    ([{"Key": "name", "Values": []}], "ValidationException",
     "1 validation error detected: Value '[]' at 'filters.1.member.values' failed to satisfy constraint: Member must "
     "have length greater than or equal to 1"),
], ids=["no-key", "no-values", "unknown-key", "empty-values"])
def test_a_malformed_filter_is_refused(dev_node, operation, filters, code, message):
    # Raw HTTP: botocore would refuse an empty list itself. The key and values checks are
    # moto's record of AWS's answers; the validation wording is the model layer's.
    status, answer = raw_call(dev_node, operation, {"Filters": filters})
    assert status == 400
    assert answer["__type"].endswith(code), answer
    assert answer.get("message", answer.get("Message")) == message, answer


def test_batch_get_secret_value_filters_as_list_secrets_does(filter_secrets):
    got = filter_secrets.batch_get_secret_value(Filters=[SCOPE, {"Key": "name", "Values": ["Data", "My"]}])
    assert sorted(v["SecretString"] for v in got["SecretValues"]) == ["DatabaseSecret", "MyData"]
    assert got["Errors"] == []


def test_batch_get_secret_value_reports_each_failure_as_get_secret_value_would(dev_node):
    # BatchGetSecretValue, APIErrorType: ErrorCode is the exception GetSecretValue raises for
    # that secret ("for example ResourceNotFoundException, … InvalidRequestException") and
    # Message its message.
    client = dev_node.client()
    client.create_secret(Name="fidelity/batch-ok", SecretString="ok")
    client.create_secret(Name="fidelity/batch-empty")
    client.create_secret(Name="fidelity/batch-deleted", SecretString="gone")
    client.delete_secret(SecretId="fidelity/batch-deleted", RecoveryWindowInDays=7)
    ids = ["fidelity/batch-ok", "fidelity/batch-missing", "fidelity/batch-empty", "fidelity/batch-deleted"]
    got = client.batch_get_secret_value(SecretIdList=ids)
    assert [v["Name"] for v in got["SecretValues"]] == ["fidelity/batch-ok"]
    errors = {e["SecretId"]: (e["ErrorCode"], e["Message"]) for e in got["Errors"]}
    for secret_id in ids[1:]:
        code, message = error_of(lambda: client.get_secret_value(SecretId=secret_id))
        assert errors[secret_id] == (code, message)
    assert errors["fidelity/batch-missing"] == ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    assert errors["fidelity/batch-empty"] == (
        "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
    assert errors["fidelity/batch-deleted"] == (
        "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
    # By filter, a listed secret without a value is an entry in Errors too (by its ARN), not
    # silently left out; one scheduled for deletion is not listed at all.
    got = client.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["fidelity/batch-"]}])
    assert [v["Name"] for v in got["SecretValues"]] == ["fidelity/batch-ok"]
    empty_arn = client.describe_secret(SecretId="fidelity/batch-empty")["ARN"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in got["Errors"]] == [(empty_arn, "ResourceNotFoundException")]


def test_validate_resource_policy_reports_a_policy_that_locks_the_caller_out(dev_node):
    # ValidateResourcePolicy (API reference): "Verifies the policy does not lock out a caller."
    # A policy that explicitly denies the caller PutResourcePolicy on the secret cannot be
    # taken back by that caller once attached.
    client = dev_node.client()
    client.create_secret(Name="fidelity/lockout", SecretString="x")
    admin = dev_node.principal()["arn"]

    def policy(principal, action):
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"}]})
    for locked in (policy(admin, "secretsmanager:PutResourcePolicy"), policy("*", "secretsmanager:*")):
        answer = client.validate_resource_policy(SecretId="fidelity/lockout", ResourcePolicy=locked)
        assert answer["PolicyValidationPassed"] is False
        assert [e["CheckName"] for e in answer["ValidationErrors"]] == ["LOCKOUT_CHECK"]
        assert "will not allow you to manage this secret" in answer["ValidationErrors"][0]["ErrorMessage"]
    # A deny for someone else, or of reading only, leaves the caller in charge.
    other = "arn:aws:iam::123456789012:user/reader"
    for fine in (policy(other, "secretsmanager:*"), policy(admin, "secretsmanager:GetSecretValue")):
        answer = client.validate_resource_policy(SecretId="fidelity/lockout", ResourcePolicy=fine)
        assert answer == {"PolicyValidationPassed": True, "ValidationErrors": [], "ResponseMetadata": answer["ResponseMetadata"]}
