"""The chaos checker: pure functions over a recorded history and the final reads.

A history is a list of completed operations (see `pair`): each a dict with

    id, client, f, region (the node it went to), secret, start, end (monotonic seconds),
    status: "ok" | "fail" | "unknown", and per kind:
      create: replicas [regions], token, value, result version
      put:    token (the ClientRequestToken, which becomes the VersionId), value, result version
      move:   stage, to (VersionId), remove_from (VersionId)
      read:   by "stage" (stage) or "version" (version); result version, value, stages, or
              error "ResourceNotFoundException" / "..." when status is "fail"
      tag / untag: key (and value); policy: sid; unpolicy (on the primary)
      promote: StopReplicationToReplica of the secret's copy in `region` (the DR drill)

`final` maps secret -> region -> None (not found) or {"versions": {VersionId: {"value": str,
"stages": [labels]}}, and when read: "tags": {key: value}, "policy": parsed document or None,
"primary_region": DescribeSecret's PrimaryRegion, "replication": [regions of its
ReplicationStatus]}: each region's view after every fault was healed and the nodes restarted.
`secrets` maps secret -> {"primary": region, "replicas": [regions]} (the replica set asked for).
`regions` lists every region of the cluster.

A DR promotion (a `promote` op that did not fail) splits a secret in two lineages (`lineages`):
from the promotion's invocation on, the name in the promoting region R is a secret of its own,
keyed NAME@R (primary R, no replicas; its parent's writes are its history up to there), and the
original keeps its other regions (R is `former`: readable there before the promotion). Every
check runs on the lineages, so the promoted copy is a new primary from the promotion on: what
the old primary acknowledged after the cut is not expected in it.

Each check returns a list of anomalies (dicts with "check", "secret", "message" and, when one
operation shows it, "op" and "time"); an empty list is the check's pass. `check_all` runs them all.
"""
from __future__ import annotations

import json

CHECKS = ("lost_writes", "convergence", "phantom_reads", "labels", "final_labels", "monotonic_reads", "stale_primary_reads", "residency",
          "promotions")
# Regions with standbys (issue 19): judged on `nodes`, every node's final view (see `check_all`).
NODE_CHECKS = ("rpo", "fenced", "region_convergence")

WRITERS = ("create", "put")
UPDATES = ("create", "put", "move", "tag", "untag", "policy", "unpolicy")  # every call the region log records


def load_history(path) -> list[dict]:
    """Reads a JSON-lines history of invoke/completion events and pairs them."""
    with open(path) as f:
        return pair([json.loads(line) for line in f if line.strip()])


def pair(events: list[dict]) -> list[dict]:
    """Joins each `invoke` event with its completion (`ok`, `fail` or `info` = unknown) into one
    operation; an invoke that never completed (the run ended) is an `unknown`."""
    invoked: dict[int, dict] = {}
    ops: list[dict] = []
    for event in events:
        kind = event.get("type")
        if kind == "invoke":
            op = {k: v for k, v in event.items() if k not in ("type", "time")}
            op["start"] = event["time"]
            invoked[event["id"]] = op
        elif kind in ("ok", "fail", "info") and event.get("id") in invoked:
            op = invoked.pop(event["id"])
            op.update({k: v for k, v in event.items() if k not in ("type", "time", "id")})
            op["end"] = event["time"]
            op["status"] = {"ok": "ok", "fail": "fail", "info": "unknown"}[kind]
            ops.append(op)
    for op in invoked.values():
        ops.append(dict(op, end=None, status="unknown"))
    ops.sort(key=lambda o: o["start"])
    return ops


def anomaly(check: str, secret: str, message: str, op: dict | None = None) -> dict:
    found = {"check": check, "secret": secret, "message": message}
    if op is not None:
        found.update(op=op["id"], time=op.get("end") or op["start"], region=op.get("region"))
    return found


