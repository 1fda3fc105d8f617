"""The AWS CLI examples for Secrets Manager (cli_examples/examples.sh, verbatim from the CLI
reference) run unchanged against `strongroom dev`: each block exits 0 and prints what the
reference shows."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DevNode, free_port

HERE = Path(__file__).parent / "cli_examples"
EXAMPLE_KEY = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"
# The rotation functions the examples name (the first with the CLI reference's thirteen-digit
# account): the node refuses RotateSecret with a function it has not registered.
EXAMPLE_FUNCTIONS = [
    "arn:aws:lambda:us-west-2:1234566789012:function:SecretsManagerTestRotationLambda",
    "arn:aws:lambda:us-west-2:123456789012:function:MyRotation",
]


def blocks():
    text = (HERE / "examples.sh").read_text()
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return [(parts[i].split(" (")[0].strip(), parts[i + 1]) for i in range(1, len(parts), 2)]


@pytest.fixture(scope="module")
def west(binary, tmp_path_factory):
    if shutil.which("aws") is None:
        pytest.fail("the AWS CLI is not installed (scripts/install-deps --test installs it)")
    directory = tmp_path_factory.mktemp("cli") / "node"
    port = free_port()
    node = DevNode(directory, port, region="us-west-2").wait_ready()
    node.stop()
    # The key the update-secret example names, added to the dev keyring as an operator would.
    keyring_path = directory / "keyring.json"
    keyring = json.loads(keyring_path.read_text())
    keyring["keys"].append({"keyId": EXAMPLE_KEY, "accountId": "123456789012", "region": "us-west-2",
                            "aliases": ["alias/example"], "description": "the CLI reference's example key",
                            "material": base64.b64encode(os.urandom(32)).decode()})
    keyring_path.write_text(json.dumps(keyring))
    os.chmod(keyring_path, 0o600)
    # Both example functions run the generic rotator (a new random password in the secret's JSON).
    # The node gives functions a fixed PATH: name this Python's directory, which has boto3.
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text())
    rotator = str(Path(__file__).resolve().parents[2] / "cluster" / "rotators" / "generic-random")
    config["rotation"] = {"functions": {
        arn: {"executable": rotator, "environment": {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"}}
        for arn in EXAMPLE_FUNCTIONS}}
    config_path.write_text(json.dumps(config, indent=2))
    node = DevNode(directory, port, region="us-west-2").wait_ready()
    yield node
    assert node.stop() == 0


def run_block(node, body, cwd):
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=cwd, env=node.cli_env(),
                          capture_output=True, text=True, timeout=120)


def wait_for_rotation(node, body, timeout=30.0):
    """Rotation is asynchronous and RotateSecret is refused while one is in progress: waits until
    no version of the block's secret is AWSPENDING without being AWSCURRENT."""
    secret_id = re.findall(r"--secret-id\s+(\S+)", body)[-1]
    client = node.client()
    deadline = time.monotonic() + timeout
    while True:
        versions = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
        if not any("AWSPENDING" in s and "AWSCURRENT" not in s for s in versions.values()):
            return
        assert time.monotonic() < deadline, (f"the rotation of {secret_id} did not finish in {timeout} s: "
                                                 f"{versions}\n{node.stderr[-4000:]}")
        time.sleep(0.2)


def test_cli_reference_examples_run_unchanged(west, tmp_path):
    for name in ["mycreds.json", "mypolicy.json"]:
        shutil.copy(HERE / name, tmp_path / name)
    outputs = {}
    for name, body in blocks():
        result = run_block(west, body, tmp_path)
        assert result.returncode == 0, f"{name}: exit {result.returncode}\n{result.stderr}"
        if name.startswith("rotate-secret"):
            wait_for_rotation(west, body)
        # The last command's output: every example prints JSON or nothing.
        last = result.stdout.strip()
        outputs[name] = json.loads(last[last.rfind("\n{") + 1:] if "\n{" in last else last) if last else None

    created = outputs["create-secret 1"]
    assert set(created) == {"ARN", "Name", "VersionId"} and created["Name"] == "MyTestSecret"
    assert created["ARN"].startswith("arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-")
    assert outputs["put-secret-value 1"]["VersionStages"] == ["AWSCURRENT"]
    assert json.loads(outputs["get-secret-value 1"]["SecretString"])["username"] == "saanvis"
    assert json.loads(outputs["get-secret-value 2"]["SecretString"])["user"] == "diegor"
    assert outputs["describe-secret"]["Name"] == "MyTestSecret"
    # The CLI reference shows `Values="Test"` finding MyTestSecret; the API reference ("name:
    # Prefix match, case-sensitive") and the user guide ("Name: Data returns … DatabaseSecret,
    # but not … MyData") say a name filter matches from the name's first character, and
    # Strongroom follows them (docs/API-FIDELITY.md): the example runs, and finds nothing.
    assert outputs["list-secrets 2"]["SecretList"] == []
    assert outputs["list-secrets 3"]["SecretList"] == []
    assert set(outputs["update-secret 2"]) == {"ARN", "Name"}
    assert outputs["tag-resource 1"] is None and outputs["untag-resource"] is None
    assert "MyRole" in outputs["get-resource-policy"]["ResourcePolicy"]
    assert outputs["validate-resource-policy"] == {"PolicyValidationPassed": True, "ValidationErrors": []}
    assert sorted(v["SecretString"] for v in outputs["batch-get-secret-value 1"]["SecretValues"]) == ["s1", "s2", "s3"]
    assert outputs["batch-get-secret-value 1"]["Errors"] == []
    assert len(outputs["batch-get-secret-value 2"]["SecretValues"]) == 3
    assert set(outputs["delete-secret 1"]) == {"ARN", "Name", "DeletionDate"}
    assert len(outputs["get-random-password"]["RandomPassword"]) == 20
    assert outputs["create-secret 2"]["Name"] == "MyTestSecret"
    assert outputs["create-secret 2"]["ARN"] != created["ARN"]
