"""`strongroom dev` and `strongroom serve` as an operator uses them."""
import json
import os
import stat
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import BINARY, DevNode, free_port


def run(args, cwd=None, timeout=60):
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_dev_directory_contents(dev_node):
    d = dev_node.directory
    for name in ["ca.pem", "ca.key", "node.pem", "node.key", "iam.json", "keyring.json", "config.json", "endpoint.json"]:
        assert (d / name).exists(), name
    for secret in ["ca.key", "node.key", "iam.json", "keyring.json", "endpoint.json"]:
        assert stat.S_IMODE((d / secret).stat().st_mode) == 0o600, secret
    endpoint = dev_node.endpoint
    assert endpoint["endpoint"] == f"https://127.0.0.1:{dev_node.port}"
    assert endpoint["region"] == "us-east-1"
    assert endpoint["caBundle"] == str(d / "ca.pem")
    accounts = {a["accountId"]: {p["name"]: p for p in a["principals"]} for a in endpoint["accounts"]}
    assert set(accounts) == {"123456789012", "111122223333"}
    for account, principals in accounts.items():
        assert set(principals) == {"admin", "reader"}
        for name, p in principals.items():
            assert p["arn"] == f"arn:aws:iam::{account}:user/{name}"
            assert p["accessKeyId"].startswith("AKIA") and len(p["accessKeyId"]) == 20
            assert len(p["secretAccessKey"]) == 40


def test_dev_prints_exports_and_a_working_example(dev_node):
    out = dev_node.stdout
    p = dev_node.principal()
    assert f"export AWS_ENDPOINT_URL=https://127.0.0.1:{dev_node.port}" in out
    assert f"export AWS_ACCESS_KEY_ID={p['accessKeyId']}" in out
    assert f"export AWS_CA_BUNDLE={dev_node.directory / 'ca.pem'}" in out
    example = next(line.strip() for line in out.splitlines() if line.strip().startswith("aws secretsmanager"))
    result = subprocess.run(example.split(), env=dev_node.cli_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "RandomPassword" in result.stdout


def test_every_account_and_user_authenticates(dev_node):
    for account in ("123456789012", "111122223333"):
        # The admin is allowed; the reader is authenticated (an unknown key would be
        # UnrecognizedClientException) but has no identity policy, so IAM denies it.
        assert dev_node.client(account, "admin").get_random_password()["RandomPassword"]
        with pytest.raises(ClientError) as e:
            dev_node.client(account, "reader").get_random_password()
        assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_dev_reuses_its_directory(tmp_path):
    first = DevNode(tmp_path / "node", free_port()).wait_ready()
    before = json.loads((tmp_path / "node" / "endpoint.json").read_text())
    ca_before = (tmp_path / "node" / "ca.pem").read_bytes()
    assert first.stop() == 0
    port = free_port()
    second = DevNode(tmp_path / "node", port).wait_ready()
    try:
        after = second.endpoint
        assert after["accounts"] == before["accounts"]
        assert (tmp_path / "node" / "ca.pem").read_bytes() == ca_before
        assert after["endpoint"] == f"https://127.0.0.1:{port}"
        assert second.client().get_random_password()["RandomPassword"]
    finally:
        assert second.stop() == 0


def test_second_process_on_same_directory_is_refused(dev_node):
    result = run(["dev", "--dir", str(dev_node.directory), "--port", str(free_port())])
    assert result.returncode == 2
    assert "in use by another strongroom process" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def write_config(tmp_path, dev_node, **changes):
    config = json.loads((dev_node.directory / "config.json").read_text())
    config["listen"] = [f"127.0.0.1:{free_port()}"]
    config["dataDirectory"] = str(tmp_path / "data")
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path, config


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda p, c: p.unlink(), "no such file"),
        (lambda p, c: p.write_text("{not json"), "not a JSON object"),
        (lambda p, c: p.write_text(json.dumps(dict(c, listen="nowhere"))), "'listen' entry 'nowhere'"),
        (lambda p, c: p.write_text(json.dumps({k: v for k, v in c.items() if k != "region"})), "'region' is missing"),
        (lambda p, c: p.write_text(json.dumps(dict(c, tls=dict(c["tls"], certificate="/nonexistent/node.pem")))), "/nonexistent/node.pem"),
        (lambda p, c: p.write_text(json.dumps(dict(c, iam="/nonexistent/iam.json"))), "/nonexistent/iam.json"),
        (lambda p, c: p.write_text(json.dumps(dict(c, limits={"maxBodyBytes": "big"}))), "limits.maxBodyBytes"),
    ],
)
def test_serve_rejects_bad_configuration(tmp_path, dev_node, mutate, expected):
    path, config = write_config(tmp_path, dev_node)
    mutate(path, config)
    result = run(["serve", "--config", str(path)])
    assert result.returncode == 2, result
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "data").exists(), "nothing may start for a bad configuration"


