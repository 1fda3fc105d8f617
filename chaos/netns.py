"""Network namespaces for a chaos run: one per node and one for the clients, joined by a bridge
in a namespace of its own, with addresses of 10.231.0.0/24 that exist only inside them.

Every name starts with PREFIX, so that `cleanup_leftovers` removes what an earlier run left
behind (a SIGKILLed runner); `Topology.destroy` removes what this run made. Faults on links are
nftables rules (table `inet chaos` in a node's namespace: drops by peer, random loss) and a
`tc tbf` rate limit on a node's interface.
"""
from __future__ import annotations

import ctypes
import os
import subprocess

PREFIX = "srchaos"
SUBNET = "10.231.0"
CLIENT_ADDRESS = f"{SUBNET}.100"
BRIDGE_NS = f"{PREFIX}-br"
CLIENT_NS = f"{PREFIX}-cl"
CLONE_NEWNET = 0x40000000


class CommandFailed(RuntimeError):
    pass


def sh(*args: str, check: bool = True, timeout: float = 20, input: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise CommandFailed(f"{' '.join(args)}: exit {result.returncode}: {result.stderr.strip()}")
    return result


def require_privileges() -> str | None:
    """Why this process cannot make namespaces (None when it can)."""
    if os.geteuid() != 0:
        return "chaos/run needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to make network namespaces; run it as root or with sudo"
    for tool in ("ip", "nft", "tc"):
        if sh("sh", "-c", f"command -v {tool}", check=False).returncode != 0:
            return f"chaos/run needs the '{tool}' command (scripts/install-deps --test installs iproute2 and nftables)"
    probe = f"{PREFIX}-probe"
    sh("ip", "netns", "del", probe, check=False)
    made = sh("ip", "netns", "add", probe, check=False)
    sh("ip", "netns", "del", probe, check=False)
    if made.returncode != 0:
        return f"cannot make a network namespace ({made.stderr.strip()}): chaos/run needs CAP_NET_ADMIN and CAP_SYS_ADMIN"
    return None


def cleanup_leftovers() -> list[str]:
    """Removes every namespace and root-namespace link named with PREFIX (an earlier run's)."""
    removed = []
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            # A runner killed with SIGKILL leaves its nodes running inside: only chaos/run starts
            # processes in these namespaces, and only its strongroom nodes are stopped here.
            for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                try:
                    if os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "strongroom":
                        os.kill(int(pid), 9)
                        removed.append(f"strongroom pid {pid}")
                except (OSError, ValueError):
                    pass
            sh("ip", "netns", "del", name, check=False)
            removed.append(name)
    # A runner killed with SIGKILL leaves its small disks mounted in its work directory.
    for line in open("/proc/mounts").read().splitlines():
        parts = line.split()
        if len(parts) > 1 and parts[0] == "strongroom-chaos" and "/strongroom-chaos-" in parts[1]:
            sh("umount", "-l", parts[1], check=False)
            removed.append(f"mount {parts[1]}")
    for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name.startswith(PREFIX):
                sh("ip", "link", "del", name, check=False)
                removed.append(name)
    return removed


def enter_namespace(name: str) -> None:
    """Moves the calling thread (only it) into namespace `name`: sockets it opens live there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({name})")
    finally:
        os.close(fd)


class Topology:
    """Namespaces for `regions` (node i at 10.231.0.(11+i)) and the clients (10.231.0.100).

    With `standbys` N, each region's standbys get a namespace and an address of their own too
    (keyed by node id, REGION-b, REGION-c, ...; 10.231.0.(11+len(regions)+j)): a region's key
    names its ordinal-0 node (REGION-a), and `members` lists every key."""

    def __init__(self, regions: list[str], standbys: int = 0):
        self.regions = list(regions)
        self.members = self.regions + [f"{r}-{chr(ord('b') + j)}" for r in self.regions for j in range(standbys)]
        self.namespace = {member: f"{PREFIX}-n{i}" for i, member in enumerate(self.members)}
        self.address = {member: f"{SUBNET}.{11 + i}" for i, member in enumerate(self.members)}
        self.blocked: set[tuple[str, str]] = set()  # (from region, to region): packets dropped
        self.loss: dict[str, int] = {}  # region -> percent of its packets dropped (both ways)
        self.rate: dict[str, str] = {}  # region -> tbf rate on its interface
        self.ingress: dict[str, str] = {}  # region -> tbf rate on the bridge's port toward it
        self.made: list[str] = []
        self.netem = False  # whether the kernel has tc netem (probed by `create`)

    def create(self) -> None:
        sh("ip", "netns", "add", BRIDGE_NS)
        self.made.append(BRIDGE_NS)
        sh("ip", "-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", BRIDGE_NS, "link", "set", "br0", "up")
        sh("ip", "-n", BRIDGE_NS, "link", "set", "lo", "up")
        members = [(self.namespace[r], self.address[r], f"n{i}") for i, r in enumerate(self.members)]
        members.append((CLIENT_NS, CLIENT_ADDRESS, "cl"))
        for namespace, address, short in members:
            sh("ip", "netns", "add", namespace)
            self.made.append(namespace)
            outside, inside = f"{PREFIX}{short}a", f"{PREFIX}{short}b"
            sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            sh("ip", "link", "set", outside, "netns", BRIDGE_NS)
            sh("ip", "link", "set", inside, "netns", namespace)
            sh("ip", "-n", BRIDGE_NS, "link", "set", outside, "master", "br0")
            sh("ip", "-n", BRIDGE_NS, "link", "set", outside, "up")
            sh("ip", "-n", namespace, "link", "set", inside, "name", "eth0")
            sh("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", namespace, "link", "set", "eth0", "up")
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
        for member in self.members:
            self._render_rules(member)
        self.netem = self._probe_netem()

    def _probe_netem(self) -> bool:
        """Whether this kernel has `tc netem` (CONFIG_NET_SCH_NETEM): tried once on the bridge
        namespace's loopback and removed. Without it a slow link is tbf + nftables loss only."""
        made = sh("ip", "netns", "exec", BRIDGE_NS, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms", check=False)
        if made.returncode != 0:
            return False
        sh("ip", "netns", "exec", BRIDGE_NS, "tc", "qdisc", "del", "dev", "lo", "root", check=False)
        return True

    def destroy(self) -> None:
        """Removes every namespace this run made (their veths, rules and qdiscs go with them)."""
        for namespace in reversed(self.made):
            sh("ip", "netns", "del", namespace, check=False)
        self.made.clear()

    # Faults on links ---------------------------------------------------------------------------

    def _render_rules(self, region: str) -> None:
        """Replaces the `inet chaos` table of a node's namespace by the drops `blocked` asks for."""
        me = self.address[region]
        rules = []
        for source, target in sorted(self.blocked):
            if source == region:
                rules.append(f"add rule inet chaos output ip daddr {self._peer(target)} drop")
            if target == region:
                rules.append(f"add rule inet chaos input ip saddr {self._peer(source)} drop")
        if self.loss.get(region):
            for chain, field in (("input", "saddr"), ("output", "daddr")):
                rules.append(f"add rule inet chaos {chain} ip {field} {SUBNET}.0/24 numgen random mod 100 < {self.loss[region]} drop")
        script = "\n".join([
            "table inet chaos {}", "delete table inet chaos", "table inet chaos {",
            "  chain input { type filter hook input priority 0; policy accept; }",
            "  chain output { type filter hook output priority 0; policy accept; }", "}", *rules, ""])
        sh("ip", "netns", "exec", self.namespace[region], "nft", "-f", "-", input=script)
        assert me  # the node's own address is never filtered

    def _peer(self, name: str) -> str:
        return CLIENT_ADDRESS if name == "clients" else self.address[name]

    def block(self, source: str, target: str) -> None:
        """Drops the packets `source` sends to `target` (a region or "clients")."""
        self.blocked.add((source, target))
        for member in {source, target} & set(self.members):
            self._render_rules(member)

    def cut_off(self, member: str, others: list[str]) -> None:
        """Drops everything between `member` and each of `others`, both ways: the member's own
        table first, in one nftables transaction (the cut is whole from that moment), then the
        others' tables."""
        for other in others:
            self.blocked.update({(member, other), (other, member)})
        self._render_rules(member)
        for other in others:
            if other in self.members:
                self._render_rules(other)

    def unblock(self, source: str, target: str) -> None:
        self.blocked.discard((source, target))
        for member in {source, target} & set(self.members):
            self._render_rules(member)

    def heal_links(self) -> None:
        self.blocked.clear()
        for member in self.members:
            self._render_rules(member)

    def region_of(self, member: str) -> str:
        """The region a member key (a region's own key, or a standby's node id) belongs to."""
        return member if member in self.regions else member.rsplit("-", 1)[0]

    def slow_link(self, region: str, rate: str, loss: int, delay_ms: int = 0, jitter_ms: int = 0) -> bool:
        """A slow, lossy link for the node: its interface sends at most `rate` (tc tbf, which
        queues what exceeds it: a TLS handshake of a few KiB waits its turn) and `loss` percent
        of the packets it sends or receives are dropped (nftables numgen). When the kernel has
        `tc netem` (probed once), what it sends also waits `delay_ms` ± `jitter_ms` (netem as the
        tbf's child); returns whether it does (this machine's kernel lacks CONFIG_NET_SCH_NETEM)."""
        sh("ip", "netns", "exec", self.namespace[region], "tc", "qdisc", "replace", "dev", "eth0", "root", "handle", "1:",
           "tbf", "rate", rate, "burst", "4kb", "latency", "2s")
        delayed = bool(delay_ms) and self.netem
        if delayed:  # netem under the tbf: each packet the node sends waits delay ± jitter
            sh("ip", "netns", "exec", self.namespace[region], "tc", "qdisc", "add", "dev", "eth0", "parent", "1:1", "handle", "10:",
               "netem", "delay", f"{delay_ms}ms", f"{jitter_ms}ms")
        self.rate[region] = rate
        self.loss[region] = loss
        self._render_rules(region)
        return delayed

    def heal_slow_link(self, region: str) -> None:
        if self.rate.pop(region, None) is not None:
            sh("ip", "netns", "exec", self.namespace[region], "tc", "qdisc", "del", "dev", "eth0", "root", check=False)
        self.loss.pop(region, None)
        self._render_rules(region)

    def slow_ingress(self, region: str, rate: str) -> None:
        """Everything sent *to* the node (its sources' records and snapshots, its clients'
        requests) goes at most `rate`: a tbf on the bridge's end of the node's veth."""
        port = f"{PREFIX}n{self.members.index(region)}a"
        sh("ip", "netns", "exec", BRIDGE_NS, "tc", "qdisc", "replace", "dev", port, "root", "tbf", "rate", rate, "burst", "4kb", "latency", "2s")
        self.ingress[region] = rate

    def heal_slow_ingress(self, region: str) -> None:
        if self.ingress.pop(region, None) is not None:
            sh("ip", "netns", "exec", BRIDGE_NS, "tc", "qdisc", "del", "dev", f"{PREFIX}n{self.members.index(region)}a", "root", check=False)
