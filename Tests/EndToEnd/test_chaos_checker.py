"""The chaos checker on crafted histories: each anomaly it names is caught, and a clean history
of the same shape passes every check."""
import copy
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "chaos"))
import checker  # noqa: E402

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
SECRETS = {"s1": {"primary": "us-east-1", "replicas": ["eu-west-1"]}}
T1, T2, T3 = "t" * 31 + "1", "t" * 31 + "2", "t" * 31 + "3"


def op(i, f, region, start, end, status="ok", secret="s1", client=0, **fields):
    return dict(id=i, client=client, f=f, region=region, secret=secret, start=start, end=end, status=status, **fields)


def clean():
    """create v1, put v2 then v3 one after another; reads in the primary and the replica; the
    final views agree, v3 AWSCURRENT and v2 AWSPREVIOUS."""
    history = [
        op(1, "create", "us-east-1", 0.0, 0.1, token=T1, value="a", replicas=["eu-west-1"], version=T1),
        op(2, "put", "us-east-1", 0.2, 0.3, token=T2, value="b", version=T2),
        op(3, "read", "eu-west-1", 0.4, 0.5, stage="AWSCURRENT", version=T2, value="b", stages=["AWSCURRENT"]),
        op(4, "put", "us-east-1", 0.6, 0.7, token=T3, value="c", version=T3),
        op(5, "read", "eu-west-1", 0.8, 0.9, stage="AWSCURRENT", version=T3, value="c", stages=["AWSCURRENT"]),
        op(6, "read", "us-east-1", 1.0, 1.1, stage="AWSPREVIOUS", version=T2, value="b", stages=["AWSPREVIOUS"]),
        op(7, "read", "ap-southeast-2", 1.0, 1.1, status="fail", stage="AWSCURRENT", error="ResourceNotFoundException"),
        op(8, "read", "eu-west-1", 1.2, 1.3, version=T1, value="a", stages=[]),
    ]
    view = {"versions": {T1: {"value": "a", "stages": []}, T2: {"value": "b", "stages": ["AWSPREVIOUS"]},
                         T3: {"value": "c", "stages": ["AWSCURRENT"]}}}
    final = {"s1": {"us-east-1": view, "eu-west-1": copy.deepcopy(view), "ap-southeast-2": None}}
    return history, final


def verdicts(history, final):
    return {name: found for name, found in checker.check_all(history, final, SECRETS, REGIONS).items() if found}


def test_a_clean_history_passes_every_check():
    assert verdicts(*clean()) == {}


def test_pair_joins_invocations_with_their_outcomes_and_leaves_the_rest_unknown():
    events = [
        {"type": "invoke", "id": 1, "client": 0, "f": "put", "region": "us-east-1", "secret": "s1", "token": T1, "value": "a", "time": 1.0},
        {"type": "invoke", "id": 2, "client": 1, "f": "put", "region": "us-east-1", "secret": "s1", "token": T2, "value": "b", "time": 1.5},
        {"type": "ok", "id": 1, "version": T1, "time": 2.0},
        {"type": "invoke", "id": 3, "client": 0, "f": "put", "region": "us-east-1", "secret": "s1", "token": T3, "value": "c", "time": 2.5},
        {"type": "info", "id": 3, "error": "timeout", "time": 3.0},
    ]
    ops = checker.pair(events)
    assert [(o["id"], o["status"], o["start"], o["end"]) for o in ops] == [(1, "ok", 1.0, 2.0), (2, "unknown", 1.5, None), (3, "unknown", 2.5, 3.0)]
    assert ops[0]["version"] == T1