def lineages(history: list[dict], final: dict, secrets: dict) -> tuple[list[dict], dict, dict]:
    """(history, final, secrets) keyed by lineage (see the module's note on DR promotions):
    each op on a promoted name in its promoting region, invoked from the promotion's invocation
    on, gets `secret` NAME@R (and `name` NAME); final[NAME][R] moves to final[NAME@R][R]; the
    original's placement loses R from `replicas` and gains it in `former`; NAME@R's placement
    is {"primary": R, "replicas": [], "parent": NAME, "promoted_at": time}."""
    promotions = {}
    for op in history:
        if op["f"] == "promote" and op["status"] != "fail" and op["secret"] in secrets:
            promotions.setdefault((op["secret"], op["region"]), op)
    if not promotions:
        return history, final, secrets
    secrets = {k: dict(v) for k, v in secrets.items()}
    final = {k: dict(v) for k, v in final.items()}
    for (name, region), op in sorted(promotions.items()):
        key = f"{name}@{region}"
        placement = secrets[name]
        placement["replicas"] = [r for r in placement["replicas"] if r != region]
        placement["former"] = sorted({*placement.get("former", []), region})
        secrets[key] = {"primary": region, "replicas": [], "parent": name, "promoted_at": op["start"], "promotion": op["id"]}
        views = final.get(name)
        if views is not None and region in views:
            final[key] = {region: views.pop(region)}
    rewritten = []
    for op in history:
        promotion = promotions.get((op["secret"], op["region"]))
        if promotion is not None and op["f"] != "promote" and op["start"] >= promotion["start"]:
            op = dict(op, name=op["secret"], secret=f"{op['secret']}@{op['region']}")
        rewritten.append(op)
    return rewritten, final, secrets


def written(history: list[dict], secrets: dict | None = None) -> dict[str, dict[str, str]]:
    """secret -> VersionId -> value, for every write any client invoked (whatever its outcome);
    a promoted lineage also holds its parent's."""
    out: dict[str, dict[str, str]] = {}
    for op in history:
        if op["f"] in WRITERS and op.get("token"):
            out.setdefault(op["secret"], {})[op["token"]] = op["value"]
    for key, placement in (secrets or {}).items():
        if placement.get("parent"):
            out[key] = {**out.get(placement["parent"], {}), **out.get(key, {})}
    return out


def writes_by_token(history: list[dict], secrets: dict) -> dict[tuple, dict]:
    """(secret, token) -> the write op; a promoted lineage also sees its parent's writes."""
    out = {(op["secret"], op["token"]): op for op in history if op["f"] in WRITERS and op.get("token")}
    for key, placement in secrets.items():
        if placement.get("parent"):
            for (secret, token), op in list(out.items()):
                if secret == placement["parent"]:
                    out.setdefault((key, token), op)
    return out


def acknowledged(history: list[dict]) -> list[dict]:
    return [op for op in history if op["f"] in WRITERS and op["status"] == "ok"]


def check_lost_writes(history, final, secrets, regions) -> list[dict]:
    """Every acknowledged write is in its primary region after heal and restart, with its value,
    as the version its ClientRequestToken names (a retry of an unknown write included)."""
    found = []
    for op in acknowledged(history):
        secret = op["secret"]
        primary = secrets.get(secret, {}).get("primary", op["region"])
        view = final.get(secret, {}).get(primary)
        version = op.get("version") or op.get("token")
        if op.get("token") and version != op["token"]:
            found.append(anomaly("lost_writes", secret, f"{op['f']} with ClientRequestToken {op['token']} was answered as version {version}", op))
            continue
        if view is None:
            found.append(anomaly("lost_writes", secret, f"acknowledged {op['f']} of {version} but the secret is gone from {primary}", op))
        elif version not in view["versions"]:
            found.append(anomaly("lost_writes", secret, f"acknowledged {op['f']} of version {version} is missing in {primary}", op))
        elif view["versions"][version]["value"] != op["value"]:
            found.append(anomaly("lost_writes", secret,
                                 f"version {version} in {primary} holds {view['versions'][version]['value']!r}, not the acknowledged {op['value']!r}", op))
    return found


def check_convergence(history, final, secrets, regions) -> list[dict]:
    """Each replica region's final view (versions, values, labels) equals the primary's."""
    found = []
    for secret, placement in sorted(secrets.items()):
        primary = final.get(secret, {}).get(placement["primary"])
        if primary is None:
            continue  # a secret whose creation was never acknowledged may be absent everywhere
        for region in placement["replicas"]:
            view = final.get(secret, {}).get(region)
            if view is None:
                found.append(anomaly("convergence", secret, f"the replica in {region} is missing"))
                continue
            for version, held in primary["versions"].items():
                other = view["versions"].get(version)
                if other is None:
                    found.append(anomaly("convergence", secret, f"{region} lacks version {version}"))
                elif other["value"] != held["value"]:
                    found.append(anomaly("convergence", secret, f"{region} holds another value for {version}"))
                elif sorted(other["stages"]) != sorted(held["stages"]):
                    found.append(anomaly("convergence", secret,
                                         f"{region} labels {version} {sorted(other['stages'])}, the primary {sorted(held['stages'])}"))
            for version in sorted(set(view["versions"]) - set(primary["versions"])):
                found.append(anomaly("convergence", secret, f"{region} holds version {version}, which the primary does not"))
            for field in ("tags", "policy"):
                if field in primary and field in view and view[field] != primary[field]:
                    found.append(anomaly("convergence", secret, f"{region}'s {field} {view[field]!r} differ from the primary's {primary[field]!r}"))
    return found


