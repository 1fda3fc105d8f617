#!/usr/bin/env python3
"""A failover drill on a running cluster under load: fault the primary, promote, heal, measure.

    cluster/drill [--dir DIR] [--region R] [--fault kill|freeze] [--seconds S] [--clients C]
                  [--force] [--keep-secrets] [--json]

On a cluster started by `cluster/up --standbys N --sync-standbys K` (DIR, default
.strongroom-cluster; its cluster.json gives endpoints, CA, credentials, node ids and process ids):

 1. finds region R's primary and standbys by asking each of its nodes `strongroom status` (R
    defaults to the first region with standbys); it refuses without a primary and a standby;
 2. creates a few drill secrets (drill/<run-id>/<n>) and starts C client threads (default 4)
    writing PutSecretValue through the region's standbys and the front (standbys forward writes
    to the current primary), one attempt per write, recording every acknowledged write
    (secret, VersionId, value, time) and every failure; the load is bounded in count and time;
 3. after S/3 seconds (S default 12) faults the primary: `kill` sends SIGKILL to its process;
    `freeze` sends SIGSTOP (a frozen process is this machine's stand-in for a partitioned node:
    it holds its connections and answers nothing);
 4. promotes the standby whose status shows the largest durable log end (`durableLSN`, else
    its log's committed `lsn`) with `strongroom promote --node ID --dir DIR`, and writes to the
    promoted node (a probe) until one write is acknowledged;
 5. heals: `kill` starts the killed node again with its own command line (appending to its
    node.log; the new process id goes into cluster.json through `strongroom cluster manifest`,
    as cluster/up does, so cluster/down stops it), `freeze` sends SIGCONT; then waits (up to
    --heal-wait, default 20 s) for the old primary to report role `standby`;
 6. stops the load at S seconds (or once healed, if later) and reads every acknowledged version
    back from the new primary (GetSecretValue with VersionId); each secret's AWSCURRENT must be
    its last acknowledged value or one attempted after it, and the old primary must reach the
    same AWSCURRENTs.

Prints the fault time, the promotion's duration, RTO (fault to the first write acknowledged after
the promotion began), promote to first acknowledged write, writes acknowledged / failed /
missing (RPO), the old primary's role after the heal and any quarantine it reports; --json
prints one JSON object instead. The drill secrets are deleted at the end (--keep-secrets keeps
them). Exit 0 when nothing acknowledged is missing (with syncStandbys 0 a loss is allowed and
reported) and every step worked; 1 otherwise; 2 on a usage error. The cluster is left running:
the promoted node is the region's primary, the old one a standby.
"""
import argparse
import concurrent.futures
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
except ImportError:  # pragma: no cover - said plainly rather than as a traceback
    sys.exit("cluster/drill: needs boto3 (pip install boto3, or scripts/install-deps)")

ROOT = Path(__file__).resolve().parents[1]
MAX_ATTEMPTS_PER_SECRET = 80  # AWS's quota is 100 versions a secret; the creation is one


class DrillError(Exception):
    """A step that cannot go on; reported, exit 1."""


def log(options, text):
    if not options.json:
        print(text, flush=True)


def note(text):
    print(f"cluster/drill: {text}", file=sys.stderr, flush=True)


# The cluster -----------------------------------------------------------------------------------

class Node:
    def __init__(self, entry, kind):
        self.id = entry["id"]
        self.region = entry["region"]
        self.endpoint = entry["endpoint"]
        self.pid = entry["pid"]
        self.ordinal = entry.get("ordinal", 0)
        self.kind = kind  # "nodes" (the region's first primary) or "standbys", as cluster.json lists it
        self.data = Path(entry["dataDir"])
        self.directory = self.data.parent
        self.config = self.directory / "config.json"


