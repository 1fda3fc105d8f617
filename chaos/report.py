"""The run's report: a text summary and a timeline picture drawn as SVG by hand (faults as bands,
operations as marks on their node's row, anomalies circled in red)."""
from __future__ import annotations

from collections import Counter
from html import escape

OPENS = {"cut_during_snapshot": "partition", "slow_into": "slow link in", "kill_during_snapshot": "killed", "kill_during_catchup": "killed",
         "isolate": "partition", "isolate_one_way": "one-way", "cut_clients": "cut from clients", "kill": "killed", "wipe": "data deleted", "pause": "paused", "slow_link": "slow link", "disk_full": "disk full",
         "isolate_node": "isolated", "promote_node": "promote", "promote_behind": "promote --force", "await_rejoin": "rejoin"}
SPANS = ("promote_node", "promote_behind", "await_rejoin")  # a band from the step's start to its end
CLOSES = {"heal_links": ("isolate", "isolate_one_way", "cut_clients", "cut_during_snapshot"),
          "cut_during_snapshot": ("isolate",), "kill_during_catchup": ("isolate",), "heal_slow_into": ("slow_into",),
          "restart": ("kill", "wipe", "kill_during_snapshot", "kill_during_catchup"), "resume": ("pause",), "heal_slow_link": ("slow_link",), "disk_free": ("disk_full",),
          "heal_node": ("isolate_node",)}
COLOURS = {"partition": "#f4a261", "one-way": "#e9c46a", "cut from clients": "#b5838d", "killed": "#9d0208", "paused": "#8d99ae", "slow link": "#90be6d", "data deleted": "#000000", "disk full": "#6a4c93",
           "slow link in": "#43aa8b",
           "isolated": "#e76f51", "promote": "#264653", "promote --force": "#000000", "rejoin": "#2a9d8f"}


def fault_bands(faults: list[dict], end: float) -> list[dict]:
    """[{region, label, start, end}] from the fault log's apply/heal entries."""
    bands, open_ = [], []
    for entry in faults:
        action, region = entry["action"], entry["args"].get("region") or entry["args"].get("node")
        if action in CLOSES or action == "heal_all":
            for band in list(open_):
                if action == "heal_all" or (band["action"] in CLOSES[action] and (region is None or band["region"] == region)):
                    band["end"] = entry["time"]
                    open_.remove(band)
        if action in OPENS:
            # A fault timed by the nodes' logs (a re-cut, a kill) lands when its step is done.
            start = entry.get("done", entry["time"]) if action in CLOSES or action.startswith("kill_during") else entry["time"]
            band = {"region": region, "label": OPENS[action], "kind": OPENS[action], "action": action, "start": start, "end": None}
            if action in SPANS:
                band.update(start=entry["time"], end=entry.get("done", entry["time"]))
            elif action == "isolate_node":
                band["label"] = f"isolated {region}"
            if band["end"] is None:
                open_.append(band)
            bands.append(band)
    for band in open_:
        band["end"] = end
    return bands


def text(summary: dict) -> str:
    lines = [f"chaos run {summary['scenario']} seed {summary['seed']}: {summary['verdict']}",
             f"  proves: {summary['proves']}",
             f"  workload {summary['seconds']} s, {summary['clients']} clients"
             + (" (the odd ones through the front)" if summary.get("front") else "")
             + f"; whole run {summary['elapsed']:.1f} s", ""]
    counts = Counter((o["f"], o["status"]) for o in summary["ops"])
    lines.append("operations (ok / fail / unknown):")
    for f in ("create", "put", "move", "tag", "untag", "policy", "unpolicy", "promote", "read"):
        if f in ("create", "put", "move", "read") or any(k[0] == f for k in counts):
            lines.append(f"  {f:<8} {counts[(f, 'ok')]:>5} / {counts[(f, 'fail')]:>4} / {counts[(f, 'unknown')]:>4}")
    retries = Counter(o["status"] for o in summary["ops"] if o.get("retry"))
    if retries:
        lines.append(f"  retries of unknown puts (same token and value): {retries['ok']} ok / {retries['fail']} fail / {retries['unknown']} unknown")
    errors = Counter(o.get("error") for o in summary["ops"] if o["status"] != "ok")
    if errors:
        lines.append("  errors: " + ", ".join(f"{name} x{n}" for name, n in errors.most_common(8)))
    lines += ["", "faults (seconds from the workload's start):"]
    for entry in summary["faults"]:
        lines.append(f"  {entry['time']:>7.2f}  {entry['description']}")
    if summary.get("unmet"):
        lines += ["", "scenario not carried out as meant (so the run FAILs):"] + [f"  {e}" for e in summary["unmet"]]
    lines += ["", "checks:"]
    for name, found in summary["checks"].items():
        lines.append(f"  {name:<20} {'ok' if not found else f'{len(found)} ANOMALIES'}")
        for item in found[:5]:
            lines.append(f"      {item['secret']}: {item['message']}" + (f" (op {item['op']} at {item['time']:.2f} s)" if "op" in item else ""))
        if len(found) > 5:
            lines.append(f"      … {len(found) - 5} more in report.json")
    if summary.get("standbys"):
        lines += ["", f"standbys: {summary['standbys']} per region, syncStandbys {summary['sync']}; promotions (strongroom promote):"]
        for p in summary.get("promotions", []):
            lines.append(f"  {p['node']}: exit {p['exit']} in {p['seconds']:.2f} s (expected {p['expected']})"
                         + (f", epoch {p['answer'].get('Epoch')}, may lose {p['answer'].get('MayLose')}" if p.get("answer") else f": {p['stderr'][-200:]}"))
        for r in summary.get("rto", []):
            lines.append(f"  RTO {r['region']}: {r['rto']} s from the primary's loss at {r['from']:.2f} s to the first write acknowledged after "
                         f"the promotion (answered at {r['promoted_at']:.2f} s; {r.get('after_answer')} s after its answer)" if r["rto"] is not None else f"  RTO {r['region']}: no write acknowledged after the promotion")
        acked = sum(1 for o in summary["ops"] if o["f"] in ("create", "put") and o["status"] == "ok")
        lines.append(f"  acknowledged creates and puts: {acked}")
        for region, info in summary.get("nodes", {}).items():
            lines.append(f"  {region}: final primary {info['primary']}; its nodes equal it after {info['converged_after']} s; quarantine files "
                         + (", ".join(f"{k}: {len(v)}" for k, v in info["quarantine_files"].items()))
                         + f"; versions written by clients that only a quarantine holds: {len(info['set_aside'])}")
    conv = summary["convergence"]
    seconds = lambda s: "not within the bound" if s is None else f"{s:.2f} s"  # noqa: E731
    lines += ["", f"convergence (every replica's versions, labels, tags and policy equal to its primary's, and DR promotions dropped by their old primaries; {conv['secrets']} secrets, bound {conv['bound']:g} s):",
              f"  after the workload stopped and every fault was healed: {seconds(conv['after_heal'])}",
              f"  after kill -9 and restart of every node:               {seconds(conv['after_restart'])}"]
    return "\n".join(lines) + "\n"