def check_phantom_reads(history, final, secrets, regions) -> list[dict]:
    """No read returns a value no client wrote (or another write's value for a VersionId), and no
    read returns a version the primary never acknowledged or later lost."""
    found = []
    writes = written(history, secrets)
    for op in history:
        if op["f"] != "read" or op["status"] != "ok":
            continue
        secret, version, value = op["secret"], op.get("version"), op.get("value")
        known = writes.get(secret, {})
        if version not in known:
            found.append(anomaly("phantom_reads", secret, f"read version {version} ({value!r}), which no client wrote", op))
        elif known[version] != value:
            found.append(anomaly("phantom_reads", secret, f"read {value!r} for {version}, which was written as {known[version]!r}", op))
        else:
            primary = secrets.get(secret, {}).get("primary")
            view = final.get(secret, {}).get(primary) if primary else None
            if view is not None and version not in view["versions"]:
                found.append(anomaly("phantom_reads", secret, f"read version {version}, which the primary {primary} does not have after heal", op))
    return found


def check_labels(history, final, secrets, regions) -> list[dict]:
    """At every read: the stage asked for is on the version returned, AWSCURRENT and AWSPREVIOUS
    are never on one version; in every final view exactly one version is AWSCURRENT, at most one
    is AWSPREVIOUS and no label is on two versions."""
    found = []
    for op in history:
        if op["f"] != "read" or op["status"] != "ok":
            continue
        stages = op.get("stages") or []
        if op.get("stage") and op["stage"] not in stages:
            found.append(anomaly("labels", op["secret"], f"asked for {op['stage']}, got {op.get('version')} labelled {stages}", op))
        if "AWSCURRENT" in stages and "AWSPREVIOUS" in stages:
            found.append(anomaly("labels", op["secret"], f"{op.get('version')} is both AWSCURRENT and AWSPREVIOUS", op))
        if len(stages) != len(set(stages)):
            found.append(anomaly("labels", op["secret"], f"{op.get('version')} carries a label twice: {stages}", op))
    for secret, views in sorted(final.items()):
        for region, view in sorted(views.items()):
            if view is None:
                continue
            holders: dict[str, list[str]] = {}
            for version, held in view["versions"].items():
                for stage in held["stages"]:
                    holders.setdefault(stage, []).append(version)
            current = holders.get("AWSCURRENT", [])
            if len(current) != 1:
                found.append(anomaly("labels", secret, f"{region}: AWSCURRENT is on {len(current)} versions {sorted(current)}"))
            for stage, versions in sorted(holders.items()):
                if len(versions) > 1 and stage != "AWSCURRENT":
                    found.append(anomaly("labels", secret, f"{region}: {stage} is on {len(versions)} versions {sorted(versions)}"))
            previous = holders.get("AWSPREVIOUS", [])
            if previous and previous == current:
                found.append(anomaly("labels", secret, f"{region}: AWSPREVIOUS and AWSCURRENT on one version"))
    return found


def _changes_current(op: dict) -> bool:
    return op["f"] == "put" or (op["f"] == "move" and op.get("stage") == "AWSCURRENT")


def _current_after(op: dict) -> str | None:
    return (op.get("version") or op.get("token")) if op["f"] == "put" else op.get("to")


