"""GetRandomPassword through boto3 and the AWS CLI against a real `strongroom dev` over TLS."""
import json
import string
import subprocess

import pytest
from botocore.exceptions import ClientError

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def classes(password: str) -> set:
    found = set()
    for c in password:
        if c in string.ascii_uppercase:
            found.add("upper")
        elif c in string.ascii_lowercase:
            found.add("lower")
        elif c in string.digits:
            found.add("digit")
        elif c in PUNCTUATION:
            found.add("punct")
        elif c == " ":
            found.add("space")
        else:
            found.add("other")
    return found


def test_defaults_are_aws_defaults(dev_node):
    answer = dev_node.client().get_random_password()
    password = answer["RandomPassword"]
    assert len(password) == 32
    assert classes(password) == {"upper", "lower", "digit", "punct"}
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ResponseMetadata"]["RequestId"]


def test_passwords_differ(dev_node):
    client = dev_node.client()
    seen = {client.get_random_password()["RandomPassword"] for _ in range(20)}
    assert len(seen) == 20


@pytest.mark.parametrize(
    "params,allowed,required",
    [
        ({"PasswordLength": 8}, {"upper", "lower", "digit", "punct"}, {"upper", "lower", "digit", "punct"}),
        ({"PasswordLength": 4096}, {"upper", "lower", "digit", "punct"}, {"upper", "lower", "digit", "punct"}),
        ({"PasswordLength": 20, "ExcludePunctuation": True}, {"upper", "lower", "digit"}, {"upper", "lower", "digit"}),
        ({"PasswordLength": 16, "ExcludeNumbers": True, "ExcludePunctuation": True}, {"upper", "lower"}, {"upper", "lower"}),
        ({"PasswordLength": 12, "ExcludeUppercase": True, "ExcludeLowercase": True, "ExcludePunctuation": True}, {"digit"}, {"digit"}),
        # With IncludeSpace the space is an included type: required like the others, even at 5.
        ({"PasswordLength": 30, "IncludeSpace": True}, {"upper", "lower", "digit", "punct", "space"}, {"upper", "lower", "digit", "punct", "space"}),
        ({"PasswordLength": 5, "IncludeSpace": True}, {"upper", "lower", "digit", "punct", "space"}, {"upper", "lower", "digit", "punct", "space"}),
        ({"PasswordLength": 1, "RequireEachIncludedType": False}, {"upper", "lower", "digit", "punct"}, set()),
    ],
)
def test_parameter_sets(dev_node, params, allowed, required):
    client = dev_node.client()
    for _ in range(5):
        password = client.get_random_password(**params)["RandomPassword"]
        assert len(password) == params["PasswordLength"]
        found = classes(password)
        assert found <= allowed, (password, found)
        assert required <= found, (password, found)


def test_exclude_characters(dev_node):
    excluded = "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXY01234567!@#$%"
    client = dev_node.client()
    for _ in range(10):
        password = client.get_random_password(PasswordLength=64, ExcludeCharacters=excluded)["RandomPassword"]
        assert not set(password) & set(excluded)
        assert len(password) == 64
        assert {"z", "Z"} <= set(password) and classes(password) == {"upper", "lower", "digit", "punct"}


def test_excluding_a_whole_required_class_is_an_aws_error(dev_node):
    with pytest.raises(ClientError) as raised:
        dev_node.client().get_random_password(ExcludeCharacters="0123456789")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    # Not required, the same exclusion is fine.
    password = dev_node.client().get_random_password(ExcludeCharacters="0123456789", ExcludeNumbers=True)["RandomPassword"]
    assert not set(password) & set("0123456789")


def test_everything_excluded_is_an_aws_error(dev_node):
    with pytest.raises(ClientError) as raised:
        dev_node.client().get_random_password(
            ExcludeNumbers=True, ExcludePunctuation=True, ExcludeUppercase=True, ExcludeLowercase=True
        )
    assert raised.value.response["Error"]["Code"] in ("InvalidParameterException", "InvalidRequestException")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_aws_cli(dev_node):
    out = subprocess.run(
        ["aws", "secretsmanager", "get-random-password", "--password-length", "24", "--exclude-punctuation", "--output", "json"],
        env=dev_node.cli_env(), capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    password = json.loads(out.stdout)["RandomPassword"]
    assert len(password) == 24 and "punct" not in classes(password)


def test_aws_cli_error_exit_code(dev_node):
    out = subprocess.run(
        ["aws", "secretsmanager", "get-random-password", "--exclude-numbers", "--exclude-punctuation",
         "--exclude-uppercase", "--exclude-lowercase"],
        env=dev_node.cli_env(), capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 254 or out.returncode == 255, (out.returncode, out.stderr)
    assert "InvalidParameterException" in out.stderr or "InvalidRequestException" in out.stderr


def test_replication_operations_on_a_missing_secret_answer_awss_error(dev_node):
    with pytest.raises(ClientError) as raised:
        dev_node.client().remove_regions_from_replication(SecretId="anything", RemoveReplicaRegions=["eu-west-1"])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
