"""`strongroom ca init` and `strongroom ca issue`: a cluster CA and node certificates for hosts
(issue 23), checked with the openssl command and by a node serving boto3 with one."""
import stat
import subprocess

from conftest import BINARY, DevNode, free_port


def run(args, timeout=60):
    return subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def openssl(*args):
    out = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_init_makes_a_ca_and_never_replaces_it(tmp_path):
    ca = tmp_path / "ca"
    result = run(["ca", "init", "--dir", ca, "--name", "Example Corp secrets CA"])
    assert result.returncode == 0, result.stderr
    assert mode(ca / "ca.key") == 0o600 and mode(ca / "ca.pem") == 0o644
    text = openssl("x509", "-in", ca / "ca.pem", "-noout", "-text")
    assert "CA:TRUE" in text and "Example Corp secrets CA" in text
    before = (ca / "ca.key").read_bytes(), (ca / "ca.pem").read_bytes()
    again = run(["ca", "init", "--dir", ca])
    assert again.returncode != 0
    assert "exists" in again.stderr and "ca.pem" in again.stderr
    assert ((ca / "ca.key").read_bytes(), (ca / "ca.pem").read_bytes()) == before


def test_ca_issue_names_the_node_and_every_host(tmp_path):
    ca, out = tmp_path / "ca", tmp_path / "node-1"
    assert run(["ca", "init", "--dir", ca]).returncode == 0
    result = run(["ca", "issue", "--ca-dir", ca, "--node-id", "node-1", "--region", "eu-west-1",
                  "--host", "Node-1.Secrets.Example.internal", "--host", "10.0.0.7", "--host", "fd00::1", "--out", out])
    assert result.returncode == 0, result.stderr
    assert mode(out / "node.key") == 0o600 and mode(out / "node.pem") == 0o644
    assert (out / "ca.pem").read_bytes() == (ca / "ca.pem").read_bytes()
    text = openssl("x509", "-in", out / "node.pem", "-noout", "-text")
    assert "URI:spiffe://strongroom/region/eu-west-1/node/node-1" in text
    assert "DNS:node-1.secrets.example.internal" in text
    assert "IP Address:10.0.0.7" in text and "IP Address:FD00:0:0:0:0:0:0:1" in text
    assert "127.0.0.1" not in text, "nothing assumes 127.0.0.1"
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    assert "CA:FALSE" in text
    assert openssl("verify", "-CAfile", ca / "ca.pem", out / "node.pem").strip().endswith("OK")
    # The key is the certificate's.
    assert openssl("x509", "-in", out / "node.pem", "-noout", "-pubkey") == openssl("pkey", "-in", out / "node.key", "-pubout")


def test_ca_issue_refuses_what_it_cannot_issue(tmp_path):
    ca = tmp_path / "ca"
    assert run(["ca", "init", "--dir", ca]).returncode == 0
    cases = [
        (["--node-id", "n1", "--region", "eu-west-1", "--host", "bad_host!"], "neither an IP address nor a DNS name"),
        (["--node-id", "n1", "--region", "eu-west-1", "--host", "-leading.example"], "neither an IP address nor a DNS name"),
        (["--node-id", "n1", "--region", "Europe", "--host", "10.0.0.1"], "AWS region name"),
        (["--node-id", "n/1", "--region", "eu-west-1", "--host", "10.0.0.1"], "--node-id"),
        (["--node-id", "n1", "--region", "eu-west-1"], "--host"),
    ]
    for arguments, message in cases:
        out = tmp_path / "out"
        result = run(["ca", "issue", "--ca-dir", ca, "--out", out, *arguments])
        assert result.returncode != 0, arguments
        assert message in result.stderr, (arguments, result.stderr)
        assert not (out / "node.pem").exists() and not (out / "node.key").exists(), arguments
    missing = run(["ca", "issue", "--ca-dir", tmp_path / "nowhere", "--node-id", "n1", "--region", "eu-west-1",
                   "--host", "10.0.0.1", "--out", tmp_path / "out"])
    assert missing.returncode != 0 and "strongroom ca init" in missing.stderr


def test_a_node_serves_boto3_with_an_issued_certificate(tmp_path):
    node_dir = tmp_path / "node"
    first = DevNode(node_dir, free_port()).wait_ready()
    assert first.stop() == 0
    ca = tmp_path / "ca"
    assert run(["ca", "init", "--dir", ca]).returncode == 0
    # The node's TLS files replaced by the new CA's: the dev directory's configuration names them.
    result = run(["ca", "issue", "--ca-dir", ca, "--node-id", "dev", "--region", "us-east-1",
                  "--host", "127.0.0.1", "--host", "localhost", "--out", node_dir])
    assert result.returncode == 0, result.stderr
    node = DevNode(node_dir, free_port()).wait_ready()
    try:
        client = node.client()
        assert client.create_secret(Name="issued/cert", SecretString="s3cret")["Name"] == "issued/cert"
        assert client.get_secret_value(SecretId="issued/cert")["SecretString"] == "s3cret"
        served = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{node.port}", "-CAfile", str(ca / "ca.pem"),
                                 "-verify_return_error", "-brief"], input="", capture_output=True, text=True, timeout=30)
        assert "Verification: OK" in served.stderr + served.stdout, served.stderr
    finally:
        assert node.stop() == 0