def check_final_labels(history, final, secrets, regions) -> list[dict]:
    """AWSPREVIOUS is the former AWSCURRENT, where the history makes it observable: when the last
    two operations that moved AWSCURRENT in a secret were acknowledged one strictly after the
    other, and nothing that may have moved it (a failed-by-timeout one included) overlaps them,
    the primary's final AWSCURRENT is the second's version and AWSPREVIOUS the first's."""
    found = []
    for secret, placement in sorted(secrets.items()):
        view = final.get(secret, {}).get(placement["primary"])
        if view is None:
            continue
        movers = [op for op in history if op["secret"] == secret and _changes_current(op) and op["status"] != "fail"]
        if len(movers) < 2:
            continue
        movers.sort(key=lambda o: o["start"])
        a, b = movers[-2], movers[-1]
        if a["status"] != "ok" or b["status"] != "ok" or a["end"] is None or b["end"] is None or a["end"] >= b["start"]:
            continue  # concurrent or uncertain: the order is not observable
        if any(op["end"] is None or op["end"] > a["start"] for op in movers[:-2]):
            continue  # an earlier one may have landed after `a`
        stages = {v: held["stages"] for v, held in view["versions"].items()}
        current, before = _current_after(b), _current_after(a)
        if "AWSCURRENT" not in stages.get(current, []):
            found.append(anomaly("final_labels", secret, f"the last acknowledged change made {current} AWSCURRENT, the primary has it on "
                                 f"{[v for v, s in stages.items() if 'AWSCURRENT' in s]}", b))
        elif before != current and "AWSPREVIOUS" not in stages.get(before, []):
            found.append(anomaly("final_labels", secret, f"{before} was AWSCURRENT before {current} but is not AWSPREVIOUS; AWSPREVIOUS is on "
                                 f"{[v for v, s in stages.items() if 'AWSPREVIOUS' in s]}", b))
    return found


def check_monotonic_reads(history, final, secrets, regions) -> list[dict]:
    """Reads of AWSCURRENT from one node by one client never go backwards, per secret: after
    seeing version B, the client never sees version A whose put was acknowledged before B's put
    began (only on secrets whose labels no client moved), and never loses a secret it has seen."""
    found = []
    moved = {op["secret"] for op in history if op["f"] == "move"}
    puts = writes_by_token(history, secrets)
    last: dict[tuple, dict] = {}
    for op in sorted(history, key=lambda o: (o["end"] is None, o["end"] or 0)):
        if op["f"] != "read" or op.get("stage") != "AWSCURRENT" or op["status"] == "unknown" or op.get("node") == "front":
            continue  # the front moves a region with standbys to another node (maybe one behind) when its first is down
        key = (op["client"], op["region"], op.get("node"), op["secret"])  # per node: a region's nodes may lag apart
        seen = last.get(key)
        if op["status"] == "fail":
            if op.get("error") == "ResourceNotFoundException" and seen is not None:
                found.append(anomaly("monotonic_reads", op["secret"], f"{op['region']} lost the secret after showing {seen['version']}", op))
            continue
        if seen is not None and op["secret"] not in moved:
            newer, older = puts.get((op["secret"], seen["version"])), puts.get((op["secret"], op["version"]))
            if newer and older and older["end"] is not None and older["end"] < newer["start"]:
                found.append(anomaly("monotonic_reads", op["secret"],
                                     f"{op['region']} showed {seen['version']} then the older {op['version']}", op))
                continue
        last[key] = op
    return found


def check_stale_primary_reads(history, final, secrets, regions) -> list[dict]:
    """A read of AWSCURRENT in the secret's primary region never returns a version older than
    one acknowledged before the read began: older meaning its write was acknowledged before
    that newer write was invoked (real-time order; on secrets whose labels no client moved)."""
    found = []
    moved = {op["secret"] for op in history if op["f"] == "move"}
    writes = writes_by_token(history, secrets)
    acked: dict[str, list[dict]] = {}
    for op in acknowledged(history):
        acked.setdefault(op["secret"], []).append(op)
    for op in history:
        secret = op["secret"]
        primary = secrets.get(secret, {}).get("primary")
        if (op["f"] != "read" or op["status"] != "ok" or op.get("stage") != "AWSCURRENT" or op["region"] != primary
                or secret in moved or op.get("node")):
            continue  # a read from a node of a region with standbys may be a standby's (or a deposed primary's): not judged
        seen = writes.get((secret, op.get("version")))
        if seen is None or seen["end"] is None:
            continue  # a phantom (phantom_reads says so) or a write still unresolved: no order
        newer = [w for w in acked.get(secret, []) if w["end"] < op["start"] and seen["end"] < w["start"]]
        if newer:
            latest = max(newer, key=lambda w: w["start"])
            found.append(anomaly("stale_primary_reads", secret, f"the primary {primary} returned {op['version']}, older than "
                                 f"{latest['token']} acknowledged at {latest['end']:.3f} s before the read began", op))
    return found


