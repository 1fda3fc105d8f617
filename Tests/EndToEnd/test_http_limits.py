"""HTTP/1.1 over TLS as real clients use it, and every kind of abuse refused without harm."""
import json
import time

import pytest

from conftest import RunningNode, free_port
from rawhttp import connect, is_closed, read_response, signed_request


def healthy(node):
    """A well-formed request on a fresh connection still succeeds."""
    assert len(node.client().get_random_password(PasswordLength=12)["RandomPassword"]) == 12


def test_keep_alive_and_pipelining(dev_node):
    requests = [signed_request(dev_node, "GetRandomPassword", {"PasswordLength": n}) for n in (5, 6, 7)]
    with connect(dev_node) as sock:
        sock.sendall(b"".join(head + body for head, body in requests))
        buffer = bytearray()
        lengths = [len(read_response(sock, buffer).json()["RandomPassword"]) for _ in requests]
        assert lengths == [5, 6, 7]
        # The same connection serves another request afterwards.
        head, body = signed_request(dev_node, "GetRandomPassword", {"PasswordLength": 9})
        sock.sendall(head + body)
        assert len(read_response(sock, buffer).json()["RandomPassword"]) == 9


def test_chunked_body(dev_node):
    head, body = signed_request(dev_node, "GetRandomPassword", {"PasswordLength": 17}, chunked=True)
    with connect(dev_node) as sock:
        sock.sendall(head + body)
        response = read_response(sock, bytearray())
    assert response.status == 200, response.body
    assert len(response.json()["RandomPassword"]) == 17


def test_expect_100_continue(dev_node):
    head, body = signed_request(dev_node, "GetRandomPassword", {"PasswordLength": 21}, expect_continue=True)
    with connect(dev_node) as sock:
        sock.sendall(head)
        buffer = bytearray()
        interim = read_response(sock, buffer)
        assert interim.status == 100
        sock.sendall(body)
        response = read_response(sock, buffer)
    assert response.status == 200
    assert len(response.json()["RandomPassword"]) == 21


def test_garbage_bytes(dev_node):
    with connect(dev_node) as sock:
        sock.sendall(bytes(range(256)) * 4 + b"\r\n\r\n")
        buffer = bytearray()
        response = read_response(sock, buffer)
        assert response.status == 400
        assert is_closed(sock, buffer)
    healthy(dev_node)


def test_garbage_instead_of_tls(dev_node):
    import socket
    with socket.create_connection(("127.0.0.1", dev_node.port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)))
        try:
            data = raw.recv(65536)
        except ConnectionResetError:
            data = b""
        assert b"RandomPassword" not in data
    healthy(dev_node)


def test_oversized_header(dev_node):
    head, body = signed_request(dev_node, "GetRandomPassword", {}, extra_headers={"X-Padding": "a" * (20 * 1024)})
    with connect(dev_node) as sock:
        try:
            sock.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buffer = bytearray()
        response = read_response(sock, buffer)
        assert response.status == 431
        assert is_closed(sock, buffer)
    healthy(dev_node)


def test_two_mebibyte_body(dev_node):
    payload = json.dumps({"PasswordLength": 10, "ExcludeCharacters": "a" * (2 * 1024 * 1024)}).encode()
    head, body = signed_request(dev_node, "GetRandomPassword", payload)
    with connect(dev_node) as sock:
        sock.sendall(head)
        buffer = bytearray()
        response = read_response(sock, buffer)
        assert response.status == 413
        # The server closes without reading two mebibytes it refused.
        try:
            sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
    healthy(dev_node)


@pytest.fixture(scope="module")
def strict_node(dev_node, tmp_path_factory):
    """A `serve` node with a one-second header timeout, sharing the dev node's CA and IAM."""
    config = json.loads((dev_node.directory / "config.json").read_text())
    port = free_port()
    config["listen"] = [f"127.0.0.1:{port}"]
    config["dataDirectory"] = str(tmp_path_factory.mktemp("strict") / "data")
    config["limits"] = {"headerTimeoutSeconds": 1, "requestTimeoutSeconds": 2, "idleTimeoutSeconds": 3, "maxConnections": 64}
    path = tmp_path_factory.mktemp("strict-config") / "config.json"
    path.write_text(json.dumps(config))
    node = RunningNode(["serve", "--config", str(path)], path.parent, port, config["tls"]["ca"]).wait_ready()
    node.endpoint = dict(dev_node.endpoint, endpoint=f"https://127.0.0.1:{port}")
    node.principal = dev_node.principal
    node.client = lambda **kw: type(dev_node).client(node, **kw)
    yield node
    assert node.stop() == 0, node.stderr


