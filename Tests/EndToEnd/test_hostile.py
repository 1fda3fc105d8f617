"""Hostile clients against real processes: a signed read replayed as a write, floods of idle
connections on the client and replication ports, and floods that would grow the log without
bound. Each test is bounded in count and time, and asserts the figure it names."""
import datetime
import hashlib
import hmac
import json
import os
import resource
import select
import signal
import socket
import ssl
import statistics
import threading
import time

import boto3
import pytest
from botocore.config import Config

from conftest import restartable_cluster
from test_replication import eventually, kill, start_node

US, EU = "us-east-1", "eu-west-1"


@pytest.fixture(scope="module")
def pair(binary, tmp_path_factory):
    """A two-region cluster with its front, for this module (processes stopped by PID)."""
    with restartable_cluster(tmp_path_factory.mktemp("hostile") / "c", regions=[US, EU]) as running:
        yield running


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= needed, f"this test needs {needed} descriptors; the hard limit is {hard}"


def host_port(url: str) -> tuple[str, int]:
    host, port = url.replace("https://", "").rsplit(":", 1)
    return host, int(port)


# MARK: - SigV4: a signature covers what the request does

def sigv4(principal: dict, region: str, host: str, headers: dict, body: bytes, signed: list[str]) -> str:
    """An Authorization header over exactly the `signed` header names (what a hostile client
    could have captured from a legitimate request signed that way)."""
    amz_date = headers["X-Amz-Date"]
    lowered = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    lowered["host"] = host
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in signed)
    canonical = "\n".join(["POST", "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = f"{amz_date[:8]}/{region}/secretsmanager/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + principal["secretAccessKey"]).encode()
    for part in (amz_date[:8], region, "secretsmanager", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"AWS4-HMAC-SHA256 Credential={principal['accessKeyId']}/{scope}, "
            f"SignedHeaders={';'.join(signed)}, Signature={signature}")


def raw_call(url: str, ca: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict]:
    host, port = host_port(url)
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection((host, port), timeout=10) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
        head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        tls.sendall(head.encode() + body)
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, (json.loads(rest) if rest.strip() else {})


def swapped_target_request(pair, url: str, secret_id: str, signed: list[str], target: str, extra=()):
    principal = pair.principal()
    host = "%s:%d" % host_port(url)
    body = json.dumps({"SecretId": secret_id}).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "secretsmanager.DescribeSecret",
        "X-Amz-Date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
    }
    authorization = sigv4(principal, US, host, headers, body, signed)
    sent = [("Host", host), ("Content-Type", headers["Content-Type"]), ("X-Amz-Date", headers["X-Amz-Date"]),
            ("X-Amz-Target", target), ("Authorization", authorization), *extra]
    return sent, body


