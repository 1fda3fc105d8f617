"""The fault actions a scenario's steps name; each applies or heals one fault and returns a
short description for the fault log. `heal_all` undoes whatever is still applied."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid

from failover import FailoverFaults


class Faults(FailoverFaults):
    def __init__(self, topology, cluster, log, history=None, pool=None):
        self.topology, self.cluster, self.log = topology, cluster, log
        self.history, self.pool = history, pool  # the DR drill records its calls and tells the clients
        self.snapshot_cut = None  # (region, source, the position it asked the cut snapshot from)
        self.catchup_kill = None  # (region, source, the position it subscribed at before the kill)
        self.unmet: list[str] = []  # a fault that could not be applied as its scenario means (the run FAILs)
        self.down: set[str] = set()
        self.paused: set[str] = set()
        self.full: set[str] = set()
        self.isolated: dict[str, list[str]] = {}  # node -> the members (and "clients") it is cut from
        self.promotions: list[dict] = []  # each `strongroom promote`: node, exit, answer, stderr, seconds, expected
        self.forwarded: list[str] = []
        self.cuts: list[dict] = []  # each node cut from every other node: {node, from, to} (history seconds; "from" once whole)

    def isolate(self, region):
        for other in self.topology.regions:
            if other != region:
                self.topology.block(region, other)
                self.topology.block(other, region)
        return f"partition {region} | others (both ways)"

    def isolate_one_way(self, region, direction):
        for other in self.topology.regions:
            if other != region:
                if direction == "out":
                    self.topology.block(region, other)
                else:
                    self.topology.block(other, region)
        return f"partition {region} -> others dropped" if direction == "out" else f"partition others -> {region} dropped"

    def cut_clients(self, region):
        self.topology.block(region, "clients")
        self.topology.block("clients", region)
        return f"cut {region} from the clients (both ways)"

    def heal_links(self):
        if self.snapshot_cut is not None:
            return self._heal_after_snapshot_cut()
        self._end_cut()
        self.topology.heal_links()
        self.isolated.clear()
        return "heal every link"

    def kill(self, region):
        self.cluster.nodes[region].kill()
        self.down.add(region)
        self.paused.discard(region)
        return f"kill -9 {region}"

    def restart(self, region):
        node = self.cluster.nodes[region]
        if not node.running:
            offsets = self._log_offsets()
            pid = node.start()
            node.wait_ready(self.cluster.ca)
            self.down.discard(region)
            if self.catchup_kill is not None and self.catchup_kill[0] == region:
                # Where the replica killed during a catch-up resumes: its durable position.
                _, source, before = self.catchup_kill
                self.catchup_kill = None
                again = self._await_line(offsets, [region], rf"subscribed to {re.escape(source)} at (\S+) \(([^;]+); source at ([^)]+)\)", 15)
                if again is not None:
                    return (f"restart {region} (pid {pid}); it subscribed to {source} again at {again[1][1]} ({again[1][2]}; source at "
                            f"{again[1][3]}), its durable position (before the kill it asked from {before})")
            return f"restart {region} (pid {pid})"
        return f"restart {region}: already running"

    def wipe(self, region):
        """A negative control, not a fault Strongroom claims to survive: kill -9 and delete the
        node's data directory (its region log), as a lost disk would."""
        import shutil
        node = self.cluster.nodes[region]
        node.kill()
        data = self.cluster.data_directory(region)
        shutil.rmtree(data)
        data.mkdir(mode=0o700)
        self.down.add(region)
        return f"kill -9 {region} and delete its data directory (control)"

    def pause(self, region):
        node = self.cluster.nodes[region]
        node.signal(signal.SIGSTOP)
        node.paused = True
        self.paused.add(region)
        return f"SIGSTOP {region} (pid {node.proc.pid})"

    def resume(self, region):
        node = self.cluster.nodes[region]
        node.signal(signal.SIGCONT)
        node.paused = False
        self.paused.discard(region)
        return f"SIGCONT {region}"

    def slow_link(self, region, rate, loss, delay_ms=0, jitter_ms=0):
        delayed = self.topology.slow_link(region, rate, loss, delay_ms, jitter_ms)
        if not delay_ms:
            return f"slow link {region}: rate {rate}, loss {loss}%"
        return (f"slow link {region}: rate {rate}, loss {loss}%, " + (f"delay {delay_ms} ms ± {jitter_ms} ms (tc netem)" if delayed
                else f"no delay ({delay_ms} ± {jitter_ms} ms asked): this kernel has no tc netem"))

    def heal_slow_link(self, region):
        self.topology.heal_slow_link(region)
        return f"heal slow link {region}"

    def disk_full(self, region):
        """Fills the node's own file system (see `ChaosCluster.small_disk`) to the last byte:
        writes must fail retryably and nothing acknowledged may be lost."""
        filler = self.cluster.data_directory(region) / "chaos-filler"
        written = 0
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            # Unbuffered, in smaller and smaller blocks down to the last byte; bounded (the file
            # system is small, and each size stops at its first short or failed write).
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1):
                block = b"\0" * size
                for _ in range(1 << 16):
                    try:
                        count = os.write(fd, block)
                    except OSError:
                        break
                    written += count
                    if count < size:
                        break
        finally:
            os.close(fd)
        self.full.add(region)
        return f"disk full on {region} ({written >> 20} MiB of filler)"

    def disk_free(self, region):
        (self.cluster.data_directory(region) / "chaos-filler").unlink(missing_ok=True)
        self.full.discard(region)
        return f"disk space back on {region}"

    # Faults timed by what the nodes log (snapshot catch-up, compaction, catch-up) ----------------

    def _log_offsets(self):
        return {r: n.log.stat().st_size if n.log.exists() else 0 for r, n in self.cluster.nodes.items()}

    def _new_lines(self, offsets, region):
        with open(self.cluster.nodes[region].log, errors="replace") as f:
            f.seek(offsets[region])
            return f.read().splitlines()

    def _await_line(self, offsets, regions, pattern, timeout):
        """The first new line of one of `regions`' logs matching `pattern`, (region, match), or
        None after `timeout` seconds (polled every 10 ms)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for region in regions:
                for line in self._new_lines(offsets, region):
                    found = re.search(pattern, line)
                    if found:
                        return region, found
            time.sleep(0.01)
        return None

    def slow_into(self, region, rate):
        self.topology.slow_ingress(region, rate)
        return f"slow link into {region}: rate {rate}"

    def heal_slow_into(self, region):
        self.topology.heal_slow_ingress(region)
        return f"heal slow link into {region}"

    def cut_during_snapshot(self, region, delay=0.3, timeout=20.0):
        """Heals the links, waits until a source logs that it sends `region` a snapshot (its
        position is older than the source's log keeps), and cuts `region` off again `delay`
        seconds later, while the parts are in flight on the slowed link into it."""
        offsets = self._log_offsets()
        self.topology.heal_links()
        others = [r for r in self.topology.regions if r != region]
        seen = self._await_line(offsets, others, rf"of {re.escape(region)} subscribed at (\S+); sending a snapshot", timeout)
        if seen is None:
            self.isolate(region)
            self.unmet.append(f"no snapshot catch-up of {region} to cut")
            return f"heal, then no snapshot to {region} within {timeout:g} s; partition {region} again (NO SNAPSHOT CUT)"
        time.sleep(delay)
        sent = [line for r in others for line in self._new_lines(offsets, r) if re.search(rf"snapshot at \S+ sent to {re.escape(region)}", line)]
        self.isolate(region)
        self.snapshot_cut = (region, seen[0], seen[1][1])
        return (f"heal; {seen[0]} began a snapshot catch-up of {region} (which asked from {seen[1][1]}); partition {region} again {delay:g} s later "
                f"({'its source had handed the last part to TLS' if sent else 'parts still being sent'})")

    def _heal_after_snapshot_cut(self):
        """Heals, and says where the region cut during a snapshot subscribes again: at the
        position it asked that snapshot from (it did not take: a snapshot is only applied whole)
        or further (it had arrived whole before the cut)."""
        region, source, asked = self.snapshot_cut
        self.snapshot_cut = None
        offsets = self._log_offsets()
        self.topology.heal_links()
        again = self._await_line(offsets, [region], rf"subscribed to {re.escape(source)} at (\S+) \((streaming|snapshot first)", 15)
        if again is None:
            return f"heal every link ({region} did not subscribe to {source} again within 15 s)"
        position, mode = again[1][1], again[1][2]
        verdict = f"it had asked the cut snapshot from {asked}: " + ("it did not take" if position == asked else "it had arrived whole")
        return f"heal every link; {region} subscribed to {source} again at {position} ({mode}); {verdict}"

    def kill_during_snapshot(self, region, timeout=20.0):
        """kill -9 of the node while its region log writes a snapshot: the temporary snapshot
        file is watched for (every 0.5 ms) and the node killed as soon as it appears."""
        journal = self.cluster.data_directory(region) / "journal"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            temporary = [n for n in os.listdir(journal) if n.startswith("snapshot-") and n.endswith(".tmp")]
            if temporary:
                self.kill(region)
                left = [n for n in temporary if (journal / n).exists()]
                return (f"kill -9 {region} while it wrote {temporary[0]}"
                        + (" (the temporary file is still there: killed mid-snapshot)" if left else " (renamed before the kill landed)"))
            time.sleep(0.0005)
        self.kill(region)
        self.unmet.append(f"no snapshot of {region}'s log to kill it in")
        return f"kill -9 {region}: no snapshot seen within {timeout:g} s (NOT DURING A SNAPSHOT)"

    def _acked(self, source, region):
        """(the LSN `region` has acknowledged, the source's own LSN), as `strongroom status --json`
        of the source's node reports it (from the clients' namespace: not the slowed link), or None."""
        import netns
        node = self.cluster.nodes[source]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.cluster.access_key, AWS_SECRET_ACCESS_KEY=self.cluster.secret_key)
        env.pop("AWS_SESSION_TOKEN", None)
        result = subprocess.run(["ip", "netns", "exec", netns.CLIENT_NS, str(self.cluster.binary), "status", "--endpoint", node.endpoint,
                                 "--json", "--ca-bundle", self.cluster.ca, "--region", source], capture_output=True, text=True, timeout=10, env=env)
        if result.returncode != 0:
            return None
        for log in json.loads(result.stdout).get("logs", []):
            if log.get("role") != "replica" and log.get("region") == source:
                for subscriber in log.get("subscribers", []):
                    if subscriber.get("region") == region and subscriber.get("ackedLSN") is not None:
                        return int(subscriber["ackedLSN"]), int(log.get("lsn") or 0)
        return None

    def kill_during_catchup(self, region, timeout=20.0):
        """Heals the links; once `region` has subscribed again to a source far ahead of it,
        polls the source's `strongroom status` until `region` has acknowledged part of the
        backlog (past where it subscribed, short of the source's LSN: those records are durable
        in `region`), and kills it with kill -9 there."""
        offsets = self._log_offsets()
        self.topology.heal_links()
        seen = self._await_line(offsets, [region], r"subscribed to (\S+) at (\S+) \((streaming|snapshot first); source at ([^)]+)\)", timeout)
        if seen is None:
            self.kill(region)
            self.unmet.append(f"no catch-up of {region} to kill it in")
            return f"heal, then {region} did not subscribe within {timeout:g} s; kill -9 {region} (NO CATCH-UP SEEN)"
        source, at, mode, ahead = seen[1].groups()
        start = int(at.split("/")[-1]) if at != "nothing" else 0
        deadline = time.monotonic() + timeout
        progress = None
        while time.monotonic() < deadline:
            progress = self._acked(source, region)
            if progress is not None and progress[0] > start:
                break
            time.sleep(0.02)
        self.kill(region)
        self.catchup_kill = (region, source, at)
        if progress is None or progress[0] <= start or progress[0] >= progress[1]:
            self.unmet.append(f"{region} was not seen part-way through its catch-up from {source}")
            return f"heal; kill -9 {region} after it subscribed to {source} at {at} ({mode}; source at {ahead}): NOT SEEN PART-WAY ({progress})"
        return (f"heal; {region} subscribed to {source} at {at} ({mode}; source at {ahead}); kill -9 {region} once {source} "
                f"reported it had acknowledged LSN {progress[0]} of {progress[1]} (strongroom status)")

    def _recorded(self, f, region, key, call, **fields):
        """Calls `call()` as the drill's client (-2), recorded in the history; its outcome."""
        from workload import classify
        op = self.history.invoke(client=-2, f=f, region=region, secret=key, **fields)
        try:
            result = call()
        except Exception as error:  # noqa: BLE001 - recorded
            kind, name = classify(error, True)
            self.history.write({"type": kind, "id": op, "error": name})
            return f"{f} {'failed' if kind == 'fail' else 'unknown'} ({name}: {error})"
        self.history.write(dict(type="ok", id=op, **result))
        return f"{f} ok"

    def _drill_put(self, sm, region, key):
        token = uuid.uuid4().hex
        value = f"dr-{region}-{token[:8]}"
        return self._recorded("put", region, key, lambda: {"version": sm.put_secret_value(SecretId=key, SecretString=value, ClientRequestToken=token)["VersionId"]},
                              token=token, value=value)

    def _client(self, region):
        from workload import client_for
        node = self.cluster.nodes[region]
        return client_for(node.endpoint, region, self.cluster.ca, self.cluster.access_key, self.cluster.secret_key, 10)

    def promote(self, region):
        """The DR drill: StopReplicationToReplica, called in `region` (cut from the primary), on
        the copy there with the fewest puts, then a put to the promoted secret in `region`; the
        clients write it there from now on."""
        from cluster import in_namespace
        import netns
        with self.pool.lock:
            candidates = sorted((s["puts"], key) for key, s in self.pool.secrets.items()
                                if "@" not in key and s["live"] and s["primary"] != region and region in s["replicas"])

        def held_there(sm):
            """The first candidate whose copy has reached `region` (not every create has)."""
            for _, name in candidates:
                try:
                    if sm.describe_secret(SecretId=name).get("PrimaryRegion") not in (None, region):
                        return name
                except Exception:  # noqa: BLE001 - not there (yet): the next one
                    continue
            return None

        def drill():
            sm = self._client(region)
            key = held_there(sm)
            if key is None:
                return key, ["no copy there to promote"]
            outcome = [self._recorded("promote", region, key, lambda: sm.stop_replication_to_replica(SecretId=key) and {})]
            if outcome[0] == "promote ok":
                outcome.append(self._drill_put(sm, region, key))
            return key, outcome
        key, outcome = in_namespace(netns.CLIENT_NS, drill, 60)
        if outcome[0] == "promote ok":
            self.pool.promote(key, region)
        else:
            self.unmet.append(f"DR drill in {region}: {outcome[0]}")
        return f"DR drill: StopReplicationToReplica of {key} in {region}, then a put there: {', '.join(outcome)}"

    def promote_region(self, region, lost):
        """The region-level DR drill: `strongroom dr promote-region --lost LOST` against
        `region`'s node while LOST is cut off: every copy there of LOST's secrets becomes
        `region`'s own. A dry run first names them (each a `promote` op from then on), then the
        promotion, then one put to each promoted secret in `region`."""
        from cluster import in_namespace
        import netns
        node = self.cluster.nodes[region]
        command = ["ip", "netns", "exec", netns.CLIENT_NS, str(self.cluster.binary), "dr", "promote-region", "--endpoint", node.endpoint,
                   "--lost", lost, "--json", "--ca-bundle", self.cluster.ca, "--region", region]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.cluster.access_key, AWS_SECRET_ACCESS_KEY=self.cluster.secret_key)
        env.pop("AWS_SESSION_TOKEN", None)

        def promoted_by(args):
            result = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
            if result.returncode != 0:
                return None, (result.stderr or result.stdout).strip()
            return [p["Name"] for p in json.loads(result.stdout).get("Promoted", [])], ""
        with self.pool.lock:
            known = {k for k in self.pool.secrets if "@" not in k}
        listed, problem = promoted_by(command + ["--dry-run"])
        if listed is None:
            self.unmet.append(f"dr promote-region --dry-run in {region} failed: {problem}")
            return f"dr promote-region --lost {lost} at {region}: the dry run failed: {problem}"
        ops = {name: self.history.invoke(client=-2, f="promote", region=region, secret=name, lost=lost) for name in listed if name in known}
        promoted, problem = promoted_by(command)
        if promoted is None:
            for op in ops.values():
                self.history.write({"type": "info", "id": op, "error": "PromoteRegionFailed"})
            self.unmet.append(f"dr promote-region in {region} failed: {problem}")
            return f"dr promote-region --lost {lost} at {region} failed: {problem}"
        for name in promoted:
            if name in known and name not in ops:  # replicated there between the dry run and the promotion
                ops[name] = self.history.invoke(client=-2, f="promote", region=region, secret=name, lost=lost)
        for name, op in ops.items():
            self.history.write({"type": "ok", "id": op} if name in promoted else {"type": "fail", "id": op, "error": "NotPromoted"})
        names = sorted(n for n in promoted if n in known)
        for name in names:
            self.pool.promote(name, region)

        def puts():
            sm = self._client(region)
            return [self._drill_put(sm, region, name) for name in names]
        outcome = in_namespace(netns.CLIENT_NS, puts, 120)
        if not names:
            self.unmet.append(f"dr promote-region in {region} promoted none of {lost}'s secrets")
        return (f"dr promote-region --lost {lost} at {region}: {len(names)} secrets promoted ({len(listed)} in the dry run); "
                f"a put to each there: {sum(o == 'put ok' for o in outcome)} ok")

    def heal_all(self):
        done = []
        for region in sorted(self.full):
            done.append(self.disk_free(region))
        for region in sorted(self.paused):
            done.append(self.resume(region))
        for region in list(self.topology.rate) + list(self.topology.loss):
            if region in self.topology.rate or region in self.topology.loss:
                done.append(self.heal_slow_link(region))
        for region in sorted(self.topology.ingress):
            done.append(self.heal_slow_into(region))
        if self.topology.blocked:
            done.append(self.heal_links())
        for region in sorted(self.down):
            done.append(self.restart(region))
        return "; ".join(done) or "nothing to heal"

    def restart_all(self):
        """kill -9 of every node, then start them all: what was acknowledged must survive."""
        for node in self.cluster.nodes.values():
            node.kill()
        self.cluster.start_all()
        return "kill -9 every node and restart it"
