internal import Glibc
internal import CSystemShims

/// Runs a program to completion with a deadline: its standard input given, its standard output
/// and error collected (each up to a bound), and the whole process group killed when the
/// deadline passes. Used for rotation functions, which are operators' programs: they get a
/// clean signal state (nothing blocked or ignored that the node blocks or ignores), no
/// descriptor of the node's but the three pipes, their own process group, and only the
/// environment given.
public enum Subprocess {
    public struct Outcome: Sendable, Equatable {
        /// The exit status when it exited; nil when a signal ended it.
        public var exitStatus: Int32?
        /// The signal that ended it, when one did.
        public var signal: Int32?
        /// True when the deadline passed and the process group was killed.
        public var timedOut: Bool
        public var standardOutput: [UInt8]
        public var standardError: [UInt8]
        /// True when an output passed `outputLimit` and the rest was read and dropped.
        public var truncated: Bool

        public var succeeded: Bool { exitStatus == 0 && !timedOut }
    }

    /// Runs `executable` (an absolute path) with `arguments` and exactly `environment`.
    ///
    /// - Parameters:
    ///   - input: written to its standard input, which is then closed.
    ///   - timeout: seconds from the start; then SIGKILL to its process group.
    ///   - outputLimit: bytes kept of each of standard output and standard error.
    ///   - cancelled: asked about once a second; true ends it as the deadline does.
    public static func run(
        _ executable: String, arguments: [String] = [], environment: [String: String], input: [UInt8] = [],
        timeout: Double, outputLimit: Int = 65_536, cancelled: () -> Bool = { false }
    ) throws(Errno) -> Outcome {
        let stdinPipe = try makePipe()
        let stdoutPipe: (read: Int32, write: Int32)
        let stderrPipe: (read: Int32, write: Int32)
        do {
            stdoutPipe = try makePipe()
        } catch {
            close(stdinPipe.read); close(stdinPipe.write)
            throw error
        }
        do {
            stderrPipe = try makePipe()
        } catch {
            for fd in [stdinPipe.read, stdinPipe.write, stdoutPipe.read, stdoutPipe.write] { close(fd) }
            throw error
        }
        var parentEnds = [stdinPipe.write, stdoutPipe.read, stderrPipe.read]
        let childEnds = [stdinPipe.read, stdoutPipe.write, stderrPipe.write]
        defer { for fd in parentEnds where fd >= 0 { close(fd) } }

        let pid: pid_t
        do {
            pid = try spawn(executable, arguments: arguments, environment: environment,
                            stdin: stdinPipe.read, stdout: stdoutPipe.write, stderr: stderrPipe.write)
        } catch {
            for fd in childEnds { close(fd) }
            throw error
        }
        for fd in childEnds { close(fd) }

        let deadline = monotonicSeconds() + timeout
        var outcome = Outcome(exitStatus: nil, signal: nil, timedOut: false, standardOutput: [], standardError: [], truncated: false)
        var pendingInput = input[...]
        if pendingInput.isEmpty { close(parentEnds[0]); parentEnds[0] = -1 } else { _ = fcntl(parentEnds[0], F_SETFL, O_NONBLOCK) }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        // When the program exited, while something it left behind may still hold its outputs.
        var exitedAt: Double?
        while parentEnds[0] >= 0 || parentEnds[1] >= 0 || parentEnds[2] >= 0 {
            if exitedAt == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    record(status, into: &outcome)
                    exitedAt = monotonicSeconds()
                }
            }
            // The program is done: what it left running in the background (holding a pipe)
            // gets a moment to finish writing, not the whole deadline.
            if let exitedAt, monotonicSeconds() - exitedAt > Self.exitGraceSeconds { break }
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 || cancelled() {
                outcome.timedOut = true
                killGroup(pid)
                break
            }
            var fds: [pollfd] = []
            if parentEnds[0] >= 0 { fds.append(pollfd(fd: parentEnds[0], events: Int16(POLLOUT), revents: 0)) }
            if parentEnds[1] >= 0 { fds.append(pollfd(fd: parentEnds[1], events: Int16(POLLIN), revents: 0)) }
            if parentEnds[2] >= 0 { fds.append(pollfd(fd: parentEnds[2], events: Int16(POLLIN), revents: 0)) }
            let wait = min(remaining, exitedAt == nil ? 0.05 : Self.exitGraceSeconds)
            let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), Int32(wait * 1000) + 1) }
            if ready < 0 {
                if errno == EINTR { continue }
                let failure = Errno(code: errno, operation: "poll")
                kill(-pid, SIGKILL)
                _ = reap(pid)
                throw failure
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == parentEnds[0] {
                    let written = pendingInput.withUnsafeBytes { write(entry.fd, $0.baseAddress, $0.count) }
                    if written > 0 { pendingInput = pendingInput.dropFirst(written) }
                    if written < 0 && errno != EAGAIN && errno != EINTR || pendingInput.isEmpty {
                        close(parentEnds[0]); parentEnds[0] = -1
                    }
                    continue
                }
                let isOut = entry.fd == parentEnds[1]
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    let kept: WritableKeyPath<Outcome, [UInt8]> = isOut ? \.standardOutput : \.standardError
                    let room = max(0, outputLimit - outcome[keyPath: kept].count)
                    outcome[keyPath: kept] += buffer[0..<count].prefix(room)
                    if count > room { outcome.truncated = true }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(entry.fd)
                    if isOut { parentEnds[1] = -1 } else { parentEnds[2] = -1 }
                }
            }
        }
        // Its outputs are closed (or the deadline passed): wait for it, up to the deadline.
        while exitedAt == nil {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                record(status, into: &outcome)
                exitedAt = monotonicSeconds()
                break
            }
            if result < 0 && errno != EINTR { break }
            if (monotonicSeconds() >= deadline || cancelled()) && !outcome.timedOut {
                outcome.timedOut = true
                killGroup(pid)
            }
            if outcome.timedOut {
                if let status = reap(pid) { record(status, into: &outcome) }
                break
            }
            usleep(2_000)
        }
        // Whatever it left behind in its group goes with it.
        kill(-pid, SIGKILL)
        return outcome
    }

    /// SIGKILL to the program's process group, and to the program in case it left the group.
    private static func killGroup(_ pid: pid_t) {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
    }

    /// How long outputs are still read after the program exited.
    static let exitGraceSeconds = 0.5

    private static func record(_ status: Int32, into outcome: inout Outcome) {
        let signal = status & 0x7f
        if signal == 0 {
            outcome.exitStatus = (status >> 8) & 0xff
        } else {
            outcome.signal = signal
        }
    }

    private static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return nil }
        }
        return status
    }

    private static func makePipe() throws(Errno) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try systemCall("pipe2") { fds.withUnsafeMutableBufferPointer { CSystemShims_pipe_cloexec($0.baseAddress) } }
        return (fds[0], fds[1])
    }

    private static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    private static func spawn(
        _ executable: String, arguments: [String], environment: [String: String], stdin: Int32, stdout: Int32, stderr: Int32
    ) throws(Errno) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Descriptors opened without O_CLOEXEC (by a library, by a test harness) stay behind.
        _ = CSystemShims_spawn_closefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (killed whole at the deadline), no blocked signal, and the
        // default action for the signals the node ignores or handles.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envBuffer in
                posix_spawn(&pid, executable, &actions, &attributes,
                            UnsafeMutablePointer(mutating: argvBuffer.baseAddress!), UnsafeMutablePointer(mutating: envBuffer.baseAddress!))
            }
        }
        guard result == 0 else { throw Errno(code: result, operation: "posix_spawn \(executable)") }
        return pid
    }
}
