"""Shared code of Strongroom's PostgreSQL rotators (postgresql-single-user, postgresql-alternating-users).

A rotator is run by the node once per rotation step with AWS's Lambda event as JSON on stdin
({"Step", "SecretId", "ClientRequestToken", "RotationToken"}) and session credentials, the region,
SECRETS_MANAGER_ENDPOINT and AWS_CA_BUNDLE in its environment. It follows the behaviour of AWS's
published RDS PostgreSQL rotation templates. Exit status 0 means the step succeeded.

Nothing here logs or prints a password or a whole secret: every password read from or written to a
secret is registered with `sensitive()` and scrubbed from log records and from the error message
`main` prints.
"""
import json
import logging
import os
import ssl
import sys

logger = logging.getLogger("strongroom.rotator")

SUPPORTED_ENGINES = ("postgres", "aurora-postgresql")
# AWS's templates exclude these so the password is safe in a connection string.
DEFAULT_EXCLUDE_CHARACTERS = ':/@"\'\\'
CLONE_SUFFIX = "_clone"
MAX_IDENTIFIER_LENGTH = 63

_SENSITIVE: set[str] = set()


def sensitive(value):
    """Registers a value that must never appear in a log line or an error message."""
    if isinstance(value, str) and value:
        _SENSITIVE.add(value)
    return value


def redact(text: str) -> str:
    for value in sorted(_SENSITIVE, key=len, reverse=True):
        text = text.replace(value, "[REDACTED]")
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record):
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class RotationError(Exception):
    """A step cannot proceed (the secret is misconfigured or a login failed)."""


# --- the secret's JSON -------------------------------------------------------------------------

def parse_secret(plaintext, what, require_masterarn=False):
    """Parses and validates a database secret; `what` names it in errors (never its value)."""
    if plaintext is None:
        raise RotationError(f"{what} has no SecretString (a binary secret cannot be rotated)")
    try:
        secret = json.loads(plaintext)
    except ValueError:
        raise RotationError(f"{what} is not valid JSON") from None
    if not isinstance(secret, dict):
        raise RotationError(f"{what} is not a JSON object")
    sensitive(secret.get("password"))
    missing = [k for k in ("engine", "host", "username", "password") if k not in secret]
    if require_masterarn and "masterarn" not in secret:
        missing.append("masterarn")
    if missing:
        raise RotationError(f"{what} lacks the field(s) {', '.join(missing)}")
    for key in ("engine", "host", "username", "password") + (("masterarn",) if require_masterarn else ()):
        if not isinstance(secret[key], str) or not secret[key]:
            raise RotationError(f"{what}: the field {key} must be a non-empty string")
    if secret["engine"] not in SUPPORTED_ENGINES:
        raise RotationError(f"{what}: engine must be one of {', '.join(SUPPORTED_ENGINES)} for this rotator")
    port = secret.get("port", 5432)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise RotationError(f"{what}: port must be a number") from None
    if not 0 < port < 65536:
        raise RotationError(f"{what}: port {port} is out of range")
    dbname = secret.get("dbname")
    if dbname is not None and (not isinstance(dbname, str) or not dbname):
        raise RotationError(f"{what}: dbname must be a non-empty string")
    return secret


def get_secret_dict(client, secret_id, stage, token=None, require_masterarn=False, what=None):
    """GetSecretValue of a stage (and, with `token`, of that version) parsed and validated."""
    args = {"SecretId": secret_id, "VersionStage": stage}
    if token:
        args["VersionId"] = token
    value = client.get_secret_value(**args)
    return parse_secret(value.get("SecretString"), what or f"the {stage} version of {secret_id}",
                        require_masterarn=require_masterarn)


def random_password(client):
    """A new password from GetRandomPassword, shaped by the templates' environment variables."""
    def flag(name, default):
        return os.environ.get(name, str(default)).lower() in ("true", "1", "y", "yes")

    answer = client.get_random_password(
        ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", DEFAULT_EXCLUDE_CHARACTERS),
        PasswordLength=int(os.environ.get("PASSWORD_LENGTH", 32)),
        ExcludeNumbers=flag("EXCLUDE_NUMBERS", False),
        ExcludePunctuation=flag("EXCLUDE_PUNCTUATION", False),
        ExcludeUppercase=flag("EXCLUDE_UPPERCASE", False),
        ExcludeLowercase=flag("EXCLUDE_LOWERCASE", False),
        RequireEachIncludedType=flag("REQUIRE_EACH_INCLUDED_TYPE", True),
    )
    return sensitive(answer["RandomPassword"])


def alternate_username(username):
    """appuser -> appuser_clone, appuser_clone -> appuser (the alternating-users scheme)."""
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    clone = username + CLONE_SUFFIX
    if len(clone) > MAX_IDENTIFIER_LENGTH:
        raise RotationError(f"cannot clone user {username}: with {CLONE_SUFFIX} the name exceeds "
                            f"{MAX_IDENTIFIER_LENGTH} characters")
    return clone


# --- PostgreSQL ---------------------------------------------------------------------------------

def _ssl_context(secret):
    """TLS only when the secret asks for it ("ssl": true or "true"); verified with the system CAs,
    or with the file named by PGSSLROOTCERT."""
    value = secret.get("ssl", False)
    if isinstance(value, str):
        value = value.lower() == "true"
    if value is not True:
        return None
    cafile = os.environ.get("PGSSLROOTCERT")
    return ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()


