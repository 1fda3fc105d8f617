"""The fault actions a scenario's steps name; each applies or heals one fault and returns a
short description for the fault log. `heal_all` undoes whatever is still applied."""
from __future__ import annotations

import os
import signal


class Faults:
    def __init__(self, topology, cluster, log):
        self.topology, self.cluster, self.log = topology, cluster, log
        self.down: set[str] = set()
        self.paused: set[str] = set()
        self.full: set[str] = set()

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
        self.topology.heal_links()
        return "heal every link"

    def kill(self, region):
        self.cluster.nodes[region].kill()
        self.down.add(region)
        self.paused.discard(region)
        return f"kill -9 {region}"

    def restart(self, region):
        node = self.cluster.nodes[region]
        if not node.running:
            pid = node.start()
            node.wait_ready(self.cluster.ca)
            self.down.discard(region)
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

    def slow_link(self, region, rate, loss):
        self.topology.slow_link(region, rate, loss)
        return f"slow link {region}: rate {rate}, loss {loss}%"

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

    def heal_all(self):
        done = []
        for region in sorted(self.full):
            done.append(self.disk_free(region))
        for region in sorted(self.paused):
            done.append(self.resume(region))
        for region in list(self.topology.rate) + list(self.topology.loss):
            if region in self.topology.rate or region in self.topology.loss:
                done.append(self.heal_slow_link(region))
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