def check_residency(history, final, secrets, regions) -> list[dict]:
    """A secret is never readable in a region outside its primary and replica set."""
    found = []
    for op in history:
        placement = secrets.get(op["secret"])
        if op["f"] != "read" or op["status"] != "ok" or placement is None:
            continue
        if op["region"] not in {placement["primary"], *placement["replicas"], *placement.get("former", [])}:
            found.append(anomaly("residency", op["secret"], f"read in {op['region']}, outside its regions", op))
    for secret, placement in sorted(secrets.items()):
        allowed = {placement["primary"], *placement["replicas"]}
        for region, view in sorted(final.get(secret, {}).items()):
            if region not in allowed and view is not None:
                found.append(anomaly("residency", secret, f"{region} holds the secret after heal, outside its regions"))
    return found


def check_promotions(history, final, secrets, regions) -> list[dict]:
    """After a DR promotion (StopReplicationToReplica in a replica region, during a partition):
    the promoted secret accepts writes in its new region (a put there after the promotion was
    acknowledged), is a primary there after heal (no PrimaryRegion elsewhere), holds only
    versions some client wrote, and the old primary no longer lists that region in its
    ReplicationStatus after heal."""
    found = []
    writes = written(history, secrets)
    by_id = {op["id"]: op for op in history}
    for key, placement in sorted(secrets.items()):
        parent = placement.get("parent")
        if not parent:
            continue
        region, promotion = placement["primary"], by_id.get(placement.get("promotion"))
        if promotion is not None and promotion["status"] != "ok":
            continue  # unknown: it may not have happened, and nothing is claimed
        puts = [op for op in history if op["secret"] == key and op["f"] == "put" and op["status"] == "ok" and op["region"] == region]
        if not puts:
            found.append(anomaly("promotions", key, f"the promoted copy in {region} acknowledged no write after the promotion", promotion))
        view = final.get(key, {}).get(region)
        if view is None:
            found.append(anomaly("promotions", key, f"the promoted secret is gone from {region} after heal", promotion))
        else:
            if view.get("primary_region") not in (None, region):
                found.append(anomaly("promotions", key, f"{region}'s copy still names {view['primary_region']} its primary after heal", promotion))
            for version in sorted(set(view["versions"]) - set(writes.get(key, {}))):
                found.append(anomaly("promotions", key, f"the promoted copy holds version {version}, which no client wrote"))
        old = final.get(parent, {}).get(secrets[parent]["primary"])
        if old is not None and region in old.get("replication", []):
            found.append(anomaly("promotions", key, f"the old primary {secrets[parent]['primary']} still lists {region} in its "
                                 f"ReplicationStatus after heal", promotion))
    return found


def _held(view, op) -> str | None:
    """Why the write `op` is not in `view` as acknowledged (None when it is)."""
    version = op.get("version") or op.get("token")
    if view is None:
        return "the secret is missing"
    if version not in view["versions"]:
        return f"version {version} is missing"
    if view["versions"][version]["value"] != op["value"]:
        return f"version {version} holds {view['versions'][version]['value']!r}, not {op['value']!r}"
    return None


def check_rpo(history, final, secrets, regions, nodes) -> list[dict]:
    """RPO 0 with k >= 1: every acknowledged create or put of a secret whose primary region has
    standbys is, after heal and restart, on that region's final primary node (whichever node
    it was promoted to) and in every replica region's final view."""
    found = []
    for op in acknowledged(history):
        placement = secrets.get(op["secret"], {})
        region = placement.get("primary")
        if region not in (nodes or {}):
            continue
        primary = nodes[region]["primary"]
        why = _held(nodes[region]["views"].get(primary, {}).get(op["secret"]), op)
        if why:
            found.append(anomaly("rpo", op["secret"], f"acknowledged {op['f']}: on {region}'s final primary {primary} {why}", op))
            continue
        for replica in placement.get("replicas", []):
            why = _held(final.get(op["secret"], {}).get(replica), op)
            if why:
                found.append(anomaly("rpo", op["secret"], f"acknowledged {op['f']}: in the replica region {replica} {why}", op))
    return found