class Cluster:
    def __init__(self, directory: Path):
        self.directory = directory
        path = directory / "cluster.json"
        if not path.exists():
            raise DrillError(f"{path} is missing: start the cluster with cluster/up --dir {directory} --standbys N first")
        self.manifest = json.loads(path.read_text())
        self.ca = self.manifest["caBundle"]
        self.front = self.manifest.get("front")
        admin = next(p for p in self.manifest["accounts"][0]["principals"] if p["name"] == "admin")
        self.access_key, self.secret_key = admin["accessKeyId"], admin["secretAccessKey"]
        self.nodes = [Node(n, "nodes") for n in self.manifest["nodes"]] + \
                     [Node(n, "standbys") for n in self.manifest.get("standbys", [])]

    def region_nodes(self, region):
        return [n for n in self.nodes if n.region == region]

    def default_region(self):
        for n in self.manifest["nodes"]:
            if any(s["region"] == n["region"] for s in self.manifest.get("standbys", [])):
                return n["region"]
        raise DrillError(f"no region of {self.directory} has standbys: start the cluster with cluster/up --standbys N (N >= 1)")

    def env(self, region):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key, AWS_CA_BUNDLE=self.ca,
                   AWS_REGION=region, AWS_DEFAULT_REGION=region)
        return env

    def client(self, endpoint, region, timeout=2.0):
        return boto3.session.Session().client(
            "secretsmanager", endpoint_url=endpoint, region_name=region, verify=self.ca,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(connect_timeout=timeout, read_timeout=timeout, tcp_keepalive=False,
                          retries={"total_max_attempts": 1, "mode": "standard"}))