def connect(secret, dbname=None):
    """A pg8000 connection with the secret's credentials, or None when login fails (the reason is
    logged: its class and SQLSTATE or message, never the password)."""
    import pg8000.native

    database = dbname or secret.get("dbname") or "postgres"
    try:
        conn = pg8000.native.Connection(
            user=secret["username"], password=secret["password"], host=secret["host"],
            port=int(secret.get("port", 5432)), database=database,
            ssl_context=_ssl_context(secret), timeout=10,
        )
    except Exception as error:  # pg8000 raises InterfaceError/DatabaseError, sockets OSError
        detail = error.args[0] if error.args else ""
        if isinstance(detail, dict):  # a server error: {'S': ..., 'C': sqlstate, 'M': message}
            detail = f"{detail.get('C', '')} {detail.get('M', '')}".strip()
        logger.info("cannot log in as %s to %s:%s/%s: %s: %s", secret["username"], secret["host"],
                    secret.get("port", 5432), database, type(error).__name__, redact(str(detail)))
        return None
    logger.info("logged in as %s to %s:%s/%s%s", secret["username"], secret["host"],
                secret.get("port", 5432), database, " over TLS" if _ssl_context(secret) else "")
    return conn


def quote_ident(conn, name):
    return conn.run("SELECT quote_ident(:n)", n=name)[0][0]


def set_password_sql(conn, username, password, create=False):
    """ALTER USER (or CREATE ROLE ... WITH LOGIN) with the password as an escaped literal.

    PostgreSQL takes no bind parameters in utility statements, so the identifier and the literal
    are quoted by the server itself (quote_ident, quote_literal) from bound parameters."""
    ident, literal = conn.run("SELECT quote_ident(:u), quote_literal(:p)", u=username, p=password)[0]
    sensitive(literal)
    if create:
        conn.run(f"CREATE ROLE {ident} WITH LOGIN PASSWORD {literal}")
    else:
        conn.run(f"ALTER USER {ident} WITH PASSWORD {literal}")


def same_server(a, b):
    return a["host"] == b["host"] and int(a.get("port", 5432)) == int(b.get("port", 5432))


# --- the steps shared by both schemes -------------------------------------------------------------

def test_secret(client, arn, token):
    pending = get_secret_dict(client, arn, "AWSPENDING", token)
    conn = connect(pending)
    if conn is None:
        raise RotationError(f"testSecret: cannot log in to the database with the AWSPENDING version {token} of {arn}")
    try:
        conn.run("SELECT NOW()")
    finally:
        conn.close()
    logger.info("testSecret: logged in with the AWSPENDING version %s of %s", token, arn)


def finish_secret(client, arn, token):
    metadata = client.describe_secret(SecretId=arn)
    current = None
    for version, stages in metadata["VersionIdsToStages"].items():
        if "AWSCURRENT" in stages:
            if version == token:
                logger.info("finishSecret: version %s of %s is already AWSCURRENT", token, arn)
                return
            current = version
            break
    args = {"SecretId": arn, "VersionStage": "AWSCURRENT", "MoveToVersionId": token}
    if current:
        args["RemoveFromVersionId"] = current
    client.update_secret_version_stage(**args)
    logger.info("finishSecret: AWSCURRENT of %s moved to version %s (from %s)", arn, token, current)


def lambda_handler_with(steps, event, client):
    """The templates' lambda_handler: checks the version's stages, then runs the step."""
    try:
        arn = event["SecretId"]
        token = event["ClientRequestToken"]
        step = event["Step"]
    except (KeyError, TypeError):
        raise RotationError("the event lacks SecretId, ClientRequestToken or Step") from None

    metadata = client.describe_secret(SecretId=arn)
    if "RotationEnabled" in metadata and not metadata["RotationEnabled"]:
        raise RotationError(f"secret {arn} is not enabled for rotation")
    versions = metadata.get("VersionIdsToStages", {})
    if token not in versions:
        raise RotationError(f"secret version {token} has no stage for rotation of secret {arn}")
    if "AWSCURRENT" in versions[token]:
        logger.info("secret version %s is already AWSCURRENT for secret %s", token, arn)
        return
    if "AWSPENDING" not in versions[token]:
        raise RotationError(f"secret version {token} is not AWSPENDING for rotation of secret {arn}")

    if step not in steps:
        raise RotationError(f"invalid step {step!r} for secret {arn}")
    logger.info("%s: secret %s, version %s", step, arn, token)
    steps[step](client, arn, token)


def make_client():
    import boto3

    endpoint = os.environ["SECRETS_MANAGER_ENDPOINT"]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    ca = os.environ.get("AWS_CA_BUNDLE")
    return boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region,
                        verify=ca if ca else None)


def main(lambda_handler):
    """Reads the event from stdin, runs the handler; exit 0, or 1 with the error on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_RedactingFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # botocore logs nothing below WARNING here, and never the request bodies.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        try:
            event = json.loads(sys.stdin.read())
        except ValueError:
            raise RotationError("the event on stdin is not valid JSON") from None
        if not isinstance(event, dict):
            raise RotationError("the event on stdin is not a JSON object")
        if "SECRETS_MANAGER_ENDPOINT" not in os.environ:
            raise RotationError("SECRETS_MANAGER_ENDPOINT is not set")
        lambda_handler(event, None)
    except Exception as error:  # noqa: BLE001 - every failure becomes exit status 1
        print(f"{type(error).__name__}: {redact(str(error))}", file=sys.stderr)
        return 1
    return 0
