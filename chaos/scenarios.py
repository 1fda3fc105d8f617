"""Scenarios as small declarative schedules: each is a list of steps (at a fraction of the run,
a fault action and its arguments), drawn from the run's seeded random. A new fault is a new
action in `faults.py` plus a schedule here (e.g. a later "promote-standby" / "old-primary-returns"
is two steps); the runner and the checker do not change."""
from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Step:
    at: float  # seconds from the start of the workload
    action: str  # a method of faults.Faults
    args: dict = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    proves: str
    build: object  # (rng, regions, seconds) -> [Step]
    control: bool = False  # a negative control: its run must FAIL; not part of "all"
    journal: dict | None = None  # every node's `journal` settings, when the scenario needs compaction
    standbys: int = 0  # standbys per region (each node in a namespace of its own)
    sync: int = 0  # synchronous standbys (every node's replication.syncStandbys)

    def schedule(self, rng: random.Random, regions: list[str], seconds: float) -> list[Step]:
        return sorted(self.build(rng, regions, seconds), key=lambda s: s.at)


def _window(rng, seconds, start=(0.15, 0.3), length=(0.3, 0.45)):
    a = seconds * rng.uniform(*start)
    return round(a, 2), round(a + seconds * rng.uniform(*length), 2)


def partition(rng, regions, seconds):
    region = rng.choice(regions)
    a, b = _window(rng, seconds)
    return [Step(a, "isolate", {"region": region}), Step(b, "heal_links")]


def one_way(rng, regions, seconds):
    region = rng.choice(regions)
    a, b = _window(rng, seconds)
    direction = rng.choice(["out", "in"])
    return [Step(a, "isolate_one_way", {"region": region, "direction": direction}), Step(b, "heal_links")]


def client_cut(rng, regions, seconds):
    region = rng.choice(regions)
    a, b = _window(rng, seconds)
    return [Step(a, "cut_clients", {"region": region}), Step(b, "heal_links")]


def kill(rng, regions, seconds):
    steps = []
    for a, b in (_window(rng, seconds, (0.1, 0.2), (0.1, 0.2)), _window(rng, seconds, (0.5, 0.6), (0.1, 0.2))):
        region = rng.choice(regions)
        steps += [Step(a, "kill", {"region": region}), Step(b, "restart", {"region": region})]
    return steps


def pause(rng, regions, seconds):
    region = rng.choice(regions)
    a, b = _window(rng, seconds)
    return [Step(a, "pause", {"region": region}), Step(b, "resume", {"region": region})]