def test_serve_rejects_a_world_readable_key(tmp_path, dev_node):
    key = tmp_path / "node.key"
    key.write_bytes((dev_node.directory / "node.key").read_bytes())
    os.chmod(key, 0o644)
    config = json.loads((dev_node.directory / "config.json").read_text())
    path, _ = write_config(tmp_path, dev_node, tls=dict(config["tls"], privateKey=str(key)))
    result = run(["serve", "--config", str(path)])
    assert result.returncode == 2
    assert str(key) in result.stderr


def test_serve_rejects_a_key_that_does_not_match(tmp_path, dev_node):
    config = json.loads((dev_node.directory / "config.json").read_text())
    path, _ = write_config(tmp_path, dev_node, tls=dict(config["tls"], privateKey=str(dev_node.directory / "ca.key")))
    result = run(["serve", "--config", str(path)])
    assert result.returncode == 2
    assert "does not match" in result.stderr


def test_serve_rejects_a_short_keyring_key(tmp_path, dev_node):
    keyring = json.loads((dev_node.directory / "keyring.json").read_text())
    keyring["keys"][0]["material"] = "AAAA"
    bad = tmp_path / "keyring.json"
    bad.write_text(json.dumps(keyring))
    os.chmod(bad, 0o600)
    path, _ = write_config(tmp_path, dev_node, keyring=str(bad))
    result = run(["serve", "--config", str(path)])
    assert result.returncode == 2
    assert "must be 32" in result.stderr


def test_unknown_command_and_option(tmp_path):
    assert run(["frobnicate"]).returncode == 2
    result = run(["dev", "--colour", "red"])
    assert result.returncode == 2 and "unknown option" in result.stderr
    assert run(["help"]).returncode == 0


def status(dev_node, *extra, name="admin", env_overrides=None):
    """`strongroom status` against the dev node, with that user's keys in the environment."""
    env = dev_node.cli_env(name=name)
    env.update(env_overrides or {})
    return subprocess.run([str(BINARY), "status", "--endpoint", dev_node.endpoint["endpoint"], *extra],
                          env=env, capture_output=True, text=True, timeout=60)


def test_status_json(dev_node):
    result = status(dev_node, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["nodeId"] == "dev"
    assert document["region"] == "us-east-1"
    assert document["role"] == "primary"
    assert document["replication"] is None
    [log] = document["logs"]
    assert log["region"] == "us-east-1" and log["role"] == "primary"
    assert isinstance(log["epoch"], int) and isinstance(log["lsn"], int)
    assert log["subscribers"] == []


def test_status_lsn_follows_writes(dev_node):
    before = json.loads(status(dev_node, "--json").stdout)["logs"][0]["lsn"]
    dev_node.client().create_secret(Name="status-lsn-probe", SecretString="x")
    after = json.loads(status(dev_node, "--json").stdout)["logs"][0]["lsn"]
    assert after > before


def test_status_text(dev_node):
    # The CA bundle and region given as options instead of the environment.
    result = status(dev_node, "--ca-bundle", dev_node.endpoint["caBundle"], "--region", "us-east-1",
                    env_overrides={"AWS_CA_BUNDLE": "", "AWS_DEFAULT_REGION": ""})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "node dev  region us-east-1  role primary"
    assert "replication: not configured (single region)" in lines
    assert any(line.startswith("log us-east-1  primary  epoch ") for line in lines)
    assert "  no subscribers connected" in lines


def test_status_reader_is_denied(dev_node):
    result = status(dev_node, "--json", name="reader")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("strongroom: AccessDeniedException: ")
    assert "strongroom:GetNodeStatus" in result.stderr


def test_status_is_not_regional(dev_node):
    # A node operation: signed for any region (the signature is checked against that scope),
    # so `strongroom status` works whatever AWS_DEFAULT_REGION says.
    result = status(dev_node, "--region", "eu-west-1", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["region"] == "us-east-1"


def test_status_connection_and_usage_problems(dev_node, tmp_path):
    down = subprocess.run([str(BINARY), "status", "--endpoint", f"https://127.0.0.1:{free_port()}"],
        env=dev_node.cli_env(), capture_output=True, text=True, timeout=60)
    assert down.returncode == 1
    assert "cannot get the status of" in down.stderr
    assert run(["status"]).returncode == 2
    no_keys = status(dev_node, env_overrides={"AWS_ACCESS_KEY_ID": ""})
    assert no_keys.returncode == 2 and "no credentials" in no_keys.stderr
    # The node's own certificate is not a CA: nothing the node presents chains to it.
    foreign_ca = tmp_path / "not-the-ca.pem"
    foreign_ca.write_text((dev_node.directory / "node.pem").read_text())
    untrusted = status(dev_node, "--ca-bundle", str(foreign_ca))
    assert untrusted.returncode == 1 and "cannot get the status of" in untrusted.stderr
