"""The shipped PostgreSQL rotators (cluster/rotators) against a real PostgreSQL and a real node.

Each step is run the way the node will run it: the executable, the Lambda event on stdin, the
credentials, region, endpoint and CA bundle in the environment. Today's node cannot yet create the
valueless AWSPENDING version itself before createSecret, so these tests put the pending version
(with a password they generate) first: createSecret must then see it and leave it alone. createSecret
generating the password with GetRandomPassword is checked in-process on a token with no version yet;
the whole path through the node (RotateSecret, the valueless AWSPENDING version, the handler's checks)
is left to the full rotation test."""
import json
import os
import secrets
import subprocess
import uuid

import pytest

from conftest import ROOT
from postgres import postgres  # noqa: F401  (the module-scope fixture)

ROTATORS = ROOT / "cluster" / "rotators"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def rotator_env(node) -> dict:
    p = node.principal()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=p["accessKeyId"],
        AWS_SECRET_ACCESS_KEY=p["secretAccessKey"],
        AWS_REGION=node.endpoint["region"],
        AWS_DEFAULT_REGION=node.endpoint["region"],
        SECRETS_MANAGER_ENDPOINT=node.endpoint["endpoint"],
        AWS_ENDPOINT_URL_SECRETS_MANAGER=node.endpoint["endpoint"],
        AWS_CA_BUNDLE=node.endpoint["caBundle"],
    )
    return env


def run_step(node, rotator: str, step: str, arn: str, token: str, cwd="/") -> subprocess.CompletedProcess:
    event = {"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": str(uuid.uuid4())}
    return subprocess.run([str(ROTATORS / rotator)], input=json.dumps(event), capture_output=True, text=True,
                          env=rotator_env(node), cwd=cwd, timeout=60)


def assert_no_secrets(result: subprocess.CompletedProcess, *passwords: str) -> None:
    for password in passwords:
        assert password not in result.stdout and password not in result.stderr, "a password was printed"


def rotate(node, rotator: str, arn: str, pending: dict, known_passwords=()) -> str:
    """One rotation: the pending version put first (as the service will create it), then the four steps."""
    client = node.client()
    token = str(uuid.uuid4())
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending),
                            VersionStages=["AWSPENDING"])
    for step in STEPS:
        result = run_step(node, rotator, step, arn, token)
        assert result.returncode == 0, f"{step} failed:\n{result.stderr}"
        assert_no_secrets(result, pending["password"], *known_passwords)
    # createSecret left the value we put alone.
    assert json.loads(client.get_secret_value(SecretId=arn, VersionId=token)["SecretString"]) == pending
    return token


def stages(node, arn: str) -> dict:
    return node.client().describe_secret(SecretId=arn)["VersionIdsToStages"]


def new_password() -> str:
    # Punctuation that needs quoting in SQL (a quote, a backslash) is deliberately included.
    return secrets.token_urlsafe(18) + "'\\$x"


def test_single_user_rotation(dev_node, postgres):
    old = postgres.create_user("single_user")
    client = dev_node.client()
    created = client.create_secret(Name="pg/single", SecretString=json.dumps(postgres.secret("single_user", old)))
    arn, old_version = created["ARN"], created["VersionId"]

    pending = postgres.secret("single_user", new_password())
    token = rotate(dev_node, "postgresql-single-user", arn, pending, known_passwords=[old])

    assert not postgres.can_login("single_user", old)
    assert postgres.can_login("single_user", pending["password"])
    versions = stages(dev_node, arn)
    # AWSPENDING stays on the token version: removing it after finishSecret is the service's job.
    assert "AWSCURRENT" in versions[token]
    assert versions[old_version] == ["AWSPREVIOUS"]

    # The finished version is AWSCURRENT: each step now returns at once, successfully.
    for step in STEPS:
        assert run_step(dev_node, "postgresql-single-user", step, arn, token).returncode == 0

    # A second rotation logs in with the (new) current password and changes it again.
    second = postgres.secret("single_user", new_password())
    rotate(dev_node, "postgresql-single-user", arn, second, known_passwords=[old, pending["password"]])
    assert not postgres.can_login("single_user", pending["password"])
    assert postgres.can_login("single_user", second["password"])