def ours(pid, directory: Path) -> bool:
    """Alive, not a zombie, and one of this cluster's strongroom processes (as cluster/up checks)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and "strongroom" in cmdline and f"{directory}/" in cmdline


def status(binary, cluster, node, region, timeout=3.0):
    """The node's `strongroom status --json`, or None when it does not answer."""
    try:
        out = subprocess.run([binary, "status", "--endpoint", node.endpoint, "--json", "--ca-bundle", cluster.ca,
                              "--region", region], capture_output=True, text=True, env=cluster.env(region), timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    try:
        return json.loads(out.stdout)
    except ValueError:
        return None


def statuses(binary, cluster, nodes, region, timeout=3.0):
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        answers = list(pool.map(lambda n: status(binary, cluster, n, region, timeout), nodes))
    return {n.id: a for n, a in zip(nodes, answers)}


def own_log(answer, region):
    logs = (answer or {}).get("logs") or []
    return next((entry for entry in logs if entry.get("region") == region), logs[0] if logs else {})


def durable_lsn(answer, region):
    """The durable log end a status reports: `durableLSN` when the node gives it, else its own
    log's committed `lsn`."""
    if answer is None:
        return None
    if answer.get("durableLSN") is not None:
        return answer["durableLSN"]
    entry = own_log(answer, region)
    return entry.get("durableLSN", entry.get("lsn"))


def epoch(answer, region):
    if answer is None:
        return None
    return answer.get("epoch", own_log(answer, region).get("epoch"))


def find_quarantine(value, path=""):
    """Every field of a status whose name mentions quarantine, as PATH: VALUE."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else key
            if "quarantin" in key.lower() and inner not in (None, [], {}, ""):
                found.append(f"{here}: {json.dumps(inner)}")
            else:
                found += find_quarantine(inner, here)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += find_quarantine(inner, f"{path}[{index}]")
    return found


# The load --------------------------------------------------------------------------------------

class Writes:
    """Every write attempt: secret, token, value, target, start and end (monotonic, seconds since
    the drill's t0), outcome ok / fail (refused: did not happen) / unknown (may have), VersionId."""

    def __init__(self, t0):
        self.t0 = t0
        self.lock = threading.Lock()
        self.items = []

    def now(self):
        return time.monotonic() - self.t0

    def put(self, client, target, secret, who):
        token = uuid.uuid4().hex
        value = f"{who}-{token[:12]}"
        record = dict(secret=secret, token=token, value=value, target=target, who=who, start=self.now())
        try:
            answer = client.put_secret_value(SecretId=secret, SecretString=value, ClientRequestToken=token)
            record.update(outcome="ok", version=answer["VersionId"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            http = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            record.update(outcome="unknown" if http >= 500 else "fail", error=f"{code} ({http})")
        except (EndpointConnectionError, ConnectTimeoutError) as error:  # never reached the node
            record.update(outcome="fail", error=type(error).__name__)
        except Exception as error:  # noqa: BLE001 - a timeout or a cut connection: it may have taken effect
            record.update(outcome="unknown", error=type(error).__name__)
        record["end"] = self.now()
        with self.lock:
            self.items.append(record)
        return record

    def acked(self):
        with self.lock:
            return [w for w in self.items if w["outcome"] == "ok"]


def load_thread(cluster, region, targets, secrets, writes, stop, deadline, interval, timeout):
    """One client: writes its own secrets in turn (so that each secret's writes are sequential),
    at most MAX_ATTEMPTS_PER_SECRET each; after a failure it moves to the next target."""
    clients = {label: cluster.client(url, region, timeout) for label, url in targets}
    attempts = {s: 0 for s in secrets}
    turn, which = 0, 0
    while not stop.is_set() and time.monotonic() < deadline:
        open_ = [s for s in secrets if attempts[s] < MAX_ATTEMPTS_PER_SECRET]
        if not open_:
            return  # the count bound
        secret = open_[turn % len(open_)]
        turn += 1
        attempts[secret] += 1
        label = targets[which % len(targets)][0]
        record = writes.put(clients[label], label, secret, f"load-{label}")
        if record["outcome"] == "ok":
            stop.wait(interval)
        else:
            which += 1
            stop.wait(0.02)


def probe_thread(cluster, region, node, secret, writes, stop, result):
    """Writes to the promoted node itself until one write is acknowledged (bounded)."""
    client = cluster.client(node.endpoint, region, 1.5)
    for attempt in range(MAX_ATTEMPTS_PER_SECRET):
        if stop.is_set():
            return
        record = writes.put(client, node.id, secret, "probe")
        if record["outcome"] == "ok":
            result["firstAck"] = record["end"]
            return
        stop.wait(0.03 if attempt < 40 else 0.25)


# The steps -------------------------------------------------------------------------------------

def find_roles(binary, cluster, region):
    nodes = cluster.region_nodes(region)
    if not nodes:
        raise DrillError(f"{cluster.directory}/cluster.json has no node in region {region}")
    answers = statuses(binary, cluster, nodes, region)
    primaries = [n for n in nodes if (answers[n.id] or {}).get("role") == "primary"]
    standbys = [n for n in nodes if (answers[n.id] or {}).get("role") == "standby"]
    roles = ", ".join(f"{n.id} {(answers[n.id] or {}).get('role', 'unreachable')}" for n in nodes)
    if len(primaries) != 1:
        raise DrillError(f"region {region} needs exactly one primary answering, found {len(primaries)} ({roles})")
    if not standbys:
        raise DrillError(f"region {region} has no standby answering ({roles}): start the cluster with cluster/up --standbys N (N >= 1)")
    return primaries[0], standbys, answers


def quarantine_files(node):
    """What the node has set aside (DATA/quarantine: a returning old primary's divergent records)."""
    directory = node.data / "quarantine"
    return sorted(directory.iterdir()) if directory.is_dir() else []


def sync_standbys(node):
    try:
        return (json.loads(node.config.read_text()).get("replication") or {}).get("syncStandbys", 0)
    except (OSError, ValueError):
        return None


def create_secrets(cluster, region, endpoint, names):
    client = cluster.client(endpoint, region, 10.0)
    created = []
    for name in names:
        token = uuid.uuid4().hex
        value = f"create-{token[:12]}"
        answer = client.create_secret(Name=name, SecretString=value, ClientRequestToken=token,
                                      Description="cluster/drill: deleted when the drill ends")
        created.append(dict(secret=name, token=token, value=value, target="setup", who="create", outcome="ok",
                            version=answer["VersionId"], start=0.0, end=0.0))
    return created


def pick_candidate(binary, cluster, region, standbys):
    answers = statuses(binary, cluster, standbys, region)
    ranked = [(durable_lsn(answers[n.id], region), -n.ordinal, n) for n in standbys if durable_lsn(answers[n.id], region) is not None]
    if not ranked:
        raise DrillError("no standby answered its status after the fault")
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
    lsn, _, node = ranked[0]
    return node, lsn, answers


def promote(binary, cluster, region, node, force):
    args = [binary, "promote", "--node", node.id, "--dir", str(cluster.directory), "--json", "--ca-bundle", cluster.ca,
            "--region", region] + (["--force"] if force else [])
    started = time.monotonic()
    try:
        out = subprocess.run(args, capture_output=True, text=True, env=cluster.env(region), timeout=60)
    except subprocess.TimeoutExpired:
        return dict(ok=False, seconds=time.monotonic() - started, error="strongroom promote did not answer within 60 s")
    seconds = time.monotonic() - started
    answer = None
    try:
        answer = json.loads(out.stdout) if out.stdout.strip() else None
    except ValueError:
        answer = {"output": out.stdout.strip()}
    if out.returncode != 0:
        reason = [line for line in (out.stderr.strip() or out.stdout.strip()).splitlines() if line.strip()]
        return dict(ok=False, seconds=seconds, exit=out.returncode, error=" / ".join(reason[:3])[:400], answer=answer)
    return dict(ok=True, seconds=seconds, answer=answer)


def restart(cluster, node, argv, cwd, binary):
    """Starts the node again with the command line it ran with (as cluster/up starts it: a
    session of its own, its output appended to its node.log) and records the new process id in
    cluster.json with `strongroom cluster manifest`, as cluster/up does."""
    with open(node.directory / "node.log", "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                                start_new_session=True)
    node.pid = proc.pid
    manifest = cluster.manifest
    for entry in manifest[node.kind]:
        if entry["id"] == node.id:
            entry["pid"] = proc.pid
    pids = ",".join(f"{n['region']}={n['pid']}" for n in manifest["nodes"])
    standby_pids = ",".join(f"{n['id']}={n['pid']}" for n in manifest.get("standbys", []))
    args = [binary, "cluster", "manifest", "--dir", str(cluster.directory), "--pids", pids]
    args += ["--standby-pids", standby_pids] if standby_pids else []
    args += ["--front-pid", str(manifest["frontPid"])] if manifest.get("frontPid") else []
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    written = json.loads((cluster.directory / "cluster.json").read_text()) if out.returncode == 0 else None
    if not written or all(e["pid"] != proc.pid for e in written[node.kind]):
        # Whatever went wrong there, cluster/down must still find the new process.
        note(f"strongroom cluster manifest did not record pid {proc.pid} ({out.stderr.strip()}); writing cluster.json directly")
        path = cluster.directory / "cluster.json"
        path.with_suffix(".json.tmp").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        path.with_suffix(".json.tmp").replace(path)
    return proc


def wait_gone(pid, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def verify(cluster, region, endpoint, writes, created):
    """RPO: every acknowledged version read back with its value; each secret's AWSCURRENT the last
    acknowledged value or one attempted after it."""
    client = cluster.client(endpoint, region, 10.0)
    missing, unverified = [], []
    acked = created + writes.acked()
    for w in acked:
        for attempt in range(3):
            try:
                got = client.get_secret_value(SecretId=w["secret"], VersionId=w["version"])
                if got.get("SecretString") != w["value"]:
                    missing.append(dict(w, found=got.get("SecretString")))
                break
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code == "ResourceNotFoundException":
                    missing.append(w)
                    break
                if attempt == 2:
                    unverified.append(dict(w, error=code))
            except Exception as error:  # noqa: BLE001
                if attempt == 2:
                    unverified.append(dict(w, error=type(error).__name__))
            time.sleep(0.2)
    currents, wrong = {}, []
    by_secret = {}
    for w in sorted(created + writes.items, key=lambda w: w["start"]):
        by_secret.setdefault(w["secret"], []).append(w)
    for secret, attempts in sorted(by_secret.items()):
        last_ok = max((i for i, w in enumerate(attempts) if w["outcome"] == "ok"), default=None)
        allowed = {w["value"] for w in attempts[(last_ok if last_ok is not None else 0):]}  # none acknowledged after last_ok
        try:
            got = client.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")
        except Exception as error:  # noqa: BLE001
            wrong.append(dict(secret=secret, error=type(error).__name__))
            continue
        currents[secret] = got["VersionId"]
        if got.get("SecretString") not in allowed:
            wrong.append(dict(secret=secret, found=got.get("SecretString"), lastAcked=attempts[last_ok]["value"] if last_ok is not None else None))
    return dict(acked=len(acked), missing=missing, unverified=unverified, currents=currents, wrongCurrent=wrong)


def caught_up(cluster, region, node, currents, seconds=10.0):
    """Whether `node` (the healed old primary) serves every drill secret at the new primary's AWSCURRENT."""
    client = cluster.client(node.endpoint, region, 3.0)
    deadline = time.monotonic() + seconds
    behind = dict(currents)
    while behind and time.monotonic() < deadline:
        for secret, version in list(behind.items()):
            try:
                if client.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")["VersionId"] == version:
                    del behind[secret]
            except Exception:  # noqa: BLE001 - not yet
                pass
        if behind:
            time.sleep(0.25)
    return sorted(behind)


def delete_secrets(cluster, region, endpoint, names):
    client = cluster.client(endpoint, region, 10.0)
    failed = 0
    for name in names:
        try:
            client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except Exception:  # noqa: BLE001 - reported as a count; the drill's verdict does not rest on it
            failed += 1
    return failed


# The drill -------------------------------------------------------------------------------------

def drill(options):
    directory = Path(os.path.realpath(options.dir))
    cluster = Cluster(directory)
    region = options.region or cluster.default_region()
    binary = os.environ.get("STRONGROOM_BIN") or str(ROOT / ".build" / "release" / "strongroom")
    old, standbys, before = find_roles(binary, cluster, region)
    if not ours(old.pid, directory):
        raise DrillError(f"{old.id}'s process {old.pid} (from cluster.json) is not running as one of {directory}'s strongroom processes")
    argv = [a.decode() for a in Path(f"/proc/{old.pid}/cmdline").read_bytes().split(b"\0") if a]
    cwd = os.readlink(f"/proc/{old.pid}/cwd")
    if not Path(binary).exists():
        binary = argv[0]
    k = sync_standbys(old)
    quarantined_before = set(quarantine_files(old))
    run_id = uuid.uuid4().hex[:8]
    report = dict(region=region, fault=options.fault, runId=run_id, syncStandbys=k, clients=options.clients,
                  seconds=options.seconds, oldPrimary=old.id, oldPrimaryPid=old.pid, standbys=[n.id for n in standbys],
                  epochBefore=epoch(before[old.id], region))
    log(options, f"cluster/drill: region {region}, primary {old.id} (pid {old.pid}), standbys {', '.join(n.id for n in standbys)}, "
                 f"syncStandbys {k}; fault {options.fault}, {options.clients} clients, {options.seconds:g} s, run {run_id}")

    # Secrets: each client writes its own, enough of them to stay under the version quota.
    horizon = options.seconds + options.heal_delay + options.heal_wait + 15
    per_client = max(1, min(8, math.ceil(horizon / options.interval / MAX_ATTEMPTS_PER_SECRET)))
    names = {c: [f"drill/{run_id}/{c * per_client + i}" for i in range(per_client)] for c in range(options.clients)}
    probe_secret = f"drill/{run_id}/probe"
    every = [n for c in names.values() for n in c] + [probe_secret]
    created = create_secrets(cluster, region, old.endpoint, every)
    targets = [(n.id, n.endpoint) for n in standbys] + ([("front", cluster.front)] if cluster.front else [])

    t0 = time.monotonic()
    writes = Writes(t0)
    stop = threading.Event()
    threads = [threading.Thread(target=load_thread, daemon=True, name=f"client-{c}",
                                args=(cluster, region, targets[c % len(targets):] + targets[:c % len(targets)], names[c],
                                      writes, stop, t0 + horizon, options.interval, options.timeout))
               for c in range(options.clients)]
    for t in threads:
        t.start()
    failed_steps = []
    healed = False
    t_fault = None
    probe = {}
    probe_stop = threading.Event()
    probe_threads = []
    new = None
    try:
        time.sleep(max(0.0, t0 + options.seconds / 3 - time.monotonic()))
        if not ours(old.pid, directory):
            raise DrillError(f"{old.id} (pid {old.pid}) stopped before the fault")
        os.kill(old.pid, signal.SIGKILL if options.fault == "kill" else signal.SIGSTOP)
        t_fault = writes.now()
        report["faultAt"] = round(t_fault, 3)
        report["faultTime"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
        if options.fault == "kill":
            wait_gone(old.pid)
        log(options, f"  {t_fault:7.3f} s  fault: {'SIGKILL' if options.fault == 'kill' else 'SIGSTOP'} to {old.id} (pid {old.pid})")

        new, lsn, after = pick_candidate(binary, cluster, region, standbys)
        report["candidates"] = {n.id: dict(durableLSN=durable_lsn(after[n.id], region), epoch=epoch(after[n.id], region),
                                           role=(after[n.id] or {}).get("role")) for n in standbys}
        report["promoted"] = new.id
        t_promote = writes.now()
        report["promoteAt"] = round(t_promote, 3)
        log(options, f"  {t_promote:7.3f} s  promote {new.id} (durable LSN {lsn}; "
                     + ", ".join(f"{i} {c['durableLSN']}" for i, c in report["candidates"].items()) + ")")
        promoted = promote(binary, cluster, region, new, options.force)
        report["promoteSeconds"] = round(promoted["seconds"], 3)
        report["promoteAnswer"] = promoted.get("answer")
        if not promoted["ok"]:
            report["promoteError"] = promoted.get("error")
            failed_steps.append(f"strongroom promote --node {new.id} failed (exit {promoted.get('exit')}): {promoted.get('error')}")
            log(options, f"  {writes.now():7.3f} s  promote FAILED after {promoted['seconds']:.3f} s: {promoted.get('error')}")
        else:
            log(options, f"  {writes.now():7.3f} s  promoted in {promoted['seconds']:.3f} s: {json.dumps(promoted.get('answer'))}")
            probe_threads.append(threading.Thread(target=probe_thread, daemon=True,
                                                  args=(cluster, region, new, probe_secret, writes, probe_stop, probe)))
            probe_threads[0].start()

        # Heal (after --heal-delay: a longer outage, the promoted node serving meanwhile).
        time.sleep(options.heal_delay)
        healed = heal(options, cluster, old, argv, cwd, binary, writes, report)
        t_heal = writes.now()
        report["healAt"] = round(t_heal, 3)
        role, answer, seconds = None, None, None
        roles = []  # the old primary's role (and epoch) as it changed after the heal
        deadline = time.monotonic() + options.heal_wait
        while time.monotonic() < deadline:
            answer = status(binary, cluster, old, region, timeout=2.0)
            role = (answer or {}).get("role")
            seen = f"{role or 'unreachable'}@{epoch(answer, region)}"
            if not roles or roles[-1][1] != seen:
                roles.append((round(writes.now(), 3), seen))
            if role == "standby":
                seconds = writes.now() - t_heal
                break
            time.sleep(0.25)
        report["oldPrimaryRole"] = role or "unreachable"
        report["oldPrimaryRoles"] = roles
        report["oldPrimaryStandbyAfter"] = round(seconds, 3) if seconds is not None else None
        report["oldPrimaryEpoch"] = epoch(answer, region)
        quarantine = find_quarantine(answer) + [str(f) for f in quarantine_files(old) if f not in quarantined_before]
        report["quarantine"] = quarantine
        log(options, f"  {writes.now():7.3f} s  old primary {old.id}: role {role or 'unreachable'}"
                     + (f" {seconds:.3f} s after the heal" if seconds is not None else f" after {options.heal_wait:g} s"))
        if role != "standby":
            failed_steps.append(f"{old.id} did not report role standby within {options.heal_wait:g} s of the heal (role {role or 'unreachable'})")
        # The load goes on to S seconds, then stops.
        time.sleep(max(0.0, t0 + options.seconds - time.monotonic()))
    finally:
        stop.set()
        probe_stop.set()
        if t_fault is not None and not healed:
            heal(options, cluster, old, argv, cwd, binary, writes, report)
        for t in threads + probe_threads:
            t.join(timeout=options.timeout + 5)
    report["loadSeconds"] = round(writes.now(), 3)

    # Figures.
    items = writes.items
    acks = sorted(w["end"] for w in items if w["outcome"] == "ok")
    after_promote = [a for a in acks if a >= report["promoteAt"]]
    report["firstAckAfterPromote"] = round(after_promote[0], 3) if after_promote else None
    # Without a promotion, a write acknowledged later is the healed old primary's: no RTO.
    promoted_ok = "promoteAt" in report and not report.get("promoteError")
    report["rtoSeconds"] = round(after_promote[0] - t_fault, 3) if after_promote and promoted_ok else None
    report["promoteToFirstAckSeconds"] = round(after_promote[0] - report["promoteAt"], 3) if after_promote and promoted_ok else None
    report["firstAckAfterFaultSeconds"] = round(after_promote[0] - t_fault, 3) if after_promote else None
    report["probeFirstAck"] = round(probe["firstAck"], 3) if "firstAck" in probe else None
    report["lastAckBeforeFault"] = round(max((a for a in acks if a < t_fault), default=0.0), 3)
    report["acksDuringFault"] = sum(1 for a in acks if t_fault <= a < report["promoteAt"])
    report["writesAttempted"] = len(items)
    report["writesAcknowledged"] = len(acks)
    report["writesFailed"] = sum(1 for w in items if w["outcome"] == "fail")
    report["writesUnknown"] = sum(1 for w in items if w["outcome"] == "unknown")
    errors = {}
    for w in items:
        if w["outcome"] != "ok":
            errors[w["error"]] = errors.get(w["error"], 0) + 1
    report["errors"] = errors
    report["failedWrites"] = [dict(start=round(w["start"], 3), end=round(w["end"], 3), target=w["target"], error=w["error"],
                                   outcome=w["outcome"]) for w in items if w["outcome"] != "ok"][:100]
    if not after_promote:
        failed_steps.append("no write was acknowledged after the promotion")

    target = new if new is not None and promoted_ok else old
    checked = verify(cluster, region, target.endpoint, writes, created)
    report["verifiedOn"] = target.id
    report["missing"] = len(checked["missing"])
    report["rpo"] = len(checked["missing"])
    report["missingWrites"] = [{k: w.get(k) for k in ("secret", "version", "value", "target", "start", "end", "found")} for w in checked["missing"]][:20]
    report["unverified"] = len(checked["unverified"])
    report["wrongCurrent"] = checked["wrongCurrent"]
    if checked["unverified"]:
        failed_steps.append(f"{len(checked['unverified'])} acknowledged writes could not be read back from {target.id}")
    if checked["wrongCurrent"]:
        failed_steps.append(f"{len(checked['wrongCurrent'])} secrets' AWSCURRENT is neither the last acknowledged value nor a later attempt")
    if checked["missing"] and k:
        failed_steps.append(f"{len(checked['missing'])} acknowledged writes are missing with syncStandbys {k}")
    # A write acknowledged after the promotion began and then lost was acknowledged by a node that
    # was no longer the primary: never allowed, whatever k.
    late = [w for w in checked["missing"] if w["end"] >= report["promoteAt"]]
    report["missingAfterPromotion"] = len(late)
    if late:
        failed_steps.append(f"{len(late)} writes acknowledged after the promotion began are missing (acknowledged by a stale primary?)")
    if report.get("oldPrimaryRole") == "standby":
        behind = caught_up(cluster, region, old, checked["currents"])
        report["oldPrimaryBehind"] = behind
        if behind:
            failed_steps.append(f"{old.id} does not serve the new primary's AWSCURRENT of {len(behind)} drill secrets within 10 s")
    if not options.keep_secrets:
        report["secretsNotDeleted"] = delete_secrets(cluster, region, target.endpoint, every)
    report["failures"] = failed_steps
    report["ok"] = not failed_steps
    return report


def heal(options, cluster, old, argv, cwd, binary, writes, report):
    """Undoes the fault (once): SIGCONT, or the killed node started again. Returns True."""
    if report.get("healed"):
        return True
    report["healed"] = True
    if options.fault == "freeze":
        os.kill(old.pid, signal.SIGCONT)
        log(options, f"  {writes.now():7.3f} s  heal: SIGCONT to {old.id} (pid {old.pid})")
    else:
        proc = restart(cluster, old, argv, cwd, binary)
        report["oldPrimaryNewPid"] = proc.pid
        log(options, f"  {writes.now():7.3f} s  heal: {old.id} started again (pid {proc.pid}, {' '.join(argv[1:])})")
    return True


def summary(r):
    def s(value):
        return "-" if value is None else f"{value:.3f} s"
    lines = [
        "",
        f"region {r['region']}, syncStandbys {r['syncStandbys']}, fault {r['fault']} on {r['oldPrimary']} at {s(r.get('faultAt'))} ({r.get('faultTime')})",
        f"  promoted            {r.get('promoted', '-')} in {s(r.get('promoteSeconds'))}"
        + (f" (epoch {r['promoteAnswer'].get('PreviousEpoch')} -> {r['promoteAnswer'].get('Epoch')}, "
           f"promotion LSN {r['promoteAnswer'].get('PromotionLSN')}"
           + (f", may lose {r['promoteAnswer']['MayLose']}" if r['promoteAnswer'].get('MayLose') else "") + ")"
           if isinstance(r.get("promoteAnswer"), dict) and "Epoch" in r["promoteAnswer"] else ""),
        f"  RTO                 {s(r.get('rtoSeconds'))} (fault to the first acknowledged write after the promotion began)",
        f"  promote->first ack  {s(r.get('promoteToFirstAckSeconds'))} (goal: under 2 s; the probe on {r.get('promoted', '-')}: "
        f"{s(r['probeFirstAck'] - r['promoteAt']) if r.get('probeFirstAck') is not None else '-'})",
        f"  writes              {r['writesAcknowledged']} acknowledged, {r['writesFailed']} failed, {r['writesUnknown']} unknown "
        f"(of {r['writesAttempted']} in {r['loadSeconds']:.1f} s); errors {json.dumps(r['errors'])}",
        f"  RPO                 {r['rpo']} acknowledged writes missing on {r['verifiedOn']}"
        + (" (allowed with syncStandbys 0)" if r["rpo"] and not r["syncStandbys"] else ""),
        f"  old primary         {r['oldPrimary']}: role {r.get('oldPrimaryRole', '-')}"
        + (f" {s(r['oldPrimaryStandbyAfter'])} after the heal" if r.get("oldPrimaryStandbyAfter") is not None else "")
        + (f", new pid {r['oldPrimaryNewPid']}" if r.get("oldPrimaryNewPid") else "")
        + (f", caught up" if r.get("oldPrimaryBehind") == [] else ""),
        f"  old primary's role  " + ", ".join(f"{role} at {t:.3f} s" for t, role in r.get("oldPrimaryRoles", [])) + " (role@epoch)",
        f"  quarantine          {'; '.join(r.get('quarantine') or []) or 'none reported'}",
    ]
    lines += [f"  FAILED: {f}" for f in r["failures"]]
    lines.append(f"drill {'passed' if r['ok'] else 'FAILED'}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cluster/drill", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--dir", default=str(ROOT / ".strongroom-cluster"))
    parser.add_argument("--region")
    parser.add_argument("--fault", choices=["kill", "freeze"], default="kill",
                        help="kill: SIGKILL the primary; freeze: SIGSTOP it (the stand-in for a partitioned node)")
    parser.add_argument("--seconds", type=float, default=12.0, help="the load's length; the fault comes at a third of it")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.1, help="a client's pause after an acknowledged write")
    parser.add_argument("--timeout", type=float, default=2.0, help="a write's connect and read timeout")
    parser.add_argument("--heal-delay", type=float, default=0.0, help="seconds between the promotion and the heal")
    parser.add_argument("--heal-wait", type=float, default=20.0, help="how long the old primary has to report role standby")
    parser.add_argument("--force", action="store_true", help="pass --force to strongroom promote")
    parser.add_argument("--keep-secrets", action="store_true", help="leave the drill secrets in place")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if not (1 <= options.clients <= 64) or not (3 <= options.seconds <= 600) or options.interval <= 0 or options.timeout <= 0 \
            or not (0 <= options.heal_delay <= 300):
        parser.error("--clients takes 1 to 64, --seconds 3 to 600, --heal-delay 0 to 300, --interval and --timeout more than 0")
    try:
        report = drill(options)
    except DrillError as error:
        if options.json:
            print(json.dumps(dict(ok=False, error=str(error))))
        note(str(error))
        return 1
    if options.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(summary(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