def test_a_lost_acknowledged_write_is_caught():
    history, final = clean()
    del final["s1"]["us-east-1"]["versions"][T3]
    final["s1"]["us-east-1"]["versions"][T2]["stages"] = ["AWSCURRENT"]
    found = checker.check_lost_writes(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [4] and "missing in us-east-1" in found[0]["message"]
    # An unacknowledged (timed-out) write may be lost.
    history[3]["status"] = "unknown"
    assert checker.check_lost_writes(history, final, SECRETS, REGIONS) == []


def test_a_changed_value_and_a_vanished_secret_are_lost_writes():
    history, final = clean()
    final["s1"]["us-east-1"]["versions"][T2]["value"] = "zzz"
    assert [f["op"] for f in checker.check_lost_writes(history, final, SECRETS, REGIONS)] == [2]
    final["s1"]["us-east-1"] = None
    assert len(checker.check_lost_writes(history, final, SECRETS, REGIONS)) == 3


def test_a_write_answered_as_another_version_than_its_token_is_caught():
    history, final = clean()
    # A put timed out, its retry (same token and value) was answered with a new version id.
    history.append(op(9, "put", "us-east-1", 1.4, 1.5, status="unknown", token="w" * 32, value="d"))
    history.append(op(10, "put", "us-east-1", 2.0, 2.1, token="w" * 32, value="d", version="x" * 32, retry=True))
    found = checker.check_lost_writes(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [10] and "was answered as version " + "x" * 32 in found[0]["message"]


def test_a_replica_that_did_not_converge_is_caught():
    history, final = clean()
    replica = final["s1"]["eu-west-1"]["versions"]
    del replica[T3]
    replica[T2]["stages"] = ["AWSCURRENT"]
    messages = [f["message"] for f in checker.check_convergence(history, final, SECRETS, REGIONS)]
    assert messages == [f"eu-west-1 labels {T2} ['AWSCURRENT'], the primary ['AWSPREVIOUS']", f"eu-west-1 lacks version {T3}"]
    final["s1"]["eu-west-1"] = None
    assert [f["message"] for f in checker.check_convergence(history, final, SECRETS, REGIONS)] == ["the replica in eu-west-1 is missing"]


def test_an_extra_version_in_a_replica_is_a_divergence():
    history, final = clean()
    final["s1"]["eu-west-1"]["versions"]["x" * 32] = {"value": "q", "stages": []}
    assert len(checker.check_convergence(history, final, SECRETS, REGIONS)) == 1


def test_a_read_of_a_value_no_client_wrote_is_caught():
    history, final = clean()
    history[2]["value"] = "never written"
    found = checker.check_phantom_reads(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [3] and "written as 'b'" in found[0]["message"]
    history[2]["version"] = "u" * 32
    assert "which no client wrote" in checker.check_phantom_reads(history, final, SECRETS, REGIONS)[0]["message"]


def test_a_replica_read_of_a_version_the_primary_lost_is_caught():
    history, final = clean()
    # A put that timed out (may or may not have happened) is seen in the replica, but the
    # primary does not have it after heal: the replica served a write the primary lost.
    history.append(op(9, "put", "us-east-1", 1.4, 2.0, status="unknown", token="w" * 32, value="d"))
    history.append(op(10, "read", "eu-west-1", 1.6, 1.7, stage="AWSCURRENT", version="w" * 32, value="d", stages=["AWSCURRENT"]))
    found = checker.check_phantom_reads(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [10] and "does not have after heal" in found[0]["message"]


def test_label_anomalies_at_a_read_are_caught():
    history, final = clean()
    history[2]["stages"] = ["AWSPREVIOUS"]  # asked for AWSCURRENT
    history[4]["stages"] = ["AWSCURRENT", "AWSPREVIOUS"]
    found = checker.check_labels(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [3, 5]
    assert "both AWSCURRENT and AWSPREVIOUS" in found[1]["message"]


def test_label_anomalies_in_a_final_view_are_caught():
    history, final = clean()
    final["s1"]["eu-west-1"]["versions"][T2]["stages"] = ["AWSCURRENT"]  # two AWSCURRENT
    final["s1"]["us-east-1"]["versions"][T1]["stages"] = ["AWSPREVIOUS"]  # two AWSPREVIOUS
    messages = sorted(f["message"] for f in checker.check_labels(history, final, SECRETS, REGIONS))
    assert messages == [f"eu-west-1: AWSCURRENT is on 2 versions {sorted([T2, T3])}",
                        f"us-east-1: AWSPREVIOUS is on 2 versions {sorted([T1, T2])}"]


def test_awsprevious_that_is_not_the_former_awscurrent_is_caught():
    history, final = clean()
    final["s1"]["us-east-1"]["versions"][T2]["stages"] = []
    final["s1"]["us-east-1"]["versions"][T1]["stages"] = ["AWSPREVIOUS"]
    found = checker.check_final_labels(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [4] and f"{T2} was AWSCURRENT before {T3}" in found[0]["message"]
    # The last acknowledged write not AWSCURRENT at all.
    final["s1"]["us-east-1"]["versions"][T3]["stages"] = []
    final["s1"]["us-east-1"]["versions"][T2]["stages"] = ["AWSCURRENT"]
    assert "made " + T3 + " AWSCURRENT" in checker.check_final_labels(history, final, SECRETS, REGIONS)[0]["message"]
    # Overlapping writes: their order is not observable, so nothing is claimed.
    history[3]["start"] = 0.25
    assert checker.check_final_labels(history, final, SECRETS, REGIONS) == []


def test_a_move_of_awscurrent_counts_as_the_last_change():
    history, final = clean()
    history.append(op(9, "move", "us-east-1", 2.0, 2.1, stage="AWSCURRENT", to=T1, remove_from=T3))
    view = final["s1"]["us-east-1"]["versions"]
    view[T1]["stages"], view[T2]["stages"], view[T3]["stages"] = ["AWSCURRENT"], [], ["AWSPREVIOUS"]
    final["s1"]["eu-west-1"] = copy.deepcopy(final["s1"]["us-east-1"])
    assert checker.check_final_labels(history, final, SECRETS, REGIONS) == []
    view[T3]["stages"], view[T2]["stages"] = [], ["AWSPREVIOUS"]
    assert len(checker.check_final_labels(history, final, SECRETS, REGIONS)) == 1


def test_a_read_that_goes_backwards_is_caught():
    history, final = clean()
    # The same client, on the same node, sees T3 and then the older T2.
    history.append(op(9, "read", "eu-west-1", 1.4, 1.5, stage="AWSCURRENT", version=T2, value="b", stages=["AWSCURRENT"]))
    found = checker.check_monotonic_reads(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [9] and f"showed {T3} then the older {T2}" in found[0]["message"]
    # Another client may see the older one (it never saw the newer there).
    history[-1]["client"] = 7
    assert checker.check_monotonic_reads(history, final, SECRETS, REGIONS) == []


def test_a_node_that_forgets_a_secret_it_showed_is_caught():
    history, final = clean()
    history.append(op(9, "read", "eu-west-1", 1.4, 1.5, status="fail", stage="AWSCURRENT", error="ResourceNotFoundException"))
    assert [f["op"] for f in checker.check_monotonic_reads(history, final, SECRETS, REGIONS)] == [9]


def test_a_stale_read_in_the_primary_is_caught_and_one_in_a_replica_is_not():
    history, final = clean()
    # T3 was acknowledged at 0.7 s; a read of AWSCURRENT in the primary at 1.4 s returns T2.
    history.append(op(9, "read", "us-east-1", 1.4, 1.5, client=5, stage="AWSCURRENT", version=T2, value="b", stages=["AWSCURRENT"]))
    found = checker.check_stale_primary_reads(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [9] and f"older than {T3}" in found[0]["message"]
    # In a replica, a lagging read is allowed (monotonic_reads judges it per client).
    history[-1]["region"] = "eu-west-1"
    assert checker.check_stale_primary_reads(history, final, SECRETS, REGIONS) == []
    # A read that began before T3 was acknowledged may return T2.
    history[-1].update(region="us-east-1", start=0.65)
    assert checker.check_stale_primary_reads(history, final, SECRETS, REGIONS) == []


def test_a_read_outside_the_replica_set_is_caught():
    history, final = clean()
    history[6].update(status="ok", version=T3, value="c", stages=["AWSCURRENT"])
    found = checker.check_residency(history, final, SECRETS, REGIONS)
    assert [f["op"] for f in found] == [7]
    history[6]["status"] = "fail"
    final["s1"]["ap-southeast-2"] = copy.deepcopy(final["s1"]["us-east-1"])
    assert [f["message"] for f in checker.check_residency(history, final, SECRETS, REGIONS)] == [
        "ap-southeast-2 holds the secret after heal, outside its regions"]


def test_tags_and_a_policy_that_differ_in_a_replica_are_a_divergence():
    history, final = clean()
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "a", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                      "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    for region in ("us-east-1", "eu-west-1"):
        final["s1"][region].update(tags={"k0": "x"}, policy=copy.deepcopy(policy))
    assert verdicts(history, final) == {}
    final["s1"]["eu-west-1"]["tags"] = {"k0": "x", "k1": "y"}  # an untag that never reached the replica
    final["s1"]["eu-west-1"]["policy"] = None  # a policy put that never reached it
    messages = [f["message"] for f in checker.check_convergence(history, final, SECRETS, REGIONS)]
    assert messages == ["eu-west-1's tags {'k0': 'x', 'k1': 'y'} differ from the primary's {'k0': 'x'}",
                        f"eu-west-1's policy None differ from the primary's {policy!r}"]
    # A final view read before tags and policies were (an older report) is not judged on them.
    del final["s1"]["eu-west-1"]["tags"], final["s1"]["eu-west-1"]["policy"]
    assert checker.check_convergence(history, final, SECRETS, REGIONS) == []


T4, T5, T6 = "t" * 31 + "4", "t" * 31 + "5", "t" * 31 + "6"


def drill():
    """The clean history, then the DR drill: eu-west-1 (cut from us-east-1) promotes its copy
    at 2.0 s, which then takes a put (T4) there; the old primary meanwhile acknowledges T5,
    which the promoted copy never gets. After heal us-east-1 no longer replicates to eu-west-1."""
    history, final = clean()
    history += [
        op(9, "read", "eu-west-1", 1.5, 1.6, stage="AWSCURRENT", version=T3, value="c", stages=["AWSCURRENT"]),
        op(10, "promote", "eu-west-1", 2.0, 2.1, client=-2),
        op(11, "put", "eu-west-1", 2.2, 2.3, client=-2, token=T4, value="d", version=T4),
        op(12, "put", "us-east-1", 2.4, 2.5, token=T5, value="e", version=T5),
        op(13, "read", "eu-west-1", 2.6, 2.7, stage="AWSCURRENT", version=T4, value="d", stages=["AWSCURRENT"]),
        op(14, "read", "eu-west-1", 2.8, 2.9, stage="AWSPREVIOUS", version=T3, value="c", stages=["AWSPREVIOUS"]),
    ]
    old = final["s1"]["us-east-1"]["versions"]
    old[T2]["stages"], old[T3]["stages"] = [], ["AWSPREVIOUS"]
    old[T5] = {"value": "e", "stages": ["AWSCURRENT"]}
    final["s1"]["us-east-1"].update(primary_region="us-east-1", replication=[])
    promoted = final["s1"]["eu-west-1"]
    promoted["versions"][T2]["stages"], promoted["versions"][T3]["stages"] = [], ["AWSPREVIOUS"]
    promoted["versions"][T4] = {"value": "d", "stages": ["AWSCURRENT"]}
    promoted.update(primary_region=None, replication=[])
    return history, final


def test_a_dr_promotion_splits_the_secret_and_a_clean_drill_passes():
    history, final = drill()
    assert verdicts(history, final) == {}
    ops, views, secrets = checker.lineages(history, final, SECRETS)
    assert secrets["s1"] == {"primary": "us-east-1", "replicas": [], "former": ["eu-west-1"]}
    assert secrets["s1@eu-west-1"]["primary"] == "eu-west-1" and secrets["s1@eu-west-1"]["parent"] == "s1"
    assert [o["id"] for o in ops if o["secret"] == "s1@eu-west-1"] == [11, 13, 14]
    assert set(views["s1"]) == {"us-east-1", "ap-southeast-2"} and set(views["s1@eu-west-1"]) == {"eu-west-1"}
    # Without the promotion in the history the same views are a divergence and a residency breach.
    assert set(verdicts([o for o in history if o["f"] != "promote"], final)) >= {"convergence", "phantom_reads"}


def test_an_old_primary_that_keeps_the_promoting_region_is_caught():
    history, final = drill()
    final["s1"]["us-east-1"]["replication"] = ["eu-west-1"]
    found = checker.check_all(history, final, SECRETS, REGIONS)["promotions"]
    assert [f["message"] for f in found] == ["the old primary us-east-1 still lists eu-west-1 in its ReplicationStatus after heal"]


def test_a_promoted_copy_that_takes_no_write_or_keeps_its_primary_is_caught():
    history, final = drill()
    history[10]["status"] = "fail"  # the drill's put refused
    final["s1"]["eu-west-1"]["primary_region"] = "us-east-1"
    messages = [f["message"] for f in checker.check_all(history, final, SECRETS, REGIONS)["promotions"]]
    assert messages == ["the promoted copy in eu-west-1 acknowledged no write after the promotion",
                        "eu-west-1's copy still names us-east-1 its primary after heal"]


def test_a_promoted_copy_holding_a_version_no_one_wrote_and_a_lost_write_in_it_are_caught():
    history, final = drill()
    final["s1"]["eu-west-1"]["versions"]["z" * 32] = {"value": "?", "stages": []}
    assert "holds version " + "z" * 32 in checker.check_all(history, final, SECRETS, REGIONS)["promotions"][0]["message"]
    history, final = drill()
    del final["s1"]["eu-west-1"]["versions"][T4]  # the put acknowledged in the new region, gone
    final["s1"]["eu-west-1"]["versions"][T3]["stages"] = ["AWSCURRENT"]
    found = checker.check_all(history, final, SECRETS, REGIONS)["lost_writes"]
    assert [(f["op"], f["secret"]) for f in found] == [(11, "s1@eu-west-1")]


def test_writes_the_old_primary_acknowledged_after_the_cut_are_not_expected_in_the_promoted_copy():
    history, final = drill()
    # T5 (acknowledged by us-east-1 at 2.5 s) is not in eu-west-1's copy: no anomaly; but were
    # it still a replica, that would be a divergence.
    assert "T5" not in final["s1"]["eu-west-1"]["versions"]
    assert checker.check_all(history, final, SECRETS, REGIONS)["convergence"] == []
    # And a read of the promoted copy that goes back to its parent's older version is stale.
    history.append(op(15, "read", "eu-west-1", 3.0, 3.1, client=3, stage="AWSCURRENT", version=T2, value="b", stages=["AWSCURRENT"]))
    history[-2]["stage"] = "AWSCURRENT"  # (the AWSPREVIOUS read made a plain one)
    history[-2].update(version=T4, value="d", stages=["AWSCURRENT"])
    found = checker.check_all(history, final, SECRETS, REGIONS)["stale_primary_reads"]
    assert [(f["op"], f["secret"]) for f in found] == [(15, "s1@eu-west-1")]


def test_a_region_level_promotion_leaves_the_other_replicas_to_the_old_primary():
    """`dr promote-region`: s1 and s2 (both us-east-1's, replicated to eu-west-1 and
    ap-southeast-2) are promoted in eu-west-1; ap-southeast-2 stays a replica of us-east-1 and
    must still converge with it, the promoted copies only with themselves."""
    secrets = {"s1": {"primary": "us-east-1", "replicas": ["eu-west-1", "ap-southeast-2"]},
               "s2": {"primary": "us-east-1", "replicas": ["eu-west-1", "ap-southeast-2"]}}
    history, final = [], {}
    for n, name in enumerate(("s1", "s2")):
        a, b = f"{name}a".ljust(32, "0"), f"{name}b".ljust(32, "0")
        history += [op(10 * n + 1, "create", "us-east-1", 0.0, 0.1, secret=name, token=a, value="a", replicas=secrets[name]["replicas"], version=a),
                    op(10 * n + 2, "promote", "eu-west-1", 1.0, 1.2, secret=name, client=-2, lost="us-east-1"),
                    op(10 * n + 3, "put", "eu-west-1", 1.3, 1.4, secret=name, client=-2, token=b, value="b", version=b)]
        old = {"versions": {a: {"value": "a", "stages": ["AWSCURRENT"]}}, "replication": ["ap-southeast-2"], "tags": {}, "policy": None}
        promoted = {"versions": {a: {"value": "a", "stages": ["AWSPREVIOUS"]}, b: {"value": "b", "stages": ["AWSCURRENT"]}},
                    "replication": [], "primary_region": None, "tags": {}, "policy": None}
        final[name] = {"us-east-1": old, "eu-west-1": promoted, "ap-southeast-2": copy.deepcopy(old)}
    history.sort(key=lambda o: o["start"])
    assert {k: v for k, v in checker.check_all(history, final, secrets, REGIONS).items() if v} == {}
    # The replica left to us-east-1 must still equal it: its tags differ here.
    final["s2"]["ap-southeast-2"]["tags"] = {"k0": "stale"}
    found = checker.check_all(history, final, secrets, REGIONS)["convergence"]
    assert [(f["secret"], f["message"]) for f in found] == [("s2", "ap-southeast-2's tags {'k0': 'stale'} differ from the primary's {}")]


def test_a_promotion_whose_outcome_is_unknown_splits_the_secret_but_claims_nothing():
    history, final = drill()
    history[9].update(status="unknown", end=None)  # StopReplicationToReplica timed out
    found = checker.check_all(history, final, SECRETS, REGIONS)
    assert found["promotions"] == [] and found["convergence"] == []
    # A failed one did not happen: the copy is still a replica and must equal its primary.
    history[9]["status"] = "fail"
    assert checker.check_all(history, final, SECRETS, REGIONS)["convergence"]


def test_the_timeline_bands_of_a_cut_during_a_snapshot_and_a_kill_timed_by_the_logs():
    import report
    faults = [{"time": 1.0, "done": 1.0, "action": "isolate", "args": {"region": "eu-west-1"}},
              {"time": 5.0, "done": 6.5, "action": "cut_during_snapshot", "args": {"region": "eu-west-1"}},
              {"time": 9.0, "done": 9.5, "action": "heal_links", "args": {}},
              {"time": 10.0, "done": 12.0, "action": "kill_during_snapshot", "args": {"region": "us-east-1"}},
              {"time": 13.0, "done": 14.0, "action": "restart", "args": {"region": "us-east-1"}}]
    bands = [(b["region"], b["label"], b["start"], b["end"]) for b in report.fault_bands(faults, 20.0)]
    assert bands == [("eu-west-1", "partition", 1.0, 5.0), ("eu-west-1", "partition", 6.5, 9.0), ("us-east-1", "killed", 12.0, 13.0)]


# Regions with standbys (issue 19): every node's final view, the region's final primary, and
# what each node's quarantine holds. s1's primary us-east-1 has nodes us-east-1 (its first
# primary, deposed), us-east-1-b and us-east-1-c (promoted); T3 was put through a standby.

def standby_region():
    history, final = clean()
    history[3]["node"] = "us-east-1-b"  # the put of T3, forwarded by a standby
    history[1]["node"] = "front"
    views = {key: {"s1": copy.deepcopy(final["s1"]["us-east-1"])} for key in ("us-east-1", "us-east-1-b", "us-east-1-c")}
    nodes = {"us-east-1": {"primary": "us-east-1-c", "views": views, "quarantined": {"us-east-1": []}}}
    return history, final, nodes


def node_verdicts(history, final, nodes):
    return {name: found for name, found in checker.check_all(history, final, SECRETS, REGIONS, nodes=nodes).items() if found}


def test_a_clean_region_with_standbys_passes_the_node_checks():
    history, final, nodes = standby_region()
    assert node_verdicts(history, final, nodes) == {}
    assert set(checker.check_all(history, final, SECRETS, REGIONS, nodes=nodes)) >= {"rpo", "fenced", "region_convergence"}
    assert "rpo" not in checker.check_all(history, final, SECRETS, REGIONS)  # without nodes: the old checks only


def test_rpo_catches_an_acknowledged_write_missing_on_the_promoted_primary_or_a_replica_region():
    history, final, nodes = standby_region()
    # A forced promotion of a standby that lacked T2: the final primary does not hold it.
    promoted = nodes["us-east-1"]["views"]["us-east-1-c"]["s1"]["versions"]
    del promoted[T2]
    found = checker.check_rpo(history, final, SECRETS, REGIONS, nodes)
    assert [(f["op"], f["message"]) for f in found] == [(2, f"acknowledged put: on us-east-1's final primary us-east-1-c version {T2} is missing")]
    # Held by the promoted primary, but never reached the replica region.
    history, final, nodes = standby_region()
    del final["s1"]["eu-west-1"]["versions"][T3]
    found = checker.check_rpo(history, final, SECRETS, REGIONS, nodes)
    assert [(f["op"], f["message"]) for f in found] == [(4, f"acknowledged put: in the replica region eu-west-1 version {T3} is missing")]
    # An unacknowledged (unknown) write may be lost.
    history[3]["status"] = "unknown"
    assert checker.check_rpo(history, final, SECRETS, REGIONS, nodes) == []


def test_fenced_catches_a_write_a_deposed_node_acknowledged_and_then_set_aside():
    history, final, nodes = standby_region()
    # The deposed primary acknowledged T4 (k = 1 should have kept it from doing so); it is in
    # its quarantine after it rejoined, and not on the final primary.
    history.append(op(9, "put", "us-east-1", 1.4, 1.5, token=T4, value="d", version=T4, node="us-east-1"))
    nodes["us-east-1"]["quarantined"] = {"us-east-1": [T4]}
    found = checker.check_fenced(history, final, SECRETS, REGIONS, nodes)
    assert [f["op"] for f in found] == [9]
    assert found[0]["message"] == (f"us-east-1 acknowledged {T4}, which the final primary us-east-1-c does not hold (version {T4} is missing); "
                                   "set aside in the quarantine of us-east-1")
    # Held by the final primary with another value: also caught.
    history, final, nodes = standby_region()
    nodes["us-east-1"]["views"]["us-east-1-c"]["s1"]["versions"][T3]["value"] = "other"
    assert [f["op"] for f in checker.check_fenced(history, final, SECRETS, REGIONS, nodes)] == [4]
    # A write answered as another version than its token names.
    history, final, nodes = standby_region()
    history[3]["version"] = "x" * 32
    assert "answered the write of token" in checker.check_fenced(history, final, SECRETS, REGIONS, nodes)[0]["message"]


def test_fenced_catches_a_write_acknowledged_by_a_node_while_it_was_cut_from_its_region():
    history, final, nodes = standby_region()
    # us-east-1's first primary was cut from every node from 0.5 s to 1.0 s (k = 1): it can
    # acknowledge nothing then, even a write its region's final primary holds.
    history[3].update(node="us-east-1", start=0.6, end=0.7)
    nodes["us-east-1"]["cuts"] = [{"node": "us-east-1", "from": 0.5, "to": 1.0}]
    found = checker.check_fenced(history, final, SECRETS, REGIONS, nodes)
    assert [f["op"] for f in found] == [4] and "while it was cut from every other node of us-east-1 (0.50-1.0 s)" in found[0]["message"]
    # Before the cut was whole, or answered by another node, it may.
    nodes["us-east-1"]["cuts"][0]["from"] = 0.65
    assert checker.check_fenced(history, final, SECRETS, REGIONS, nodes) == []
    nodes["us-east-1"]["cuts"][0]["from"] = 0.5
    history[3]["node"] = "us-east-1-b"
    assert checker.check_fenced(history, final, SECRETS, REGIONS, nodes) == []


def test_region_convergence_catches_a_node_that_differs_from_the_final_primary_byte_for_byte():
    history, final, nodes = standby_region()
    views = nodes["us-east-1"]["views"]
    views["us-east-1"]["s1"]["versions"][T2]["value"] = "b "  # one byte more on the old primary
    views["us-east-1-b"]["s1"]["versions"][T3]["stages"] = []
    views["us-east-1-b"]["s1"]["versions"][T2]["stages"] = ["AWSCURRENT"]
    messages = [f["message"] for f in checker.check_region_convergence(history, final, SECRETS, REGIONS, nodes)]
    assert messages == [f"us-east-1 holds another value for {T2} than us-east-1-c",
                        f"us-east-1-b labels {T2} ['AWSCURRENT'], us-east-1-c ['AWSPREVIOUS']",
                        f"us-east-1-b labels {T3} [], us-east-1-c ['AWSCURRENT']"]
    history, final, nodes = standby_region()
    views = nodes["us-east-1"]["views"]
    views["us-east-1-b"]["s1"]["versions"]["q" * 32] = {"value": "q", "stages": []}  # a record the old primary kept
    views["us-east-1"]["s1"] = None
    views["us-east-1-c"]["s1"]["tags"], views["us-east-1-b"]["s1"]["tags"] = {"k0": "x"}, {}
    messages = [f["message"] for f in checker.check_region_convergence(history, final, SECRETS, REGIONS, nodes)]
    assert messages == ["us-east-1 lacks the secret, the primary us-east-1-c holds it",
                        f"us-east-1-b holds version {'q' * 32}, the primary us-east-1-c lacks it",
                        "us-east-1-b's tags {} differ from us-east-1-c's {'k0': 'x'}"]


def test_reads_through_a_standby_or_the_front_are_judged_per_node():
    history, final, nodes = standby_region()
    # Client 0 read T3 from eu-west-1's first node, then T2 from a lagging standby there: not a
    # regression of one node; the same node going back is.
    history[4]["node"] = "eu-west-1"
    history.append(op(9, "read", "eu-west-1", 1.4, 1.5, stage="AWSCURRENT", version=T2, value="b", stages=["AWSCURRENT"], node="eu-west-1-b"))
    assert checker.check_monotonic_reads(history, final, SECRETS, REGIONS) == []
    history[-1]["node"] = "front"  # the front may have moved to a node behind: not judged
    assert checker.check_monotonic_reads(history, final, SECRETS, REGIONS) == []
    history[-1]["node"] = "eu-west-1"
    assert [f["op"] for f in checker.check_monotonic_reads(history, final, SECRETS, REGIONS)] == [9]
    # A stale read of the primary region from a standby (or a deposed primary) is not judged
    # by stale_primary_reads; without a node it is.
    history.append(op(10, "read", "us-east-1", 1.6, 1.7, client=5, stage="AWSCURRENT", version=T2, value="b", stages=["AWSCURRENT"], node="us-east-1-b"))
    assert checker.check_stale_primary_reads(history, final, SECRETS, REGIONS) == []
    del history[-1]["node"]
    assert [f["op"] for f in checker.check_stale_primary_reads(history, final, SECRETS, REGIONS)] == [10]


def test_the_timeline_bands_of_an_isolated_node_and_a_promotion():
    import report
    faults = [{"time": 1.0, "done": 1.0, "action": "isolate_node", "args": {"node": "us-east-1", "clients": False}},
              {"time": 3.0, "done": 4.0, "action": "promote_node", "args": {"region": "us-east-1"}},
              {"time": 6.0, "done": 6.0, "action": "heal_node", "args": {"node": "us-east-1"}}]
    bands = [(b["region"], b["label"], b["start"], b["end"]) for b in report.fault_bands(faults, 20.0)]
    assert bands == [("us-east-1", "isolated us-east-1", 1.0, 6.0), ("us-east-1", "promote", 3.0, 4.0)]
