"""chaos/run end to end: a short scenario against real nodes in network namespaces (root only),
and a clear refusal without the privileges."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BINARY, ROOT

RUN = ROOT / "chaos" / "run"


def leftovers() -> list[str]:
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    return [n for n in names if n.startswith("srchaos")]


@pytest.mark.skipif(os.geteuid() != 0, reason="chaos/run needs root to make network namespaces (CI runs as root)")
def test_a_kill_scenario_runs_end_to_end_and_passes_its_checks(binary, tmp_path):
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    result = subprocess.run([str(RUN), "--scenario", "kill", "--seed", "7", "--seconds", "12", "--results", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "kill-7"
    for name in ("report.txt", "report.json", "history.jsonl", "faults.jsonl", "timeline.svg"):
        assert (out / name).exists(), name
    summary = json.loads((out / "report.json").read_text())
    assert summary["verdict"] == "PASS"
    assert all(found == [] for found in summary["checks"].values())
    assert [f["action"] for f in summary["faults"]][:4] == ["kill", "restart", "kill", "restart"]
    assert summary["convergence"]["converged"]
    history = (out / "history.jsonl").read_text().splitlines()
    assert sum('"type": "ok"' in line for line in history) > 50
    assert (out / "timeline.svg").read_text().startswith("<svg")
    assert "kill -9" in result.stdout and re.search(r"^  lost_writes +ok$", result.stdout, re.M)
    assert leftovers() == [], "the run left namespaces behind"


@pytest.mark.skipif(os.geteuid() != 0, reason="chaos/run needs root to make network namespaces (CI runs as root)")
@pytest.mark.parametrize("scenario, expected_fault", [("partition", "partition"), ("disk-full", "disk full on"),
                                                     ("dr-drill", "DR drill: StopReplicationToReplica")])
def test_a_partition_a_full_disk_and_a_dr_drill_pass_their_checks(binary, tmp_path, scenario, expected_fault):
    """The CI subset beside `kill`: a region cut off both ways, a node's own file system
    filled under load (writes fail retryably, nothing acknowledged is lost, space comes back),
    and the DR drill (a copy promoted in a cut region takes writes; its old primary drops it)."""
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    result = subprocess.run([str(RUN), "--scenario", scenario, "--seed", "3", "--seconds", "12", "--results", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / f"{scenario}-3" / "report.json").read_text())
    assert summary["verdict"] == "PASS" and all(found == [] for found in summary["checks"].values())
    assert any(f["description"].startswith(expected_fault) for f in summary["faults"]), summary["faults"]
    if scenario == "dr-drill":
        assert "promote ok, put ok" in result.stdout and any(o == "promote" for o in result.stdout.split()), result.stdout
    # Half the clients went through the front, which ran beside them and stopped with the run.
    assert summary["front"] and "front listening on" in (tmp_path / f"{scenario}-3" / "logs" / "front.log").read_text()
    assert leftovers() == [], "the run left namespaces behind"
    assert "strongroom-chaos" not in open("/proc/mounts").read(), "the run left a file system mounted"


@pytest.mark.skipif(os.geteuid() != 0, reason="chaos/run needs root to make network namespaces (CI runs as root)")
def test_the_negative_control_fails_with_the_lost_writes_it_caused(binary, tmp_path):
    """Deleting a node's data directory under load must be caught: the whole chain (history,
    final reads, checker, exit status) can see a real loss, not only crafted ones."""
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    result = subprocess.run([str(RUN), "--scenario", "control-wipe", "--seed", "2", "--seconds", "10", "--results", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads((tmp_path / "control-wipe-2" / "report.json").read_text())
    assert summary["verdict"] == "FAIL" and summary["checks"]["lost_writes"], summary["checks"]
    assert "delete its data directory" in result.stdout
    assert leftovers() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chaos/run needs root to make network namespaces (CI runs as root)")
def test_an_old_primary_partitioned_then_healed_acknowledges_nothing_and_rejoins(binary, tmp_path):
    """Issue 19 on real processes: every node of a region with two standbys (k = 1) in its own
    namespace; the primary cut from every node while clients keep writing to it, a standby
    promoted with `strongroom promote`, healed: the old primary rejoins as a standby with its
    divergent records in its quarantine; rpo, fenced and region_convergence pass."""
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    result = subprocess.run([str(RUN), "--scenario", "old-primary-partitioned", "--seed", "1", "--seconds", "15", "--results", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "old-primary-partitioned-1" / "report.json").read_text())
    assert summary["verdict"] == "PASS" and {"rpo", "fenced", "region_convergence"} <= set(summary["checks"])
    assert [p["exit"] for p in summary["promotions"]] == [0]
    assert any("rejoined as a standby" in f["description"] for f in summary["faults"]), summary["faults"]
    assert leftovers() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chaos/run needs root to make network namespaces (CI runs as root)")
def test_a_forced_promotion_of_a_standby_behind_is_caught_by_rpo(binary, tmp_path):
    """The negative control of the promotion checks: with k = 1, the standby behind promoted
    with --force gives up writes only the other standby held; rpo and fenced must name them."""
    env = dict(os.environ, STRONGROOM_BIN=str(BINARY))
    result = subprocess.run([str(RUN), "--scenario", "control-force", "--seed", "1", "--seconds", "15", "--results", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads((tmp_path / "control-force-1" / "report.json").read_text())
    assert summary["verdict"] == "FAIL" and summary["checks"]["rpo"] and summary["checks"]["fenced"], summary["checks"]
    assert leftovers() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_without_root_it_says_so_and_exits_non_zero(tmp_path):
    # A copy the unprivileged user can read: the checkout may sit in a directory only root can
    # enter (a CI clone in a `mktemp -d`).
    import shutil
    import tempfile
    readable = Path(tempfile.mkdtemp(prefix="strongroom-chaos-copy-"))
    try:
        readable.chmod(0o755)
        shutil.copytree(RUN.parent, readable / "chaos", ignore=shutil.ignore_patterns("results", "__pycache__"))
        for path in [readable / "chaos", *(readable / "chaos").rglob("*")]:
            path.chmod(0o755 if path.is_dir() or path.name == "run" else 0o644)
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "python3",
                                 str(readable / "chaos" / "run"), "--scenario", "kill", "--results", str(readable / "results")],
                                capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(readable, ignore_errors=True)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "chaos/run needs root" in result.stderr


def test_list_names_every_scenario_and_what_it_proves():
    result = subprocess.run([str(RUN), "--list"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["partition", "one-way", "client-cut", "kill", "pause", "slow-link", "partition-kill", "disk-full",
                     "snapshot-cut", "restart-snapshot", "restart-catchup", "dr-drill", "dr-region", "promote-under-load",
                     "old-primary-partitioned", "primary-killed-standby-behind", "forwarded-write-in-flight", "control-force",
                     "control-wipe"]


def test_an_unknown_scenario_is_a_usage_error():
    result = subprocess.run([str(RUN), "--scenario", "meteor"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "give --scenario with one of partition" in result.stderr
