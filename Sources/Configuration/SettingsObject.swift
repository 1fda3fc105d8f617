import JSON

/// One object of a configuration document (the whole file, `tls`, `limits`, `journal`,
/// `replication`, a peer), its members by name.
///
/// A member given twice is refused rather than the last one silently winning: in a file that
/// sets the node's limits and peers, two values for one setting are a mistake, and which one a
/// reader takes differs between readers.
struct SettingsObject {
    private let members: [String: JSONValue]

    /// - Parameters:
    ///   - value: the value that must be an object.
    ///   - prefix: the object's path with a trailing dot (`"limits."`, `"replication.peers[0]."`), or
    ///     `""` for the file itself: how problems name a member.
    ///   - known: the member names this object may have; nil accepts any (the `tls` object,
    ///     whose other members have always been ignored).
    ///   - notAnObject: the problem when `value` is not an object.
    init(_ value: JSONValue, prefix: String, known: Set<String>?, notAnObject: String) throws(NodeConfiguration.Problem) {
        guard case .object(let list) = value else { throw NodeConfiguration.Problem(notAnObject) }
        if let known, let unknown = list.map(\.key).sorted().first(where: { !known.contains($0) }) {
            throw NodeConfiguration.Problem("unknown setting '\(prefix)\(unknown)'")
        }
        var members: [String: JSONValue] = [:]
        for member in list {
            guard members.updateValue(member.value, forKey: member.key) == nil else {
                throw NodeConfiguration.Problem("'\(prefix)\(member.key)' is given twice")
            }
        }
        self.members = members
    }

    subscript(name: String) -> JSONValue? { members[name] }

    /// The names of the members present.
    var names: Dictionary<String, JSONValue>.Keys { members.keys }
}