def svg(summary: dict) -> str:
    regions = summary["regions"]
    ops = summary["ops"]
    end = max([summary["workload_end"]] + [o["end"] or o["start"] for o in ops] + [f["time"] for f in summary["faults"]]) + 0.5
    left, width, row, top = 130, 900, 70, 50
    height = top + row * len(regions) + 110
    x = lambda t: left + width * max(0.0, t) / end  # noqa: E731
    y = {r: top + i * row for i, r in enumerate(regions)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="14">{escape(summary["scenario"])} seed {summary["seed"]}: {escape(summary["verdict"])}</text>']
    for band in fault_bands(summary["faults"], end):
        row_of = band["region"] if band["region"] in y else (band["region"] or "").rsplit("-", 1)[0]
        rows = [row_of] if row_of in y else regions
        for r in rows:
            out.append(f'<rect x="{x(band["start"]):.1f}" y="{y[r]}" width="{max(1.0, x(band["end"]) - x(band["start"])):.1f}" height="{row - 6}" '
                       f'fill="{COLOURS.get(band["kind"], "#ccc")}" opacity="0.45"><title>{escape(band["label"])} {band["start"]:.2f}-{band["end"]:.2f} s</title></rect>')
        out.append(f'<text x="{x(band["start"]) + 2:.1f}" y="{y[rows[0]] + 11}" fill="#333">{escape(band["label"])}</text>')
    for r in regions:
        out.append(f'<text x="10" y="{y[r] + row / 2:.0f}">{escape(r)}</text>')
        out.append(f'<line x1="{left}" x2="{left + width}" y1="{y[r] + row - 3}" y2="{y[r] + row - 3}" stroke="#ddd"/>')
    colour = {"ok": "#2a9d8f", "fail": "#e76f51", "unknown": "#f9a602"}
    lanes = {"create": 18, "promote": 18, "put": 28, "move": 38, "tag": 38, "untag": 38, "policy": 38, "unpolicy": 38, "read": 50}
    for o in ops:
        if o["region"] not in y:
            continue
        cy = y[o["region"]] + lanes[o["f"]]
        x0, x1 = x(o["start"]), x(o["end"] if o["end"] is not None else end)
        if o["f"] == "read":
            fill = "#bbbbbb" if o.get("error") == "ResourceNotFoundException" else colour[o["status"]]
            out.append(f'<circle cx="{x0:.1f}" cy="{cy}" r="1.6" fill="{fill}"/>')
        else:
            out.append(f'<rect x="{x0:.1f}" y="{cy - 2}" width="{max(1.5, x1 - x0):.1f}" height="4" fill="{colour[o["status"]]}" opacity="0.8"/>')
    for found in (a for items in summary["checks"].values() for a in items):
        t = found.get("time")
        if t is None:
            t = summary["workload_end"]
        r = found.get("region") if found.get("region") in y else regions[0]
        out.append(f'<circle cx="{x(t):.1f}" cy="{y[r] + row / 2:.0f}" r="7" fill="none" stroke="red" stroke-width="2">'
                   f'<title>{escape(found["check"])}: {escape(found["secret"])}: {escape(found["message"])}</title></circle>')
    axis = top + row * len(regions) + 5
    for i in range(0, int(end) + 1, max(1, int(end) // 10)):
        out.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{axis}" y2="{axis + 5}" stroke="#333"/><text x="{x(i) - 4:.1f}" y="{axis + 17}">{i}s</text>')
    legend = axis + 40
    items = [("ok", colour["ok"]), ("fail", colour["fail"]), ("unknown", colour["unknown"]), ("not found", "#bbbbbb")] + [(k, v) for k, v in COLOURS.items()]
    for i, (label, fill) in enumerate(items):
        lx, ly = left + (i % 6) * 140, legend + (i // 6) * 16
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{fill}"/><text x="{lx + 16}" y="{ly}">{escape(label)}</text>')
    legend += 16 * ((len(items) - 1) // 6)
    out.append(f'<text x="10" y="{legend + 20}" fill="#555">lanes per node: create (and DR promote), put, move/tag/policy (bars: invoke to completion), reads (dots; grey: not found, as outside a replica set); red circles: anomalies</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