def test_single_user_set_secret_runs_again_after_the_password_changed(dev_node, postgres):
    """setSecret is idempotent: a retry after the password was already set succeeds."""
    old = postgres.create_user("retry_user")
    arn = dev_node.client().create_secret(Name="pg/retry",
                                          SecretString=json.dumps(postgres.secret("retry_user", old)))["ARN"]
    pending = postgres.secret("retry_user", new_password())
    token = str(uuid.uuid4())
    dev_node.client().put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending),
                                       VersionStages=["AWSPENDING"])
    for _ in range(2):
        result = run_step(dev_node, "postgresql-single-user", "setSecret", arn, token)
        assert result.returncode == 0, result.stderr
    assert postgres.can_login("retry_user", pending["password"])


def test_alternating_users_rotation(dev_node, postgres):
    client = dev_node.client()
    master_arn = client.create_secret(
        Name="pg/master",
        SecretString=json.dumps(postgres.secret(postgres.SUPERUSER, postgres.master_password)))["ARN"]
    base_password = postgres.create_user("appuser")
    master = postgres.master()
    try:
        master.run("CREATE TABLE appdata (v int)")
        master.run("GRANT SELECT, INSERT ON appdata TO appuser")
    finally:
        master.close()
    created = client.create_secret(
        Name="pg/app", SecretString=json.dumps(postgres.secret("appuser", base_password, masterarn=master_arn)))
    arn, first_version = created["ARN"], created["VersionId"]
    rotator = "postgresql-alternating-users"
    known = [base_password, postgres.master_password]

    # First rotation: appuser_clone is created (a member of appuser) and the secret switches to it.
    clone = postgres.secret("appuser_clone", new_password(), masterarn=master_arn)
    token1 = rotate(dev_node, rotator, arn, clone, known_passwords=known)
    assert postgres.can_login("appuser_clone", clone["password"])
    assert postgres.can_login("appuser", base_password), "the base user keeps working until the next rotation"
    conn = postgres.connect("appuser_clone", clone["password"])
    try:
        conn.run("INSERT INTO appdata VALUES (1)")  # appuser's grants reach the clone
        assert conn.run("SELECT count(*) FROM appdata")[0][0] == 1
    finally:
        conn.close()
    versions = stages(dev_node, arn)
    assert "AWSCURRENT" in versions[token1] and versions[first_version] == ["AWSPREVIOUS"]
    current = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    assert current["username"] == "appuser_clone"

    # Second rotation: back to appuser with a new password; the clone keeps its password.
    back = postgres.secret("appuser", new_password(), masterarn=master_arn)
    token2 = rotate(dev_node, rotator, arn, back, known_passwords=known + [clone["password"]])
    assert postgres.can_login("appuser", back["password"])
    assert not postgres.can_login("appuser", base_password)
    assert postgres.can_login("appuser_clone", clone["password"])
    versions = stages(dev_node, arn)
    assert "AWSCURRENT" in versions[token2] and versions[token1] == ["AWSPREVIOUS"]
    assert json.loads(client.get_secret_value(SecretId=arn)["SecretString"])["username"] == "appuser"


def test_set_secret_failures_exit_nonzero_without_printing_passwords(dev_node, postgres):
    client = dev_node.client()
    rotator = "postgresql-alternating-users"
    # A master secret with the wrong password.
    wrong_master = postgres.secret(postgres.SUPERUSER, "wrong-" + secrets.token_urlsafe(12))
    master_arn = client.create_secret(Name="pg/bad-master", SecretString=json.dumps(wrong_master))["ARN"]
    password = postgres.create_user("failing_user")
    arn = client.create_secret(
        Name="pg/failing",
        SecretString=json.dumps(postgres.secret("failing_user", password, masterarn=master_arn)))["ARN"]
    pending = postgres.secret("failing_user_clone", new_password(), masterarn=master_arn)
    token = str(uuid.uuid4())
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending),
                            VersionStages=["AWSPENDING"])
    result = run_step(dev_node, rotator, "setSecret", arn, token)
    assert result.returncode != 0
    assert "master secret" in result.stderr and "RotationError" in result.stderr
    assert_no_secrets(result, password, pending["password"], wrong_master["password"], postgres.master_password)
    assert not postgres.can_login("failing_user_clone", pending["password"])

    # The database down (nothing listens on the secret's port): single-user setSecret fails too.
    down = postgres.secret("failing_user", password)
    down["port"] = _unused_port()
    down_arn = client.create_secret(Name="pg/down", SecretString=json.dumps(down))["ARN"]
    pending_down = dict(down, password=new_password())
    token = str(uuid.uuid4())
    client.put_secret_value(SecretId=down_arn, ClientRequestToken=token, SecretString=json.dumps(pending_down),
                            VersionStages=["AWSPENDING"])
    for step in ("setSecret", "testSecret"):
        result = run_step(dev_node, "postgresql-single-user", step, down_arn, token)
        assert result.returncode != 0, step
        assert "cannot log in" in result.stderr
        assert_no_secrets(result, password, pending_down["password"])


