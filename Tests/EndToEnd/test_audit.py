"""The audit trail end to end: records of real requests, `strongroom audit verify` and `query`,
and a full disk (a real tmpfs in a mount namespace this test creates) refusing requests."""
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BINARY, DevNode, free_port, wait_for_tls


def run(*args, timeout=60):
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=timeout)


def records(data: Path):
    lines = []
    for path in sorted((data / "audit").glob("audit-*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line]
    return lines


def test_trail_records_every_request_and_verifies(tmp_path):
    node = DevNode(tmp_path / "node", free_port()).wait_ready()
    name = f"audited/{uuid.uuid4().hex[:8]}"
    value = "VALUE-" + uuid.uuid4().hex
    try:
        admin = node.client()
        admin.create_secret(Name=name, SecretString=value)
        assert admin.get_secret_value(SecretId=name)["SecretString"] == value
        password = admin.get_random_password()["RandomPassword"]
        with pytest.raises(ClientError):
            node.client(name="reader").get_secret_value(SecretId=name)
        with pytest.raises(ClientError):
            node.client(access_key="AKIAUNKNOWNKEY000000").list_secrets()
    finally:
        assert node.stop() == 0
    data = tmp_path / "node" / "data"
    events = records(data)
    names = [(e["eventName"], e.get("errorCode")) for e in events]
    assert names == [("CreateSecret", None), ("GetSecretValue", None), ("GetRandomPassword", None),
                     ("GetSecretValue", "AccessDeniedException"), ("ListSecrets", "UnrecognizedClientException")]
    denied = events[3]
    assert denied["userIdentity"]["arn"] == "arn:aws:iam::123456789012:user/reader"
    assert denied["requestParameters"] == {"secretId": name}
    assert events[0]["responseElements"]["name"] == name and events[1]["responseElements"] is None
    assert [e["chain"]["sequence"] for e in events] == [1, 2, 3, 4, 5]
    everything = "".join(p.read_text() for p in (data / "audit").iterdir() if p.is_file())
    assert value not in everything and password not in everything

    ok = run("audit", "verify", "--dir", str(data))
    assert ok.returncode == 0, ok.stdout + ok.stderr

    out = run("audit", "query", "--dir", str(data), "--denied")
    assert out.returncode == 0 and "GetSecretValue" in out.stdout and "reader" in out.stdout
    assert "CreateSecret" not in out.stdout
    out = run("audit", "query", "--dir", str(data), "--secret", name, "--event", "CreateSecret", "--json")
    assert [json.loads(line)["eventName"] for line in out.stdout.splitlines()] == ["CreateSecret"]

    # One edited line in a copy: verify fails and names the record.
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    trail = sorted((copy / "audit").glob("audit-*.jsonl"))[0]
    lines = trail.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"GetSecretValue"', '"DescribeSecret"')
    trail.write_text("".join(lines))
    bad = run("audit", "verify", "--dir", str(copy))
    assert bad.returncode == 1
    assert f"{trail.name} line 2" in bad.stdout and "edited" in bad.stdout, bad.stdout

    # A removed line is named too.
    shutil.rmtree(copy)
    shutil.copytree(data, copy)
    trail = sorted((copy / "audit").glob("audit-*.jsonl"))[0]
    lines = trail.read_text().splitlines(keepends=True)
    del lines[2]
    trail.write_text("".join(lines))
    bad = run("audit", "verify", "--dir", str(copy))
    assert bad.returncode == 1 and "removed" in bad.stdout, bad.stdout


def can_mount_tmpfs() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not can_mount_tmpfs(), reason="this machine does not allow a mount namespace with a tmpfs")
def test_full_disk_refuses_requests_until_there_is_room(tmp_path):
    """The node's audit directory is a 1 MiB tmpfs, mounted in a mount namespace of the node's
    own, and filled before the node starts: every request is refused with a retryable 500 and
    nothing is stored; once space is freed the same request succeeds."""
    directory = tmp_path / "node"
    audit = directory / "data" / "audit"
    port = free_port()
    # First start makes the dev environment (CA, keys); then stop and restart on a full disk.
    first = DevNode(directory, port).wait_ready()
    assert first.stop() == 0
    shutil.rmtree(audit)
    audit.mkdir(parents=True)
    script = (f"mount -t tmpfs -o size=1m tmpfs '{audit}' && "
              f"(dd if=/dev/zero of='{audit}/filler' bs=64k count=64 2>/dev/null; true) && "
              f"exec '{BINARY}' dev --dir '{directory}' --port {port}")
    proc = subprocess.Popen(["unshare", "-rm", "sh", "-c", script], cwd=tmp_path,
                            stdout=open(tmp_path / "full.stdout", "w"), stderr=open(tmp_path / "full.stderr", "w"))
    try:
        wait_for_tls(port, str(directory / "ca.pem"), proc)
        node = DevNode.__new__(DevNode)
        node.directory, node.port, node.proc = directory, port, proc
        node.endpoint = json.loads((directory / "endpoint.json").read_text())
        admin = node.client()
        name = f"full/{uuid.uuid4().hex[:8]}"
        token = str(uuid.uuid4())
        for _ in range(3):
            with pytest.raises(ClientError) as e:
                admin.create_secret(Name=name, SecretString="v", ClientRequestToken=token)
            assert e.value.response["Error"]["Code"] == "InternalServiceError"
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            assert proc.poll() is None
        # Free the space, seen through the node's own mount namespace.
        (Path(f"/proc/{proc.pid}/root") / str(audit).lstrip("/") / "filler").unlink()
        arn = admin.create_secret(Name=name, SecretString="v", ClientRequestToken=token)["ARN"]
        assert admin.describe_secret(SecretId=name)["ARN"] == arn
        # The refused attempts stored nothing: one version only.
        assert len(admin.list_secret_version_ids(SecretId=name)["Versions"]) == 1
        log = (tmp_path / "full.stderr").read_text() + (tmp_path / "full.stdout").read_text()
        assert "audit trail cannot take records" in log and "takes records again" in log
    finally:
        proc.terminate()
        proc.wait(timeout=30)
