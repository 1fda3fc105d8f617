"""The clients: threads in the clients' namespace, each with its own boto3 clients (one per
region's node) and its own seeded choices, recording every operation as an `invoke` event and
then `ok`, `fail` or `info` (unknown: timed out or cut mid-answer) in a JSON-lines history."""
from __future__ import annotations

import json
import random
import threading
import time
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

import netns

MAX_VERSIONS = 80  # puts per secret stay below the quota of 100 versions
MAX_CREATES = 40  # secrets a run creates while faults are on (when the others are full, or by chance)


class History:
    def __init__(self, path, t0: float):
        self.file = open(path, "w")
        self.t0 = t0
        self.lock = threading.Lock()
        self.next_id = 0
        self.events: list[dict] = []

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def write(self, event: dict) -> None:
        with self.lock:
            event["time"] = self.now()
            self.events.append(event)
            self.file.write(json.dumps(event) + "\n")
            self.file.flush()

    def invoke(self, **fields) -> int:
        with self.lock:
            self.next_id += 1
            op_id = self.next_id
        self.write(dict(type="invoke", id=op_id, **fields))
        return op_id

    def close(self) -> None:
        self.file.close()


class SecretPool:
    """What the clients know: each secret's placement, its acknowledged versions, and whether
    clients may move its labels (moves only on `labelled` secrets, so that the others' AWSCURRENT
    only moves forward and monotonic reads can be judged). Keyed by lineage: a secret's name, or
    NAME@REGION for the copy a DR drill promoted in REGION (a secret of its own from then on,
    called by the same name there)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secrets: dict[str, dict] = {}  # key -> {name, primary, replicas, labelled, versions: [...], puts, live}
        self.creates = 0

    def add(self, name, primary, replicas, labelled, first_version=None, key=None, puts=0):
        with self.lock:
            self.secrets[key or name] = dict(name=name, primary=primary, replicas=list(replicas), labelled=labelled,
                                             versions=[first_version] if first_version else [], puts=puts,
                                             live=first_version is not None)

    def promote(self, key, region) -> str:
        """The copy of `key` in `region` became a secret of its own (StopReplicationToReplica
        there): from now on the clients write it in that region as lineage NAME@REGION."""
        with self.lock:
            s = self.secrets[key]
            new = f"{s['name']}@{region}"
            # The copy holds what reached it (at most every version): puts stay under the quota.
            self.secrets[new] = dict(name=s["name"], primary=region, replicas=[], labelled=s["labelled"],
                                     versions=list(s["versions"]), puts=s["puts"] + 1, live=True)
            return new

    def placements(self) -> dict:
        """The placements the clients asked for, by name (a DR drill's promotions are in the
        history; `checker.lineages` derives what they change)."""
        with self.lock:
            return {n: {"primary": s["primary"], "replicas": s["replicas"]} for n, s in self.secrets.items() if "@" not in n}

    def live(self) -> list[str]:
        with self.lock:
            return sorted(n for n, s in self.secrets.items() if s["live"])


def client_for(endpoint: str, region: str, ca: str, access_key: str, secret_key: str, timeout: float):
    return boto3.session.Session().client(
        "secretsmanager", endpoint_url=endpoint, region_name=region, verify=ca,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        # One attempt, no retry: botocore reads max_attempts as retries (1 means two attempts), so a
        # write whose first attempt timed out after reaching the node, and whose retry could not
        # connect, was recorded as a definite failure though it took effect (restart-catchup, seed 3).
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"total_max_attempts": 1, "mode": "standard"},
                      tcp_keepalive=False))


def classify(error: BaseException, write: bool) -> tuple[str, str]:
    """(completion type, error name): a refusal is a definite failure; a timeout, a cut
    connection or a server error on a write may have taken effect, so it is unknown ("info")."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "ClientError")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        return ("info" if write and status >= 500 else "fail"), code
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return "fail", type(error).__name__  # never reached the node
    return ("info" if write else "fail"), type(error).__name__


class RegionNodes(dict):
    """One client's boto3 clients by region for a cluster whose regions have standbys: before
    each operation `pick` draws one node of the region (its primary or a standby, which
    forwards writes to the primary it follows), and `self[region]` is that node's client until
    the next pick. Each client thread has its own."""

    def __init__(self, by_node: dict, members: dict, rng: random.Random):
        super().__init__({r: None for r in members})
        self.by_node, self.members, self.rng = by_node, members, rng
        self.picked = {r: keys[0] for r, keys in members.items()}

    def pick(self, region) -> str:
        self.picked[region] = self.rng.choice(self.members[region])
        return self.picked[region]

    def __getitem__(self, region):
        return self.by_node[self.picked[region]]