@pytest.mark.parametrize("via_front", [False, True])
def test_a_signed_read_cannot_be_replayed_as_a_delete(pair, via_front):
    us = pair.client(US)
    name = f"hostile/replay-{int(via_front)}"
    us.create_secret(Name=name, SecretString="keep me")
    url = pair.manifest["front"] if via_front else pair.node(US)["endpoint"]
    ca = pair.manifest["caBundle"]
    signed_without_target = ["content-type", "host", "x-amz-date"]

    # The captured read, replayed as it was signed, is refused too: x-amz-target is unsigned.
    headers, body = swapped_target_request(pair, url, name, signed_without_target, "secretsmanager.DescribeSecret")
    status, answer = raw_call(url, ca, headers, body)
    assert (status, answer.get("__type")) == (400, "InvalidSignatureException"), answer
    assert answer["message"] == "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."

    for target in ("secretsmanager.DeleteSecret", "secretsmanager.PutSecretValue"):
        headers, body = swapped_target_request(pair, url, name, signed_without_target, target)
        status, answer = raw_call(url, ca, headers, body)
        assert (status, answer.get("__type")) == (400, "InvalidSignatureException"), (target, answer)

    # Signed with the target, then retargeted: the signature no longer matches.
    headers, body = swapped_target_request(pair, url, name, signed_without_target + ["x-amz-target"], "secretsmanager.DeleteSecret")
    status, answer = raw_call(url, ca, headers, body)
    assert (status, answer.get("__type")) == (400, "InvalidSignatureException"), answer

    # Two Authorization headers, a repeated Signature=: refused, not "the last one wins".
    headers, body = swapped_target_request(pair, url, name, signed_without_target + ["x-amz-target"], "secretsmanager.DescribeSecret")
    status, answer = raw_call(url, ca, headers + [headers[4]], body)
    assert (status, answer.get("__type")) == (400, "IncompleteSignatureException"), answer
    repeated = [(k, v + ", Signature=" + "0" * 64 if k == "Authorization" else v) for k, v in headers]
    status, answer = raw_call(url, ca, repeated, body)
    assert (status, answer.get("__type")) == (400, "IncompleteSignatureException"), answer
    assert "duplicate 'Signature'" in answer["message"]
    # The same request, untouched, is served: the refusals above were for what was changed.
    status, answer = raw_call(url, ca, headers, body)
    assert status == 200 and answer["Name"] == name, answer

    described = us.describe_secret(SecretId=name)
    assert "DeletedDate" not in described
    assert us.get_secret_value(SecretId=name)["SecretString"] == "keep me"


def test_a_fractional_max_results_is_a_serialization_error(pair):
    principal = pair.principal()
    url = pair.node(US)["endpoint"]
    host = "%s:%d" % host_port(url)
    body = b'{"MaxResults": 10.5}'
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.ListSecrets",
               "X-Amz-Date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")}
    authorization = sigv4(principal, US, host, headers, body, ["content-type", "host", "x-amz-date", "x-amz-target"])
    status, answer = raw_call(url, pair.manifest["caBundle"], [("Host", host), *headers.items(), ("Authorization", authorization)], body)
    assert (status, answer.get("__type")) == (400, "SerializationException"), answer


# MARK: - Floods of idle connections

class IdleFlood:
    """Holds up to `target` idle TCP connections to `address`, opening `batch` more every
    `interval` seconds as the server closes them (it refills what was taken away), for at most
    `seconds`. Sends nothing unless `garbage` (then a few bytes that are no TLS record) and
    binds to 127.0.0.X source addresses in turn when `spread` > 1."""

    def __init__(self, address, target, seconds, batch=200, interval=0.02, garbage=False, spread=1, tls_ca=None):
        self.address, self.target, self.seconds = address, target, seconds
        self.batch, self.interval, self.garbage, self.spread = batch, interval, garbage, spread
        # With a CA: every connection completes its TLS handshake, then idles (a kept-alive
        # client that never sends a request).
        self.tls = ssl.create_default_context(cafile=tls_ca) if tls_ca else None
        self.opened = 0
        self.held = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def _connect(self, n):
        s = socket.socket()
        if self.spread > 1:
            s.bind((f"127.0.0.{2 + n % self.spread}", 0))
        if self.tls:
            try:
                s.settimeout(5)
                s.connect(self.address)
                s = self.tls.wrap_socket(s, server_hostname=self.address[0])
                s.setblocking(False)
                return s
            except (OSError, ssl.SSLError):
                s.close()
                self.failures += 1
                return None
        s.setblocking(False)
        try:
            s.connect(self.address)
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            self.failures += 1
            return None
        return s

    @staticmethod
    def _still_open(s) -> bool:
        try:
            return s.recv(4096) != b""
        except ssl.SSLWantReadError:
            return True
        except OSError:
            return False

    def _run(self):
        sockets = {}
        watcher = select.epoll()
        deadline = time.monotonic() + self.seconds
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                # Drop what the server closed (readable: an EOF, a reset, or an alert).
                for fd, _ in watcher.poll(0):
                    s = sockets.get(fd)
                    if s is None or (self.tls and self._still_open(s)):
                        continue  # TLS 1.3 session tickets arrive after the handshake
                    del sockets[fd]
                    watcher.unregister(fd)
                    s.close()
                for _ in range(min(self.batch, self.target - len(sockets))):
                    s = self._connect(self.opened)
                    if s is None:
                        continue
                    if self.garbage:
                        try:
                            s.send(b"GET / HTTP/1.0\r\n\r\n")
                        except OSError:
                            pass
                    sockets[s.fileno()] = s
                    watcher.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
                    self.opened += 1
                self.held = len(sockets)
                time.sleep(self.interval)
        finally:
            for s in sockets.values():
                s.close()
            watcher.close()