def test_slowloris_is_cut_off(strict_node):
    head, _ = signed_request(strict_node, "GetRandomPassword", {})
    with connect(strict_node) as sock:
        started = time.monotonic()
        closed_at = None
        buffer = bytearray()
        # One header byte every 200 ms: the whole header would take minutes.
        for byte in head[:200]:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError, OSError):
                closed_at = time.monotonic()
                break
            time.sleep(0.2)
            if time.monotonic() - started > 8:
                break
        response = read_response(sock, buffer)
        assert response is not None and response.status == 408
        assert is_closed(sock, buffer)
        assert time.monotonic() - started < 8
    healthy(strict_node)


def test_idle_keep_alive_connection_is_closed(strict_node):
    with connect(strict_node) as sock:
        head, body = signed_request(strict_node, "GetRandomPassword", {})
        sock.sendall(head + body)
        buffer = bytearray()
        assert read_response(sock, buffer).status == 200
        sock.settimeout(10)
        started = time.monotonic()
        assert is_closed(sock, buffer)
        assert 2 <= time.monotonic() - started < 8


def test_a_full_node_gives_up_a_silent_connection_for_the_new_one(strict_node):
    """At maxConnections (64) of silent TCP connections, a 65th is not refused (that is how a
    flood of idle connections locked clients out): the node gives up one of the silent ones
    and the newcomer completes its handshake and is answered."""
    import select
    import socket
    held = []
    try:
        for _ in range(64):
            held.append(socket.create_connection(("127.0.0.1", strict_node.port), timeout=5))
        time.sleep(0.5)
        with connect(strict_node) as sock:
            head, body = signed_request(strict_node, "GetRandomPassword", {"PasswordLength": 8})
            sock.sendall(head + body)
            assert len(read_response(sock, bytearray()).json()["RandomPassword"]) == 8
        # Exactly the room needed was made: one held connection closed by the node.
        readable, _, _ = select.select(held, [], [], 1.0)
        closed = [s for s in readable if s.recv(1) == b""]
        assert len(closed) == 1, len(closed)
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    healthy(strict_node)


def test_silent_connections_are_closed_after_the_silent_timeout(strict_node):
    import socket
    with socket.create_connection(("127.0.0.1", strict_node.port), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""
        waited = time.monotonic() - started
    # silentTimeoutSeconds defaults to 3 (checked every 100 ms), well before the 10 s handshake timeout.
    assert 2.5 < waited < 5, waited


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_tls_versions(dev_node, version):
    import ssl
    context = ssl.create_default_context(cafile=dev_node.ca)
    context.minimum_version = context.maximum_version = getattr(ssl.TLSVersion, version)
    import socket
    with context.wrap_socket(socket.create_connection(("127.0.0.1", dev_node.port), timeout=10),
                             server_hostname="127.0.0.1") as sock:
        assert sock.version() == version.replace("_", ".")
        head, body = signed_request(dev_node, "GetRandomPassword", {"PasswordLength": 8})
        sock.sendall(head + body)
        assert len(read_response(sock, bytearray()).json()["RandomPassword"]) == 8


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_1_1_is_refused(dev_node):
    import socket
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(dev_node.ca)
    try:
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    except ValueError:
        pytest.skip("this Python cannot offer TLS 1.1")
    with pytest.raises(ssl.SSLError):
        with context.wrap_socket(socket.create_connection(("127.0.0.1", dev_node.port), timeout=10),
                                 server_hostname="127.0.0.1"):
            pass
    healthy(dev_node)


def test_half_closed_client_gets_its_answer_then_the_close(dev_node):
    import socket
    head, body = signed_request(dev_node, "GetRandomPassword", {"PasswordLength": 11})
    with connect(dev_node) as sock:
        sock.sendall(head + body)
        # TCP FIN, no close_notify (SSLSocket.shutdown would drop the TLS session on our side).
        socket.socket.shutdown(sock, socket.SHUT_WR)
        buffer = bytearray()
        response = read_response(sock, buffer)
        assert response.status == 200 and len(response.json()["RandomPassword"]) == 11
        started = time.monotonic()
        assert is_closed(sock, buffer)
        assert time.monotonic() - started < 5


def test_deep_pipeline_without_reading_is_answered_in_order(dev_node):
    """2,000 pipelined requests sent before reading any answer: the node bounds what it holds
    for the socket, and still answers every request once the client reads."""
    import threading
    lengths = [8 + i % 50 for i in range(2000)]
    payload = b"".join(b"".join(signed_request(dev_node, "GetRandomPassword", {"PasswordLength": n})) for n in lengths)
    with connect(dev_node, timeout=30) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        time.sleep(1.0)  # let both directions fill up before reading
        buffer = bytearray()
        got = [len(read_response(sock, buffer).json()["RandomPassword"]) for _ in lengths]
        sender.join(timeout=30)
    assert got == lengths
