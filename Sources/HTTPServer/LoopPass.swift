import Platform

/// Work a request handler leaves to the end of its event loop's pass: it runs on the loop's
/// thread once the connections that were ready have been served, before any answer given
/// during the pass is written. The node's handler writes a pass's audit records with one
/// write this way, instead of one per request.
///
/// A handler may use it only on the loop's thread (`isCurrentThread`), from within
/// `RequestHandler.handle` or a hook: an answer produced later on another thread must not.
public final class LoopPass: @unchecked Sendable {
    // Safety: every member is read and written only on the thread of the loop that owns it
    // (checked by `isCurrentThread`, which is the only member safe from any thread: `owner` is
    // immutable).
    private let owner: ThreadID
    private var hooks: [() -> Void] = []
    /// Whatever the handler keeps with this loop between passes (its batch).
    public var attachment: AnyObject?

    init(owner: ThreadID) { self.owner = owner }

    /// Whether the calling thread is the loop's.
    public var isCurrentThread: Bool { ThreadID.current == owner }

    /// Runs `hook` at the end of the current pass, once.
    public func atEnd(_ hook: @escaping () -> Void) {
        precondition(isCurrentThread, "LoopPass used off its loop's thread")
        hooks.append(hook)
    }

    /// Runs the hooks registered so far (and any they register); false when there were none.
    func runHooks() -> Bool {
        guard !hooks.isEmpty else { return false }
        while !hooks.isEmpty {
            let batch = hooks
            hooks.removeAll()
            for hook in batch { hook() }
        }
        return true
    }
}
