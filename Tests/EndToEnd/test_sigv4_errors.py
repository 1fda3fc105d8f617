"""SigV4 failures answer AWS's error types, end to end through boto3 and raw HTTPS."""
import datetime

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from rawhttp import connect, read_response, signed_request


def error_of(call):
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["Error"].get("Message", ""), response["ResponseMetadata"]["HTTPStatusCode"]


def test_wrong_secret_key(dev_node):
    client = dev_node.client(secret_key="x" * 40)
    code, message, status = error_of(client.get_random_password)
    assert code == "InvalidSignatureException"
    assert "signature we calculated does not match" in message
    assert status == 400


def test_unknown_access_key(dev_node):
    client = dev_node.client(access_key="AKIAIOSFODNN7EXAMPLE")
    code, message, status = error_of(client.get_random_password)
    assert code == "UnrecognizedClientException"
    assert message == "The security token included in the request is invalid."
    assert status == 400


@pytest.mark.parametrize("minutes", [-20, 20])
def test_clock_skew(dev_node, monkeypatch, minutes):
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: skewed)
    code, message, status = error_of(dev_node.client().get_random_password)
    assert code == "InvalidSignatureException"
    assert ("Signature expired" in message) if minutes < 0 else ("Signature not yet current" in message)
    assert status == 400


def test_skew_within_fifteen_minutes_is_accepted(dev_node, monkeypatch):
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: skewed)
    assert len(dev_node.client().get_random_password()["RandomPassword"]) == 32


def test_missing_authorization_header(dev_node):
    head, body = signed_request(dev_node, "GetRandomPassword", {})
    unsigned = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"authorization:"))
    with connect(dev_node) as sock:
        sock.sendall(unsigned + body)
        response = read_response(sock, bytearray())
    assert response.status == 400
    assert response.json()["__type"].endswith("MissingAuthenticationTokenException")
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.headers.get("x-amzn-requestid")


def test_incomplete_authorization_header(dev_node):
    head, body = signed_request(dev_node, "GetRandomPassword", {})
    broken = b"\r\n".join(
        (b"Authorization: AWS4-HMAC-SHA256 Credential=" + dev_node.principal()["accessKeyId"].encode())
        if line.lower().startswith(b"authorization:") else line
        for line in head.split(b"\r\n")
    )
    with connect(dev_node) as sock:
        sock.sendall(broken + body)
        response = read_response(sock, bytearray())
    assert response.status == 400
    assert response.json()["__type"].endswith("IncompleteSignatureException")


def test_tampered_body_fails_signature(dev_node):
    head, body = signed_request(dev_node, "GetRandomPassword", {"PasswordLength": 10})
    tampered = body.replace(b"10", b"11")
    with connect(dev_node) as sock:
        sock.sendall(head + tampered)
        response = read_response(sock, bytearray())
    assert response.status == 400
    assert response.json()["__type"].endswith("InvalidSignatureException")
