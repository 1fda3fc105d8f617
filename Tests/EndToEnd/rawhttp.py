"""Raw HTTPS for tests that need exact bytes: signed with botocore's own SigV4 signer."""
import json
import socket
import ssl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def signed_request(node, operation: str, body: dict | bytes, principal=None, extra_headers=None,
                   chunked: bool = False, expect_continue: bool = False) -> bytes:
    """The bytes of one signed AWS JSON 1.1 request for `operation`."""
    p = principal or node.principal()
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    host = f"127.0.0.1:{node.port}"
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"secretsmanager.{operation}",
        "Host": host,
    }
    headers.update(extra_headers or {})
    request = AWSRequest(method="POST", url=f"https://{host}/", data=payload, headers=headers)
    SigV4Auth(Credentials(p["accessKeyId"], p["secretAccessKey"]), "secretsmanager", node.endpoint["region"]).add_auth(request)
    lines = [b"POST / HTTP/1.1"]
    for name, value in request.headers.items():
        lines.append(f"{name}: {value}".encode())
    if expect_continue:
        lines.append(b"Expect: 100-continue")
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        half = len(payload) // 2
        body_bytes = b""
        for part in (payload[:half], payload[half:]):
            if part:
                body_bytes += f"{len(part):x}\r\n".encode() + part + b"\r\n"
        body_bytes += b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(payload)}".encode())
        body_bytes = payload
    return b"\r\n".join(lines) + b"\r\n\r\n", body_bytes


def connect(node, timeout: float = 10.0) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=node.ca)
    raw = socket.create_connection(("127.0.0.1", node.port), timeout=timeout)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


class Response:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def read_response(sock: ssl.SSLSocket, buffer: bytearray) -> Response | None:
    """Reads one response (Content-Length framed); None when the server closed first."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    buffer[:] = rest[length:]
    return Response(status, headers, rest[:length])


def is_closed(sock: ssl.SSLSocket, buffer: bytearray) -> bool:
    """True when the server has closed the connection (after any buffered response)."""
    try:
        return sock.recv(1) == b"" and not buffer
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True
