"""The AWS CLI examples for Secrets Manager (cli_examples/examples.sh, verbatim from the CLI
reference) run unchanged against `strongroom dev`: each block exits 0 and prints what the
reference shows."""
import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DevNode, free_port

HERE = Path(__file__).parent / "cli_examples"
EXAMPLE_KEY = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"


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
    node = DevNode(directory, port, region="us-west-2").wait_ready()
    yield node
    assert node.stop() == 0


def run_block(node, body, cwd):
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=cwd, env=node.cli_env(),
                          capture_output=True, text=True, timeout=120)


def test_cli_reference_examples_run_unchanged(west, tmp_path):
    for name in ["mycreds.json", "mypolicy.json"]:
        shutil.copy(HERE / name, tmp_path / name)
    outputs = {}
    for name, body in blocks():
        result = run_block(west, body, tmp_path)
        assert result.returncode == 0, f"{name}: exit {result.returncode}\n{result.stderr}"
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
