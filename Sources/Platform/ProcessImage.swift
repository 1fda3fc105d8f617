internal import Glibc

/// The running program's image: starting it again with a changed environment.
public enum ProcessImage {
    /// Runs this program again from the start with `name=value` in its environment, unless the
    /// environment already has it; returns only when it has it (or when the exec failed, with
    /// the environment unchanged for this process).
    ///
    /// The simulator uses it for `SWIFT_DETERMINISTIC_HASHING`: Swift seeds its hashing per
    /// process, so without it the order of a dictionary's elements changes from run to run,
    /// and a seed would not replay the same trace in another process.
    public static func ensureEnvironment(_ name: String, _ value: String, arguments: [String]) {
        if let current = getenv(name), String(cString: current) == value { return }
        guard setenv(name, value, 1) == 0 else { return }
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        pointers.append(nil)
        execv("/proc/self/exe", pointers)
        // exec failed: go on in this process.
        for pointer in pointers { free(pointer) }
    }
}