def slow_link(rng, regions, seconds):
    region = rng.choice(regions)
    a, b = _window(rng, seconds)
    loss = rng.choice([5, 10, 20])
    rate = rng.choice(["64kbit", "128kbit", "256kbit"])
    delay = rng.choice([50, 100, 200])  # drawn last: the earlier draws of a seed stay as they were
    return [Step(a, "slow_link", {"region": region, "rate": rate, "loss": loss, "delay_ms": delay, "jitter_ms": delay // 4}),
            Step(b, "heal_slow_link", {"region": region})]


def partition_kill(rng, regions, seconds):
    """A region cut off, killed and restarted while still cut (it recovers from its own log
    with no peer to catch up from), then healed: faults combined, as later ones will be."""
    region = rng.choice(regions)
    a, b = _window(rng, seconds, (0.1, 0.2), (0.5, 0.6))
    kill_at = round(a + (b - a) * rng.uniform(0.2, 0.4), 2)
    restart_at = round(a + (b - a) * rng.uniform(0.5, 0.7), 2)
    return [Step(a, "isolate", {"region": region}), Step(kill_at, "kill", {"region": region}),
            Step(restart_at, "restart", {"region": region}), Step(b, "heal_links")]


def disk_full(rng, regions, seconds):
    region = rng.choice(regions)
    a, b = _window(rng, seconds)
    return [Step(a, "disk_full", {"region": region}), Step(b, "disk_free", {"region": region})]


# Small thresholds: a snapshot every few dozen records and 16 KiB segments, so a source's log
# drops what a replica cut for a few seconds still needs, and compaction runs all the time.
COMPACTING = {"segmentBytes": 16384, "snapshotEveryRecords": 40, "snapshotEveryBytes": 65536}


def snapshot_cut(rng, regions, seconds):
    """A region cut off long enough that its sources compact past its position; healed on a
    slowed link, so it catches up by a snapshot whose parts take a while; cut again while
    they are in flight; then healed for good."""
    region = rng.choice(regions)
    a = round(seconds * rng.uniform(0.1, 0.15), 2)
    b = round(seconds * rng.uniform(0.4, 0.45), 2)
    c = round(seconds * rng.uniform(0.65, 0.7), 2)
    rate = rng.choice(["128kbit", "256kbit"])
    return [Step(a, "isolate", {"region": region}), Step(b - 0.1, "slow_into", {"region": region, "rate": rate}),
            Step(b, "cut_during_snapshot", {"region": region}), Step(c, "heal_links"), Step(c + 0.01, "heal_slow_into", {"region": region})]


def restart_snapshot(rng, regions, seconds):
    """kill -9 of a node while its region log writes a snapshot (twice, random regions)."""
    steps = []
    for start in ((0.15, 0.25), (0.5, 0.6)):
        region = rng.choice(regions)
        a = round(seconds * rng.uniform(*start), 2)
        steps += [Step(a, "kill_during_snapshot", {"region": region}), Step(round(a + seconds * 0.08, 2), "restart", {"region": region})]
    return steps


def restart_catchup(rng, regions, seconds):
    """A region cut off while its sources move on; healed on a slowed link, and killed with
    kill -9 while it catches up; restarted, it resumes from its durable position."""
    region = rng.choice(regions)
    a = round(seconds * rng.uniform(0.1, 0.15), 2)
    b = round(seconds * rng.uniform(0.4, 0.45), 2)
    # 128 kbit/s: a catch-up frame takes longer than a link's dead time to cross (it made no
    # progress at all before links counted bytes, not whole frames, as heard: seeds 1 and 3).
    return [Step(a, "isolate", {"region": region}), Step(b - 0.1, "slow_into", {"region": region, "rate": "128kbit"}),
            Step(b, "kill_during_catchup", {"region": region}), Step(round(b + seconds * 0.1, 2), "restart", {"region": region}),
            Step(round(seconds * 0.85, 2), "heal_slow_into", {"region": region})]


def dr_drill(rng, regions, seconds):
    """The DR drill: a region cut from the others, StopReplicationToReplica on a copy there
    (then writes to it there), healed: the old primary must drop that region."""
    region = rng.choice(regions)
    a, b = _window(rng, seconds, (0.1, 0.2), (0.4, 0.5))
    return [Step(a, "isolate", {"region": region}), Step(round(a + (b - a) * 0.3, 2), "promote", {"region": region}),
            Step(b, "heal_links")]


def dr_region(rng, regions, seconds):
    """The region-level drill: a primary region cut off, `strongroom dr promote-region --lost`
    run against a surviving region's node, healed: the lost region drops the promoting one."""
    lost = rng.choice(regions)
    survivor = rng.choice([r for r in regions if r != lost])
    a, b = _window(rng, seconds, (0.1, 0.2), (0.4, 0.5))
    return [Step(a, "isolate", {"region": lost}), Step(round(a + (b - a) * 0.3, 2), "promote_region", {"region": survivor, "lost": lost}),
            Step(b, "heal_links")]


# Standbys and promotion (issue 19): a region's nodes are keyed REGION (its first primary,
# REGION-a), REGION-b and REGION-c; each scenario picks the region from the seed.


def promote_under_load(rng, regions, seconds):
    """A planned switchover: the standby furthest ahead is promoted while the primary is alive
    and every node of the region takes writes; later the old primary is frozen a moment (it
    must follow the new one)."""
    region = rng.choice(regions)
    a = round(seconds * rng.uniform(0.3, 0.45), 2)
    return [Step(a, "promote_node", {"region": region}), Step(round(a + seconds * 0.25, 2), "await_rejoin", {"node": region})]


def old_primary_partitioned(rng, regions, seconds):
    """The primary cut from every other node (its clients still reach it and keep writing to
    it: with k = 1 it must acknowledge none of those), a standby promoted, then healed: the old
    primary rejoins as a standby with its divergent records in its quarantine."""
    region = rng.choice(regions)
    a, b = _window(rng, seconds, (0.15, 0.25), (0.35, 0.45))
    return [Step(a, "isolate_node", {"node": region, "clients": False}), Step(round(a + 2.0, 2), "promote_node", {"region": region}),
            Step(b, "heal_node", {"node": region}), Step(round(b + 0.1, 2), "await_rejoin", {"node": region})]


def primary_killed_standby_behind(rng, regions, seconds):
    """One standby cut off while writes go on (the other acknowledges them, k = 1), the primary
    killed, the standby healed (behind): promoting it is refused, the one ahead is promoted; the
    old primary restarts and rejoins."""
    region = rng.choice(regions)
    behind = f"{region}-{rng.choice('bc')}"
    a = round(seconds * rng.uniform(0.1, 0.2), 2)
    b = round(seconds * rng.uniform(0.4, 0.45), 2)
    return [Step(a, "isolate_node", {"node": behind}), Step(b, "kill", {"region": region}), Step(round(b + 1.0, 2), "heal_node", {"node": behind}),
            Step(round(b + 2.5, 2), "promote_node", {"region": region, "behind_first": True}),
            Step(round(seconds * 0.75, 2), "restart", {"region": region}), Step(round(seconds * 0.75 + 0.1, 2), "await_rejoin", {"node": region})]


def forwarded_write_in_flight(rng, regions, seconds):
    """Writes through the standbys while the primary is cut from every node (the forwarded
    ones hang on the dead link), a promotion with puts sent through the other standby while it
    runs; healed, the old primary rejoins. No write acknowledged twice or by a fenced node."""
    region = rng.choice(regions)
    a, b = _window(rng, seconds, (0.15, 0.25), (0.35, 0.45))
    return [Step(a, "isolate_node", {"node": region, "clients": False}),
            Step(round(a + 1.0, 2), "promote_node", {"region": region, "forward_writes": 4}),
            Step(b, "heal_node", {"node": region}), Step(round(b + 0.1, 2), "await_rejoin", {"node": region})]


def control_force(rng, regions, seconds):
    """NEGATIVE CONTROL: as primary-killed-standby-behind, but the standby furthest behind is
    promoted with --force: the writes only the other standby held are lost (check rpo)."""
    region = rng.choice(regions)
    behind = f"{region}-{rng.choice('bc')}"
    a = round(seconds * rng.uniform(0.1, 0.2), 2)
    b = round(seconds * rng.uniform(0.45, 0.5), 2)
    return [Step(a, "isolate_node", {"node": behind}), Step(b, "kill", {"region": region}), Step(round(b + 1.0, 2), "heal_node", {"node": behind}),
            Step(round(b + 2.5, 2), "promote_behind", {"region": region}), Step(round(seconds * 0.8, 2), "restart", {"region": region})]


def control_wipe(rng, regions, seconds):
    region = rng.choice(regions)
    a, b = _window(rng, seconds, (0.4, 0.5), (0.1, 0.15))
    return [Step(a, "wipe", {"region": region}), Step(b, "restart", {"region": region})]


SCENARIOS = {s.name: s for s in [
    Scenario("partition", "a region cut from the others both ways while writes continue loses no acknowledged write; "
             "its replicas catch up after heal; reads stay within what was written", partition),
    Scenario("one-way", "a region that can only send (or only receive) loses nothing and converges after heal", one_way),
    Scenario("client-cut", "a node cut from its clients (but not from its peers) fails their calls cleanly or leaves "
             "them unknown; what it acknowledged stays, its replicas stay current", client_cut),
    Scenario("kill", "kill -9 of a node under load loses no acknowledged write (restart replays the log); replicas "
             "catch up from their durable position", kill),
    Scenario("pause", "a node stopped with SIGSTOP and resumed loses nothing; its peers and clients wait it out", pause),
    Scenario("slow-link", "a slow, lossy link (tc tbf rate + nftables random loss, + tc netem delay and jitter where the "
             "kernel has netem) delays replication but loses "
             "nothing and converges after heal", slow_link),
    Scenario("partition-kill", "a region cut off, killed with SIGKILL and restarted while still cut, then healed, "
             "loses no acknowledged write and converges", partition_kill),
    Scenario("disk-full", "a node whose own file system fills up under load fails the writes it cannot log (a "
             "retryable error), acknowledges none it did not make durable, keeps serving reads, and takes writes "
             "again once space is back; replicas converge", disk_full),
    Scenario("snapshot-cut", "a replica whose sources compacted past it catches up by snapshot; cut from them again "
             "while the snapshot's parts are in flight (on a slowed link), then healed, it converges and nothing "
             "acknowledged is lost", snapshot_cut, journal=COMPACTING),
    Scenario("restart-snapshot", "kill -9 of a node while its region log writes a snapshot (compaction under load) "
             "loses no acknowledged write; the half-written snapshot is discarded at restart", restart_snapshot, journal=COMPACTING),
    Scenario("restart-catchup", "kill -9 of a replica while it catches up after a partition (on a slowed link) loses "
             "nothing; restarted, it resumes from its durable position and converges", restart_catchup),
    Scenario("dr-drill", "StopReplicationToReplica in a region cut from the primary: the promoted secret takes writes "
             "there at once; after heal the old primary drops that region, and both secrets keep what they acknowledged",
             dr_drill),
    Scenario("dr-region", "strongroom dr promote-region --lost R in a surviving region while R is cut off: every copy "
             "there of R's secrets takes writes at once; after heal R drops that region from each", dr_region),
    Scenario("promote-under-load", "a planned switchover (strongroom promote of the standby furthest ahead while the primary "
             "serves, k = 1) under writes to every node of the region: no acknowledged write lost, none acknowledged by a "
             "fenced node, the region's nodes and the replicas converge byte for byte", promote_under_load, standbys=2, sync=1),
    Scenario("old-primary-partitioned", "the primary cut from its region and the others (clients still write to it), a "
             "standby promoted, healed: the old primary acknowledged nothing (k = 1), rejoins as a standby with its divergent "
             "records in its quarantine, and every node converges", old_primary_partitioned, standbys=2, sync=1),
    Scenario("primary-killed-standby-behind", "a standby cut off while the other acknowledges (k = 1), the primary killed, "
             "the standby healed: promoting it is refused, the one ahead is promoted; no acknowledged write lost",
             primary_killed_standby_behind, standbys=2, sync=1),
    Scenario("forwarded-write-in-flight", "writes forwarded by standbys while the primary is cut off and a standby is "
             "promoted: each is acknowledged once, by the new primary's log, or not at all; the old primary rejoins",
             forwarded_write_in_flight, standbys=2, sync=1),
    Scenario("control-force", "NEGATIVE CONTROL (must FAIL): the standby behind promoted with --force after the primary "
             "is killed; rpo must name the acknowledged writes only the other standby held", control_force, control=True,
             standbys=2, sync=1),
    Scenario("control-wipe", "NEGATIVE CONTROL (must FAIL): a node's data directory deleted under load; lost_writes must "
             "name the acknowledged writes it held", control_wipe, control=True),
]}
