import Foundation
import Glibc
import Platform
import Testing

/// Running rotation functions: input, outputs, exit status, the deadline that kills the whole
/// process group, and the clean start (no inherited descriptors, no blocked signals).
@Suite struct SubprocessTests {
    static func sh(_ script: String, input: String = "", timeout: Double = 10, limit: Int = 65_536,
                   environment: [String: String] = ["PATH": "/usr/bin:/bin"]) throws -> Subprocess.Outcome {
        try Subprocess.run("/bin/sh", arguments: ["-c", script], environment: environment, input: Array(input.utf8),
                           timeout: timeout, outputLimit: limit)
    }

    @Test func inputOutputsAndExitStatus() throws {
        let outcome = try Self.sh("read line; echo \"got $line\"; echo oops >&2; exit 3", input: "hello\n")
        #expect(String(decoding: outcome.standardOutput, as: UTF8.self) == "got hello\n")
        #expect(String(decoding: outcome.standardError, as: UTF8.self) == "oops\n")
        #expect(outcome.exitStatus == 3 && !outcome.succeeded && !outcome.timedOut)
        #expect(try Self.sh("exit 0").succeeded)
    }

    @Test func onlyTheGivenEnvironment() throws {
        let outcome = try Self.sh("echo \"$A|$HOME\"", environment: ["A": "1", "PATH": "/usr/bin:/bin"])
        #expect(String(decoding: outcome.standardOutput, as: UTF8.self) == "1|\n")
    }

    @Test func theDeadlineKillsTheWholeGroup() throws {
        let marker = "/tmp/strongroom-subprocess-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        defer { unlink(marker) }
        let started = MonotonicClock.seconds()
        // A child in the background that would outlive its parent, writing its pid first.
        let outcome = try Self.sh("sleep 30 & echo $! > \(marker); sleep 30", timeout: 0.5)
        #expect(outcome.timedOut && !outcome.succeeded)
        #expect(MonotonicClock.seconds() - started < 5)
        let text = String(decoding: FileManager.default.contents(atPath: marker) ?? Data(), as: UTF8.self).trimmingCharactersWhitespace()
        let child = try #require(Int32(text))
        // Give the kernel a moment to reap; the orphan must be gone (or a zombie of init).
        var alive = true
        for _ in 0..<50 where alive {
            alive = kill(child, 0) == 0 && !Self.isZombie(child)
            if alive { usleep(20_000) }
        }
        #expect(!alive, "the background child \(child) survived the deadline")
    }

    /// A program that exits while something it started in the background still holds its
    /// output (a daemon, `nohup x &`) has finished: it is not reported as timed out, and what it
    /// left behind goes with its process group.
    @Test func aProgramThatExitsIsDoneEvenIfItsBackgroundChildHoldsTheOutput() throws {
        let started = MonotonicClock.seconds()
        let outcome = try Self.sh("echo done; sleep 30 & exit 0", timeout: 20)
        #expect(outcome.succeeded && !outcome.timedOut, "\(outcome)")
        #expect(String(decoding: outcome.standardOutput, as: UTF8.self) == "done\n")
        #expect(MonotonicClock.seconds() - started < 5)
    }

    @Test func cancellationStopsItLikeTheDeadline() throws {
        let started = MonotonicClock.seconds()
        let outcome = try Subprocess.run("/bin/sh", arguments: ["-c", "sleep 30"], environment: [:], timeout: 30,
                                         cancelled: { MonotonicClock.seconds() - started > 0.3 })
        #expect(outcome.timedOut && MonotonicClock.seconds() - started < 5)
    }

    @Test func outputsAreBounded() throws {
        let outcome = try Self.sh("head -c 200000 /dev/zero", limit: 1000)
        #expect(outcome.standardOutput.count == 1000 && outcome.truncated && outcome.succeeded)
    }

    @Test func noSignalBlockedAndNoDescriptorInherited() throws {
        // The test process's own descriptors (0, 1, 2 and whatever else it has open) are not
        // the child's beyond its three pipes.
        let outcome = try Self.sh("ls /proc/self/fd | wc -l; grep SigBlk /proc/self/status; grep SigIgn /proc/self/status")
        let lines = String(decoding: outcome.standardOutput, as: UTF8.self).split(separator: "\n")
        // ls's own: 0, 1, 2 and the directory it reads; wc's pipe is not in ls's table.
        #expect(Int(lines[0].trimmingCharactersWhitespace()).map { $0 <= 4 } == true, "\(lines)")
        #expect(lines[1].hasSuffix("0000000000000000"), "\(lines)")
    }

    @Test func aMissingExecutableIsAnError() {
        #expect(throws: Errno.self) {
            _ = try Subprocess.run("/nonexistent/strongroom-fn", environment: [:], timeout: 1)
        }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return true }
        let text = String(decoding: stat, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return true }
        return text[text.index(after: close)...].trimmingCharactersWhitespace().hasPrefix("Z")
    }
}

extension StringProtocol {
    func trimmingCharactersWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
