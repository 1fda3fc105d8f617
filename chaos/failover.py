"""Node-level faults and promotion for regions with standbys (issue 19): isolate or heal one node,
and `strongroom promote` of a standby, recorded with its exit, answer and timing. `Faults`
takes these methods (a mixin); the node helpers below also serve the runner's final reads of
every node of a region (standbys and an old primary that rejoined included)."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import netns


def _env(cluster) -> dict:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=cluster.access_key, AWS_SECRET_ACCESS_KEY=cluster.secret_key)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def node_status(cluster, key: str, timeout: float = 5.0) -> dict | None:
    """`strongroom status --json` of node `key` from the clients' namespace, or None when it
    cannot be reached (cut off, killed, frozen) within `timeout` seconds."""
    node = cluster.nodes[key]
    if not node.running:
        return None
    try:
        result = subprocess.run(["ip", "netns", "exec", netns.CLIENT_NS, str(cluster.binary), "status", "--endpoint", node.endpoint,
                                 "--json", "--ca-bundle", cluster.ca, "--region", node.region],
                                capture_output=True, text=True, timeout=timeout, env=_env(cluster))
    except subprocess.TimeoutExpired:
        return None
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return None


def brief(status: dict | None) -> str:
    if status is None:
        return "unreachable"
    return (f"{status.get('role')} epoch {status.get('epoch')} (seen {status.get('highestSeenEpoch')}) durable "
            f"{status.get('durableLSN')}" + (" confirming" if status.get("confirming") else ""))


def region_primary(cluster, region: str, timeout: float = 30.0) -> str | None:
    """The key of the node of `region` whose status says primary (polled until one does, and it
    is no longer confirming its term), or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key in cluster.region_members(region):
            status = node_status(cluster, key)
            if status and status.get("role") == "primary" and not status.get("confirming"):
                return key
        time.sleep(0.5)
    return None


def quarantine_files(cluster, key: str) -> list[Path]:
    folder = cluster.data_directory(key) / "quarantine"
    return sorted(folder.glob("*.records")) if folder.exists() else []


def quarantined_tokens(cluster, tokens: set[str]) -> dict[str, list[str]]:
    """node key -> the acknowledged VersionIds (ClientRequestTokens) found in the bytes of its
    quarantine files (records set aside after a promotion: never served)."""
    out = {}
    for key in cluster.nodes:
        blob = b"".join(f.read_bytes() for f in quarantine_files(cluster, key))
        found = sorted(t for t in tokens if t.encode() in blob)
        if blob:
            out[key] = found
    return out