def test_bad_input_fails_clearly(dev_node, postgres):
    client = dev_node.client()
    # A secret missing fields: createSecret names them, never the value.
    arn = client.create_secret(Name="pg/incomplete",
                               SecretString=json.dumps({"engine": "postgres", "password": "s3cr3t-value"}))["ARN"]
    token = str(uuid.uuid4())
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="{}", VersionStages=["AWSPENDING"])
    result = run_step(dev_node, "postgresql-single-user", "createSecret", arn, token)
    assert result.returncode == 1
    assert "host" in result.stderr and "username" in result.stderr
    assert "s3cr3t-value" not in result.stderr + result.stdout

    # A version that is not AWSPENDING is refused, and one the secret does not have.
    other = str(uuid.uuid4())
    client.put_secret_value(SecretId=arn, ClientRequestToken=other, SecretString="{}", VersionStages=["OTHER"])
    result = run_step(dev_node, "postgresql-single-user", "setSecret", arn, other)
    assert result.returncode == 1 and "is not AWSPENDING" in result.stderr, result.stderr
    result = run_step(dev_node, "postgresql-single-user", "setSecret", arn, str(uuid.uuid4()))
    assert result.returncode == 1 and "no stage" in result.stderr

    # Not JSON on stdin.
    bad = subprocess.run([str(ROTATORS / "postgresql-single-user")], input="not json", capture_output=True,
                         text=True, env=rotator_env(dev_node), timeout=60)
    assert bad.returncode == 1 and "not valid JSON" in bad.stderr


def _unused_port() -> int:
    from conftest import free_port
    return free_port()


@pytest.fixture(autouse=True)
def _rotators_are_executable():
    for name in ("postgresql-single-user", "postgresql-alternating-users"):
        assert os.access(ROTATORS / name, os.X_OK), f"{name} is not executable"


def load_rotator(name: str):
    """The rotator executable as a module (it has no .py suffix)."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(ROTATORS / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["postgresql-single-user", "postgresql-alternating-users"])
def test_create_secret_generates_a_password(dev_node, postgres, name, monkeypatch):
    """createSecret's own generation, called in-process on a token with no version yet (the
    node's full rotation, where the service creates the valueless AWSPENDING version first and
    the handler's checks run, is the lead's test)."""
    rotator = load_rotator(name)
    client = dev_node.client()
    master_arn = client.create_secret(Name=f"pg/gen-master-{name}",
                                      SecretString=json.dumps(postgres.secret("master", "unused")))["ARN"]
    current = postgres.secret("gen_user", "old-password", masterarn=master_arn)
    arn = client.create_secret(Name=f"pg/gen-{name}", SecretString=json.dumps(current))["ARN"]
    monkeypatch.setenv("EXCLUDE_CHARACTERS", "abc")
    token = str(uuid.uuid4())
    rotator.create_secret(client, arn, token)
    pending = json.loads(client.get_secret_value(SecretId=arn, VersionId=token,
                                                 VersionStage="AWSPENDING")["SecretString"])
    assert pending["password"] != current["password"] and len(pending["password"]) == 32
    assert not set("abc") & set(pending["password"])
    expected_user = "gen_user_clone" if "alternating" in name else "gen_user"
    assert dict(pending, password=None) == dict(current, password=None, username=expected_user)
    # A second createSecret keeps that value.
    rotator.create_secret(client, arn, token)
    again = json.loads(client.get_secret_value(SecretId=arn, VersionId=token)["SecretString"])
    assert again == pending