class Workload:
    def __init__(self, cluster, pool: SecretPool, history: History, seed: int, clients: int = 4, timeout: float = 2.0):
        self.cluster, self.pool, self.history, self.seed = cluster, pool, history, seed
        self.clients, self.timeout = clients, timeout
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.pending: dict[int, list] = {i: [] for i in range(clients)}  # unknown puts to retry

    def start(self, deadline: float) -> None:
        for index in range(self.clients):
            thread = threading.Thread(target=self._run, args=(index, deadline), daemon=True, name=f"client-{index}")
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=4 * self.timeout + 5)

    def _run(self, index: int, deadline: float) -> None:
        try:
            netns.enter_namespace(netns.CLIENT_NS)
            rng = random.Random(f"{self.seed}/client/{index}")
            # Odd clients go through the front (one endpoint for every region, routed by the
            # SigV4 scope), even ones to each region's node.
            front = self.cluster.front.endpoint if self.cluster.front is not None and index % 2 == 1 else None
            regions = self.cluster.topology.regions
            sms = {r: client_for(front or self.cluster.nodes[r].endpoint, r, self.cluster.ca, self.cluster.access_key, self.cluster.secret_key,
                                 self.timeout) for r in regions}
            if self.cluster.standbys and front is None:
                # Every node of a region takes this client's calls (standbys forward the writes).
                members = {r: self.cluster.region_members(r) for r in regions}
                by_node = {k: client_for(self.cluster.nodes[k].endpoint, self.cluster.nodes[k].region, self.cluster.ca, self.cluster.access_key,
                                         self.cluster.secret_key, self.timeout) for keys in members.values() for k in keys}
                sms = RegionNodes(by_node, members, random.Random(f"{self.seed}/nodes/{index}"))
            for step in range(100_000):  # bounded; the deadline ends it first
                if self.stop.is_set() or time.monotonic() >= deadline:
                    return
                self.one(index, step, rng, sms)
                time.sleep(rng.uniform(0.0, 0.02))
        except Exception as error:  # noqa: BLE001 - reported, not raised in a thread
            self.errors.append(f"client {index}: {type(error).__name__}: {error}")

    # One operation ------------------------------------------------------------------------------

    def call(self, index, f, region, secret, sm_call, write, sms=None, **fields):
        if isinstance(sms, RegionNodes):
            fields["node"] = sms.pick(region)
        elif sms is not None and self.cluster.standbys:
            fields["node"] = "front"
        op = self.history.invoke(client=index, f=f, region=region, secret=secret, **fields)
        try:
            result = sm_call()
        except Exception as error:  # noqa: BLE001 - every outcome is recorded
            kind, name = classify(error, write)
            self.history.write(dict(type=kind, id=op, error=name))
            if kind == "info" and f == "put":
                # Unknown: the client retries it later with the same token and value, which
                # must then be answered as the same version (idempotency across the fault).
                self.pending[index].append((secret, fields["token"], fields["value"], region))
            return None
        self.history.write(dict(type="ok", id=op, **result))
        return result

    def one(self, index, step, rng: random.Random, sms) -> None:
        live = self.pool.live()
        if not live:
            return
        regions = sorted(sms)
        if self.pending[index] and rng.random() < 0.3:
            name, token, value, primary = self.pending[index].pop(0)
            self.call(index, "put", primary, name,
                      lambda: {"version": sms[primary].put_secret_value(SecretId=name, SecretString=value, ClientRequestToken=token)["VersionId"]},
                      True, sms=sms, token=token, value=value, retry=True)
            return
        roll = rng.random()
        if roll < 0.35:
            with self.pool.lock:
                open_ = [n for n in live if self.pool.secrets[n]["puts"] < MAX_VERSIONS]
            if open_:
                self.put(index, step, rng, sms, rng.choice(open_))
            else:
                self.create(index, step, rng, sms, regions)
        elif roll < 0.42:
            self.move(index, rng, sms, rng.choice(live))
        elif roll < 0.44:
            self.create(index, step, rng, sms, regions)
        elif roll < 0.49:
            self.metadata(index, step, rng, sms, rng.choice(live))
        else:
            key = rng.choice(live)
            self.read(index, rng, sms, key, rng.choice(regions))

    def _placed(self, key):
        with self.pool.lock:
            s = self.pool.secrets[key]
            return s["name"], s["primary"]

    def put(self, index, step, rng, sms, key):
        with self.pool.lock:
            s = self.pool.secrets[key]
            if s["puts"] >= MAX_VERSIONS:
                return
            s["puts"] += 1
            name, primary = s["name"], s["primary"]
        token = uuid.UUID(int=rng.getrandbits(128)).hex
        value = f"v-{self.seed}-{index}-{step}-{token[:8]}"
        result = self.call(index, "put", primary, name,
                           lambda: {"version": sms[primary].put_secret_value(SecretId=name, SecretString=value, ClientRequestToken=token)["VersionId"]},
                           True, sms=sms, token=token, value=value)
        if result:
            with self.pool.lock:
                self.pool.secrets[key]["versions"].append(result["version"])

    def move(self, index, rng, sms, key):
        with self.pool.lock:
            s = self.pool.secrets[key]
            if not s["labelled"] or len(s["versions"]) < 2:
                return
            name, primary, target = s["name"], s["primary"], rng.choice(s["versions"])
        current = self.read(index, rng, sms, key, primary, stage="AWSCURRENT")
        if not current or current["version"] == target:
            return

        def do():
            sms[primary].update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=target,
                                                     RemoveFromVersionId=current["version"])
            return {}
        self.call(index, "move", primary, name, do, True, sms=sms, stage="AWSCURRENT", to=target, remove_from=current["version"])

    def metadata(self, index, step, rng, sms, key):
        """TagResource / UntagResource / PutResourcePolicy / DeleteResourcePolicy on the primary:
        the final views' tags and policy must then agree in every region (convergence)."""
        name, primary = self._placed(key)
        roll = rng.random()
        tag = f"k{rng.randrange(4)}"
        if roll < 0.4:
            value = f"t-{self.seed}-{index}-{step}"
            self.call(index, "tag", primary, name, lambda: sms[primary].tag_resource(SecretId=name, Tags=[{"Key": tag, "Value": value}]) and {},
                      True, sms=sms, key=tag, value=value)
        elif roll < 0.6:
            self.call(index, "untag", primary, name, lambda: sms[primary].untag_resource(SecretId=name, TagKeys=[tag]) and {}, True, sms=sms, key=tag)
        elif roll < 0.85:
            sid = f"chaos{self.seed}x{index}x{step}"
            document = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": sid, "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.cluster.account}:root"},
                "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
            self.call(index, "policy", primary, name, lambda: sms[primary].put_resource_policy(SecretId=name, ResourcePolicy=document) and {},
                      True, sms=sms, sid=sid)
        else:
            self.call(index, "unpolicy", primary, name, lambda: sms[primary].delete_resource_policy(SecretId=name) and {}, True, sms=sms)

    def create(self, index, step, rng, sms, regions):
        with self.pool.lock:
            if self.pool.creates >= MAX_CREATES:
                return
            self.pool.creates += 1
        primary = rng.choice(regions)
        others = [r for r in regions if r != primary]
        replicas = rng.sample(others, rng.randint(1, len(others)))
        name = f"chaos/{self.seed}/c{index}-{step}"
        token = uuid.UUID(int=rng.getrandbits(128)).hex
        value = f"c-{self.seed}-{index}-{step}-{token[:8]}"
        labelled = rng.random() < 0.5
        self.pool.add(name, primary, replicas, labelled)

        def do():
            answer = sms[primary].create_secret(Name=name, SecretString=value, ClientRequestToken=token,
                                                AddReplicaRegions=[{"Region": r} for r in replicas])
            return {"version": answer["VersionId"]}
        result = self.call(index, "create", primary, name, do, True, sms=sms, token=token, value=value, replicas=replicas)
        if result:
            with self.pool.lock:
                self.pool.secrets[name]["versions"].append(result["version"])
                self.pool.secrets[name]["live"] = True

    def read(self, index, rng, sms, key, region, stage=None):
        by_version = None
        with self.pool.lock:
            name = self.pool.secrets[key]["name"]
            versions = list(self.pool.secrets[key]["versions"])
        if stage is None:
            roll = rng.random()
            if roll < 0.2 and versions:
                by_version = rng.choice(versions)
            else:
                stage = "AWSPREVIOUS" if roll < 0.32 else "AWSCURRENT"
        args = {"SecretId": name, **({"VersionId": by_version} if by_version else {"VersionStage": stage})}

        def do():
            answer = sms[region].get_secret_value(**args)
            return {"version": answer["VersionId"], "value": answer.get("SecretString"), "stages": answer.get("VersionStages", [])}
        fields = {"stage": stage} if stage else {"by_version": by_version}
        return self.call(index, "read", region, name, do, False, sms=sms, **fields)
