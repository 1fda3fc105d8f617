"""A private PostgreSQL server for the end-to-end tests (the rotators' database).

`PostgresServer(path)` makes its own data directory under `path`, runs initdb, starts the server on
127.0.0.1 and a free port with scram-sha-256 password authentication, and creates the superuser
`master` (random password) and the database `app`. It never touches the machine's own PostgreSQL
cluster: every pg_ctl call names its own data directory, and `stop()` stops only the server it
started. Use it as a context manager, or through the module-scope pytest fixture `postgres`.
"""
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def postgres_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/*/bin holding initdb (Debian's layout)."""
    candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    if not candidates:
        raise FileNotFoundError("no initdb under /usr/lib/postgresql/*/bin: run scripts/install-deps --test")
    return max(candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    SUPERUSER = "master"
    DATABASE = "app"

    def __init__(self, parent: Path | str):
        self.bin = postgres_bin_dir()
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="postgres-", dir=str(parent)))
        self.data = self.dir / "data"
        self.sockets = self.dir / "sockets"
        self.log = self.dir / "postgres.log"
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.master_password = secrets.token_urlsafe(24)
        self.started = False
        self.pid: int | None = None

    # -- processes ------------------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                               f"{self.log.read_text() if self.log.exists() else ''}")
        return result

    def start(self) -> "PostgresServer":
        self.sockets.mkdir(mode=0o700)
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.master_password + "\n")
        pwfile.chmod(0o600)
        if self.as_root:
            postgres = pwd.getpwnam("postgres")
            self._ensure_reachable(postgres.pw_uid)
            for path in (self.dir, self.sockets, pwfile):
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
        try:
            self._run("initdb", "-D", str(self.data), "-U", self.SUPERUSER, f"--pwfile={pwfile}",
                      "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale")
        finally:
            pwfile.unlink()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# strongroom end-to-end tests\n"
                       f"listen_addresses = '{self.host}'\n"
                       f"port = {self.port}\n"
                       f"unix_socket_directories = '{self.sockets}'\n"
                       "password_encryption = 'scram-sha-256'\n"
                       "fsync = off\n"
                       "max_connections = 50\n")
        # Local (socket in our private 0700 directory) trusted for setup; TCP needs a password.
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"host all all {self.host}/32 scram-sha-256\n")
        self.started = True  # from here on stop() runs pg_ctl stop, even if start fails half-way
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.pid = self._postmaster_pid()
        with self.connect(self.SUPERUSER, self.master_password, database="postgres") as conn:
            conn.run(f"CREATE DATABASE {self.DATABASE}")
        return self

    def _ensure_reachable(self, uid: int) -> None:
        """The postgres user must be able to traverse every parent of our directory."""
        for parent in self.dir.parents:
            mode = parent.stat().st_mode
            if parent.stat().st_uid != uid and not mode & 0o001:
                raise PermissionError(f"{parent} is not searchable by the postgres user; "
                                      "give PostgresServer a parent it can reach (e.g. a directory in /tmp)")

    def stop(self) -> None:
        """`pg_ctl -m fast stop` of our data directory; if that fails, SIGTERM then SIGKILL of the
        postmaster we started (by its PID from our postmaster.pid)."""
        if not self.started:
            return
        self.pid = self.pid or self._postmaster_pid()
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop", check=False)
        finally:
            self.started = False
            if self.pid and self._alive(self.pid):
                os.kill(self.pid, signal.SIGTERM)
                deadline = time.monotonic() + 20
                while self._alive(self.pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if self._alive(self.pid):
                    os.kill(self.pid, signal.SIGKILL)

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n")[0])
        except (OSError, ValueError):
            return None

    def _alive(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # Only our postmaster: its command line names our data directory.
        try:
            return str(self.data) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- SQL --------------------------------------------------------------------------------------

    def connect(self, user: str, password: str, database: str | None = None):
        import pg8000.native
        return pg8000.native.Connection(user=user, password=password, host=self.host, port=self.port,
                                        database=database or self.DATABASE, ssl_context=None, timeout=10)

    def can_login(self, user: str, password: str, database: str | None = None) -> bool:
        import pg8000.exceptions
        try:
            conn = self.connect(user, password, database)
        except (pg8000.exceptions.InterfaceError, pg8000.exceptions.DatabaseError, OSError):
            return False
        conn.close()
        return True

    def master(self):
        return self.connect(self.SUPERUSER, self.master_password)

    def create_user(self, name: str, password: str | None = None, grants: str = "") -> str:
        """CREATE ROLE name LOGIN PASSWORD ...; returns the password (random unless given)."""
        from pg8000.native import identifier, literal
        password = password or secrets.token_urlsafe(24)
        conn = self.master()
        try:
            conn.run(f"CREATE ROLE {identifier(name)} WITH LOGIN PASSWORD {literal(password)}")
            if grants:
                conn.run(grants)
        finally:
            conn.close()
        return password

    def secret(self, user: str, password: str, **extra) -> dict:
        """The secret JSON the rotators expect, for a user of this server's `app` database."""
        return {"engine": "postgres", "host": self.host, "port": self.port, "username": user,
                "password": password, "dbname": self.DATABASE, **extra}


@contextlib.contextmanager
def running_postgres(parent: Path | str | None = None):
    """A started PostgresServer, always stopped (and its directory removed) on exit. Under root the
    directory goes in the system temp directory, which the postgres user can reach (pytest's
    tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="strongroom-pg-", dir=None if parent is None else str(parent)))
    base.chmod(0o755)
    server = PostgresServer(base)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    with running_postgres() as server:
        yield server