def legit_calls(client, seconds: float, pause: float = 0.05, name: str = "hostile/legit"):
    """Calls GetSecretValue for `seconds`, each on a new connection (a kept-alive one would
    hide a server that accepts nobody new); returns (successes, failures, latencies, SDK retries)."""
    ok, failed, latencies, retries = 0, [], [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            answer = client.get_secret_value(SecretId=name)
            retries += answer["ResponseMetadata"].get("RetryAttempts", 0)
            ok += 1
            latencies.append(time.monotonic() - started)
        except Exception as error:  # noqa: BLE001 - any failure counts against the rate
            failed.append(repr(error)[:200])
        client._endpoint.http_session.close()  # the next call connects anew
        time.sleep(pause)
    return ok, failed, latencies, retries


def sdk_client(pair, url: str):
    p = pair.principal()
    # An SDK as users run it: standard retries (3 attempts), short timeouts.
    return boto3.client("secretsmanager", endpoint_url=url, region_name=US,
                        aws_access_key_id=p["accessKeyId"], aws_secret_access_key=p["secretAccessKey"],
                        verify=pair.manifest["caBundle"],
                        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=10))


@pytest.mark.parametrize("via_front,flood_size,spread,tls", [
    (False, 4600, 1, False),   # silent TCP from one address: its share of unfinished handshakes
    (False, 4600, 250, False), # from 250 addresses: the cap on all unfinished handshakes
    (True, 1200, 1, False),
    (True, 800, 1, True),      # finished TLS handshakes held idle: past 512 the front is full
])
def test_an_idle_connection_flood_does_not_lock_clients_out(pair, via_front, flood_size, spread, tls):
    """More idle connections than the server's connection limit (node 4,096, front 512),
    refilled every 20 ms: legitimate calls keep succeeding."""
    raise_fd_limit(flood_size + 512)
    url = pair.manifest["front"] if via_front else pair.node(US)["endpoint"]
    try:
        pair.client(US).create_secret(Name="hostile/legit", SecretString="still here")
    except pair.client(US).exceptions.ResourceExistsException:
        pass
    client = sdk_client(pair, url)
    with IdleFlood(host_port(url), target=flood_size, seconds=20 if tls else 14, batch=400, spread=spread,
                   tls_ca=pair.manifest["caBundle"] if tls else None) as flood:
        # The flood reaches its size (TLS handshakes take a while: wait for them).
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and flood.opened < (flood_size if tls else 1):
            time.sleep(0.1)
        time.sleep(1)
        ok, failed, latencies, retries = legit_calls(client, seconds=10)
        held = flood.held
    rate = ok / max(1, ok + len(failed))
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    print(f"\n{'TLS' if tls else 'TCP'} idle flood from {spread} address{'es' if spread > 1 else ''} via "
          f"{'front' if via_front else 'node'}: {flood.opened} connections opened, "
          f"{held} held at the end; legitimate calls {ok}/{ok + len(failed)} ok ({rate:.1%}), "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {retries} SDK retries")
    assert ok + len(failed) >= 20
    assert rate >= 0.95, failed[:5]
    assert flood.opened > flood_size, "the flood never reached the server's limit"


def test_a_replication_port_flood_does_not_keep_a_paused_peer_out(pair):
    """Idle TCP connections on us-east-1's replication port, refilled every 20 ms, while
    eu-west-1 is paused past the link's dead time: once resumed it reconnects and catches up
    within a few seconds."""
    raise_fd_limit(3000)
    us = pair.client(US)
    eu = pair.client(EU)
    us.create_secret(Name="hostile/repl", SecretString="v0", AddReplicaRegions=[{"Region": EU}])
    eventually(lambda: eu.get_secret_value(SecretId="hostile/repl"))
    replication = host_port("https://" + pair.node(US)["replication"])
    eu_pid = pair.node(EU)["pid"]
    us_log = pair.directory / US / "node.log"
    subscriptions = us_log.read_text(errors="replace").count(f"of {EU} subscribed at")
    with IdleFlood(replication, target=2000, seconds=40, batch=200) as flood:
        time.sleep(1)
        os.kill(eu_pid, signal.SIGSTOP)
        try:
            time.sleep(7)  # past deadAfterSeconds (5): us-east-1 gives the link up
            for i in range(1, 21):
                us.put_secret_value(SecretId="hostile/repl", SecretString=f"v{i}")
        finally:
            os.kill(eu_pid, signal.SIGCONT)
        resumed = time.monotonic()
        eventually(lambda: assert_value(eu, "hostile/repl", "v20"), timeout=20, interval=0.05)
        caught_up = time.monotonic() - resumed
        opened = flood.opened
    print(f"\nreplication-port flood: {opened} connections opened; eu-west-1 caught up {caught_up:.2f} s after resuming")
    assert opened > 500
    assert caught_up < 6, f"eu-west-1 took {caught_up:.1f} s to catch up"
    # It did come back through the flood: a new subscription, not the old link.
    assert us_log.read_text(errors="replace").count(f"of {EU} subscribed at") > subscriptions


def assert_value(client, name, value):
    got = client.get_secret_value(SecretId=name)["SecretString"]
    assert got == value, got


# MARK: - The log stays bounded

def test_a_connection_flood_is_summarized_in_the_log(pair):
    """Thousands of connections that fail their TLS handshake on the replication port: one line
    per address per 10 s and a count, not a line each."""
    log_path = pair.directory / US / "node.log"
    before = log_path.stat().st_size
    with IdleFlood(host_port("https://" + pair.node(US)["replication"]), target=300, seconds=12, batch=100,
                   garbage=True) as flood:
        time.sleep(12)
        opened = flood.opened
    time.sleep(2)  # the summary is written once its 10 s window has ended
    grown = log_path.stat().st_size - before
    text = log_path.read_text(errors="replace")[before:]
    print(f"\nlog flood: {opened} failed handshakes added {grown} bytes to node.log")
    assert opened >= 2000
    assert grown < 16 * 1024, text[-2000:]
    assert "more in the last" in text, text[-2000:]


def test_the_log_file_is_rotated_at_its_bound(pair):
    """eu-west-1 restarted with limits.logMaxBytes = 16 KiB, then flooded from 200 source
    addresses (each its own summary key): node.log stays under the bound, and the previous
    16 KiB are kept as node.log.1."""
    config_path = pair.directory / EU / "config.json"
    kill(pair.node(EU)["pid"], signal.SIGTERM)
    config = json.loads(config_path.read_text())
    config.setdefault("limits", {})["logMaxBytes"] = 16384
    config_path.write_text(json.dumps(config))
    pair.extra.append(start_node(pair, EU))
    log_path = pair.directory / EU / "node.log"
    with IdleFlood(host_port("https://" + pair.node(EU)["replication"]), target=200, seconds=8, batch=50,
                   garbage=True, spread=200) as flood:
        time.sleep(8)
        opened = flood.opened
    size = log_path.stat().st_size
    rotated = pair.directory / EU / "node.log.1"
    print(f"\nrotation: {opened} refused connections from 200 addresses; node.log {size} bytes, "
          f"node.log.1 {rotated.stat().st_size if rotated.exists() else 0} bytes")
    assert rotated.exists(), "node.log was never rotated"
    assert size <= 16384 and rotated.stat().st_size <= 16384 + 4096
    # Still serving, and still logging.
    assert pair.client(EU).list_secrets()["SecretList"] is not None