class FailoverFaults:
    """Mixed into `faults.Faults` (which holds topology, cluster, history, unmet)."""

    # One node's links ---------------------------------------------------------------------------

    def isolate_node(self, node, clients=True):
        """Cuts node `node` (a key) from every other node, both ways, and from the clients too
        unless `clients` is False (then they still reach it: a deposed primary that clients keep
        writing to)."""
        others = [m for m in self.topology.members if m != node] + (["clients"] if clients else [])
        self.topology.cut_off(node, others)
        self.isolated[node] = others
        self.cuts.append({"node": node, "from": self.history.now() if self.history else 0.0, "to": None})
        return f"isolate {node} ({self.cluster.nodes[node].node_id}) from every node{' and the clients' if clients else ' (clients still reach it)'}, both ways"

    def heal_node(self, node):
        self._end_cut(node)
        for other in self.isolated.pop(node, []):
            self.topology.unblock(node, other)
            self.topology.unblock(other, node)
        return f"heal {node}'s links"

    def _end_cut(self, node=None):
        for cut in self.cuts:
            if cut["to"] is None and node in (None, cut["node"]):
                cut["to"] = self.history.now() if self.history else 0.0

    def freeze(self, node):
        return self.pause(node)

    def thaw(self, node):
        return self.resume(node)

    # Promotion ----------------------------------------------------------------------------------

    def _standbys_by_lsn(self, region):
        """[(durableLSN, key, status)] of the region's reachable standbys, furthest ahead first."""
        found = []
        for key in self.cluster.region_members(region):
            status = node_status(self.cluster, key)
            if status and status.get("role") == "standby":
                found.append((int(status.get("durableLSN") or 0), key, status))
        return sorted(found, key=lambda f: (-f[0], f[1]))

    def _promote(self, key, force=False, reach_for=15.0):
        """Runs `strongroom promote --node ID --dir DIR --json` from the clients' namespace:
        (exit status, the JSON answer or None, stderr, seconds taken, attempts). A node that
        cannot be reached (it restarts in its new role after a fence, as an operator would
        find it) is asked again every 0.5 s for up to `reach_for` seconds; a refusal is final."""
        node = self.cluster.nodes[key]
        args = ["ip", "netns", "exec", netns.CLIENT_NS, str(self.cluster.binary), "promote", "--node", node.node_id,
                "--dir", str(self.cluster.directory), "--json"] + (["--force"] if force else [])
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        began = time.monotonic()
        for attempt in range(1, 100):  # bounded by reach_for long before
            try:
                result = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
                code, out, err = result.returncode, result.stdout, result.stderr.strip()
            except subprocess.TimeoutExpired:
                code, out, err = None, "", "timed out after 60 s"
            if code != 1 or "cannot reach" not in err or time.monotonic() - began > reach_for:
                break
            time.sleep(0.5)
        took = round(time.monotonic() - began, 3)
        try:
            answer = json.loads(out) if code == 0 and out.strip() else None
        except json.JSONDecodeError:
            answer = None
        return code, answer, err, took, attempt

    def _record(self, key, outcome, expect):
        code, answer, err, took, attempts = outcome
        entry = {"node": self.cluster.nodes[key].node_id, "exit": code, "answer": answer, "stderr": err[-600:], "seconds": took,
                 "expected": expect, "attempts": attempts}
        self.promotions.append(entry)
        ok = code == 0
        if expect == "ok" and not ok:
            self.unmet.append(f"promote {entry['node']} was expected to succeed: exit {code}: {err[-300:]}")
        if expect == "refused" and ok:
            self.unmet.append(f"promote {entry['node']} was expected to be refused, but it was promoted")
        if ok:
            self.cluster.primary[self.topology.region_of(key)] = key
            return f"promote {entry['node']}: ok in {took:.2f} s{f' ({attempts} attempts)' if attempts > 1 else ''} (epoch {answer and answer.get('Epoch')}; may lose: {answer and answer.get('MayLose')})"
        return f"promote {entry['node']}: exit {code} in {took:.2f} s ({err.splitlines()[-1] if err else 'no message'})"

    def promote_node(self, region, expect="ok", force=False, behind_first=False, forward_writes=0):
        """Promotes the reachable standby of `region` with the largest durableLSN (its
        `strongroom status`). With `behind_first`, first tries the one furthest behind, which
        must be refused. With `forward_writes` N, N puts are sent through the region's other
        standby while the promotion runs (forwarded writes in flight), recorded as client -2."""
        ranked = self._standbys_by_lsn(region)
        seen = ", ".join(f"{k} {brief(s)}" for _, k, s in ranked) or "none"
        if not ranked:
            self.unmet.append(f"no reachable standby of {region} to promote")
            return f"promote in {region}: no reachable standby ({seen})"
        done = []
        if behind_first and len(ranked) > 1:
            behind = ranked[-1][1]
            if ranked[-1][0] == ranked[0][0]:
                self.unmet.append(f"{behind} was not behind {ranked[0][1]} (durable LSN {ranked[0][0]} both)")
            done.append(self._record(behind, self._promote(behind), "refused"))
        target = ranked[0][1]
        writers, through = [], target
        if forward_writes:
            through = next((k for _, k, _ in ranked if k != target), target)
            writers = self._forwarded_puts(region, through, forward_writes)
        done.append(self._record(target, self._promote(target, force), expect))
        for thread in writers:
            thread.join(timeout=30)
        if forward_writes:
            done.append(f"{len(writers)} puts sent through {through} during the promotion: "
                        + ", ".join(self.forwarded))
        return f"standbys of {region}: {seen}; " + "; ".join(done)

    def promote_behind(self, region, expect="ok"):
        """--force promotion of the standby furthest behind: a negative control (with k = 1 the
        writes only the other standby held are lost, and check rpo must say so)."""
        ranked = self._standbys_by_lsn(region)
        seen = ", ".join(f"{k} {brief(s)}" for _, k, s in ranked) or "none"
        if len(ranked) < 2 or ranked[-1][0] == ranked[0][0]:
            self.unmet.append(f"no standby of {region} behind another to force ({seen})")
            if not ranked:
                return f"promote in {region}: no reachable standby"
        target = ranked[-1][1]
        return f"standbys of {region}: {seen}; --force " + self._record(target, self._promote(target, force=True), expect)

    def _forwarded_puts(self, region, through, count):
        """Starts `count` threads, each a put to one of the pool's secrets of `region` sent to
        node `through` (a standby: it forwards the write to the primary it follows)."""
        from cluster import in_namespace
        from workload import classify, client_for
        node = self.cluster.nodes[through]
        with self.pool.lock:
            keys = sorted(k for k, s in self.pool.secrets.items() if s["live"] and s["primary"] == region and s["puts"] < 70)
        self.forwarded = []
        threads = []
        for i in range(count if keys else 0):
            key = keys[i % len(keys)]
            with self.pool.lock:
                self.pool.secrets[key]["puts"] += 1
            token = uuid.uuid4().hex
            value = f"fw-{through}-{token[:8]}"

            def put(key=key, token=token, value=value):
                sm = client_for(node.endpoint, region, self.cluster.ca, self.cluster.access_key, self.cluster.secret_key, 15)
                op = self.history.invoke(client=-2, f="put", region=region, secret=key, token=token, value=value, node=through)
                try:
                    version = sm.put_secret_value(SecretId=key, SecretString=value, ClientRequestToken=token)["VersionId"]
                except Exception as error:  # noqa: BLE001 - recorded
                    kind, name = classify(error, True)
                    self.history.write({"type": kind, "id": op, "error": name})
                    self.forwarded.append(f"{kind} ({name})")
                    return
                self.history.write({"type": "ok", "id": op, "version": version})
                self.forwarded.append("ok")
            thread = threading.Thread(target=lambda f=put: in_namespace(netns.CLIENT_NS, f, 40), daemon=True)
            thread.start()
            threads.append(thread)
        time.sleep(0.05)  # the puts are on their way before the promotion starts
        return threads

    def await_rejoin(self, node, timeout=30.0):
        """Waits until node `node` (an old primary) follows the region's new primary as a
        standby; says which quarantine files it wrote (its records after the fork point)."""
        region = self.topology.region_of(node)
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = node_status(self.cluster, node)
            if status and status.get("role") == "standby" and (status.get("following") or {}).get("link") == "connected":
                break
            time.sleep(0.5)
        else:
            self.unmet.append(f"{node} did not rejoin {region} as a connected standby within {timeout:g} s ({brief(status)})")
            return f"{node} did not rejoin as a standby within {timeout:g} s ({brief(status)})"
        files = quarantine_files(self.cluster, node)
        following = (status.get("following") or {}).get("primary")
        return (f"{node} rejoined as a standby of {following} ({brief(status)}); quarantine: "
                + (", ".join(f"{f.name} ({f.stat().st_size} bytes)" for f in files) if files else "none"))