def check_fenced(history, final, secrets, regions, nodes) -> list[dict]:
    """No write acknowledged by a fenced node: every acknowledged write that went to a node of
    a region with standbys (its primary, a standby that forwarded it, a deposed primary, or the
    front) is in the final primary's log as the same VersionId with its value. When it is not,
    the message names the nodes whose quarantine (the records an old primary set aside after
    the fork point) holds its VersionId."""
    found = []
    for op in acknowledged(history):
        region = op["region"]
        if region not in (nodes or {}) or not op.get("node"):
            continue
        primary = nodes[region]["primary"]
        view = nodes[region]["views"].get(primary, {}).get(op["secret"])
        version = op.get("version") or op.get("token")
        if op.get("token") and version != op["token"]:
            found.append(anomaly("fenced", op["secret"], f"{op['node']} answered the write of token {op['token']} as version {version}", op))
        elif _held(view, op):
            aside = sorted(k for k, tokens in nodes[region].get("quarantined", {}).items() if version in tokens)
            found.append(anomaly("fenced", op["secret"], f"{op['node']} acknowledged {version}, which the final primary {primary} does not hold "
                                 f"({_held(view, op)})" + (f"; set aside in the quarantine of {', '.join(aside)}" if aside else ""), op))
    # With k >= 1, a node cut from every other node of its region (`cuts`: node, from, to) can
    # acknowledge no write at all: no standby can hold it.
    for region, info in sorted((nodes or {}).items()):
        for cut in info.get("cuts", []):
            for op in history:
                if (op.get("node") == cut["node"] and op["f"] in UPDATES and op["status"] == "ok" and op["start"] >= cut["from"]
                        and (cut["to"] is None or op["end"] <= cut["to"])):
                    found.append(anomaly("fenced", op["secret"], f"{cut['node']} acknowledged a {op['f']} while it was cut from every other node "
                                         f"of {region} ({cut['from']:.2f}-{cut['to'] if cut['to'] is None else round(cut['to'], 2)} s): no standby "
                                         f"could hold it", op))
    return found


def check_region_convergence(history, final, secrets, regions, nodes) -> list[dict]:
    """Every node of a region with standbys (the old primary that rejoined included) holds, per
    secret, exactly its final primary's versions (values byte for byte), labels, tags and
    resource policy."""
    found = []
    for region, info in sorted((nodes or {}).items()):
        primary = info["primary"]
        reference = info["views"].get(primary, {})
        for key, views in sorted(info["views"].items()):
            if key == primary:
                continue
            for name in sorted(set(reference) | set(views)):
                mine, theirs = views.get(name), reference.get(name)
                if (mine is None) != (theirs is None):
                    found.append(anomaly("region_convergence", name, f"{key} {'lacks' if mine is None else 'holds'} the secret, the primary "
                                         f"{primary} {'holds' if mine is None else 'lacks'} it"))
                    continue
                if mine is None:
                    continue
                for version in sorted(set(mine["versions"]) | set(theirs["versions"])):
                    a, b = mine["versions"].get(version), theirs["versions"].get(version)
                    if a is None or b is None:
                        found.append(anomaly("region_convergence", name, f"{key} {'lacks' if a is None else 'holds'} version {version}, "
                                             f"the primary {primary} {'holds' if a is None else 'lacks'} it"))
                    elif a["value"] != b["value"]:
                        found.append(anomaly("region_convergence", name, f"{key} holds another value for {version} than {primary}"))
                    elif sorted(a["stages"]) != sorted(b["stages"]):
                        found.append(anomaly("region_convergence", name, f"{key} labels {version} {sorted(a['stages'])}, {primary} {sorted(b['stages'])}"))
                for field in ("tags", "policy"):
                    if mine.get(field) != theirs.get(field):
                        found.append(anomaly("region_convergence", name, f"{key}'s {field} {mine.get(field)!r} differ from {primary}'s {theirs.get(field)!r}"))
    return found


def check_all(history, final, secrets, regions, nodes=None) -> dict[str, list[dict]]:
    """Every check; `nodes` (for regions with standbys) maps region -> {"primary": the key of
    its final primary node, "views": {node key: {secret: view or None}} (as `final`'s views),
    "quarantined": {node key: [VersionIds some client wrote whose bytes its quarantine files hold]},
    "cuts": [{"node", "from", "to"}: a node cut from every other node (with k >= 1)]}. The
    node checks are run (and reported) only when `nodes` is given."""
    history, final, secrets = lineages(history, final, secrets)
    found = {name: globals()[f"check_{name}"](history, final, secrets, regions) for name in CHECKS}
    if nodes is not None:
        found.update({name: globals()[f"check_{name}"](history, final, secrets, regions, nodes) for name in NODE_CHECKS})
    return found
