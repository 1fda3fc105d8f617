public import Foundation
import JSON
public import Journal
public import Platform
import Logging

/// What one node needs to run, read from the JSON file given to `strongroom serve --config`.
///
/// ```json
/// {
///   "nodeId": "dev",
///   "region": "us-east-1",
///   "listen": ["127.0.0.1:7443"],
///   "dataDirectory": "data",
///   "tls": {"certificate": "node.pem", "privateKey": "node.key", "ca": "ca.pem"},
///   "iam": "iam.json",
///   "keyring": "keyring.json",
///   "eventLoops": 2,
///   "limits": {"maxConnections": 4096, "maxHeaderBytes": 16384, "maxBodyBytes": 1048576,
///              "handshakeTimeoutSeconds": 10, "headerTimeoutSeconds": 10,
///              "requestTimeoutSeconds": 30, "idleTimeoutSeconds": 60, "silentTimeoutSeconds": 3,
///              "maxUnfinishedConnections": 1024, "maxUnfinishedPerAddress": 256,
///              "logMaxBytes": 67108864},
///   "replication": {"listen": "127.0.0.1:7543", "peers": [...]},
///   "journal": {"segmentBytes": 67108864, "snapshotEveryRecords": 100000, "snapshotEveryBytes": 268435456}
/// }
/// ```
/// Relative paths are taken from the configuration file's directory. `listen` may be one
/// address or a list; `eventLoops` defaults to the number of cores; every limit has a default;
/// `replication` (see ``ReplicationSettings``) is optional; `journal` tunes the region log's
/// segment size and how often it is compacted into a snapshot (each has a default).
public struct NodeConfiguration: Sendable, Equatable {
    public var nodeId: String
    public var region: String
    public var listen: [SocketAddress]
    public var dataDirectory: String
    public var certificateFile: String
    public var privateKeyFile: String
    public var caFile: String
    public var iamFile: String
    public var keyringFile: String
    public var eventLoops: Int
    public var limits: ServerLimits
    /// How this node exchanges region logs with the other regions' nodes; nil: it does not.
    public var replication: ReplicationSettings?
    /// The region log's tunables (only those in ``JournalSettings`` are configurable).
    public var journal = JournalOptions()
    /// The rotation functions this node can invoke and how it runs them (see ``RotationSettings``).
    public var rotation = RotationSettings()

    public init(nodeId: String, region: String, listen: [SocketAddress], dataDirectory: String, certificateFile: String,
                privateKeyFile: String, caFile: String, iamFile: String, keyringFile: String,
                eventLoops: Int = OSThread.availableCores, limits: ServerLimits = ServerLimits(),
                replication: ReplicationSettings? = nil) {
        self.nodeId = nodeId
        self.region = region
        self.listen = listen
        self.dataDirectory = dataDirectory
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.caFile = caFile
        self.iamFile = iamFile
        self.keyringFile = keyringFile
        self.eventLoops = eventLoops
        self.limits = limits
        self.replication = replication
    }

    /// A configuration problem: one line naming the file and what is wrong with it.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Reads and validates `path`. Every failure is one line that names the file.
    public static func load(path: String) throws(Problem) -> NodeConfiguration {
        let absolute = Files.absolutePath(path)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw Problem("\(absolute): cannot read the configuration file (\(Files.exists(absolute) ? "permission denied" : "no such file"))")
        }
        let base = (absolute as NSString).deletingLastPathComponent
        do {
            return try decode(data, relativeTo: base)
        } catch {
            throw Problem("\(absolute): \(error.message)")
        }
    }

    /// Decodes a configuration document; relative paths are resolved against `base`.
    public static func decode(_ data: Data, relativeTo base: String) throws(Problem) -> NodeConfiguration {
        let document: JSONValue
        do {
            document = try JSONValue.parse(Array(data))
        } catch {
            throw Problem("not a JSON object: \(error)")
        }
        let known: Set<String> = [
            "nodeId", "region", "listen", "dataDirectory", "tls", "iam", "keyring", "eventLoops", "limits", "replication", "journal",
            "rotation",
        ]
        let root = try SettingsObject(document, prefix: "", known: known, notAnObject: "not a JSON object")
        func string(_ key: String, in object: SettingsObject, at prefix: String = "") throws(Problem) -> String {
            guard let value = object[key] else { throw Problem("'\(prefix)\(key)' is missing") }
            guard case .string(let text) = value, !text.isEmpty else { throw Problem("'\(prefix)\(key)' must be a non-empty string") }
            return text
        }
        func path(_ key: String, in object: SettingsObject, at prefix: String = "") throws(Problem) -> String {
            let raw = try string(key, in: object, at: prefix)
            return raw.hasPrefix("/") ? raw : Files.absolutePath(base + "/" + raw)
        }
        let nodeId = try nodeIdSetting("nodeId", in: root)
        let region = try regionSetting("region", in: root)
        let listenTexts: [String]
        switch root["listen"] {
        case .string(let one): listenTexts = [one]
        case .array(let many) where !many.isEmpty && many.allSatisfy({ $0.stringValue != nil }): listenTexts = many.compactMap(\.stringValue)
        case nil: throw Problem("'listen' is missing")
        default: throw Problem("'listen' must be \"host:port\" or a non-empty list of them")
        }
        var listen: [SocketAddress] = []
        for text in listenTexts {
            guard let address = SocketAddress(text) else {
                throw Problem("'listen' entry '\(text)' is not an IP address and port such as 127.0.0.1:7443 or [::1]:7443")
            }
            listen.append(address)
        }
        let tls = try SettingsObject(root["tls"] ?? .null, prefix: "tls.", known: nil,
                                     notAnObject: "'tls' must be an object with certificate, privateKey and ca")
        var configuration = NodeConfiguration(
            nodeId: nodeId, region: region, listen: listen,
            dataDirectory: try path("dataDirectory", in: root),
            certificateFile: try path("certificate", in: tls, at: "tls."),
            privateKeyFile: try path("privateKey", in: tls, at: "tls."),
            caFile: try path("ca", in: tls, at: "tls."),
            iamFile: try path("iam", in: root),
            keyringFile: try path("keyring", in: root))
        if let loops = root["eventLoops"] {
            // A whole number however it is spelled (`2`, `2.0`, `2e0`), as Foundation's
            // `as? Int` took it; never `true`.
            guard let n = loops.exactIntegerValue, (1...64).contains(n) else { throw Problem("'eventLoops' must be a whole number from 1 to 64") }
            configuration.eventLoops = n
        }
        if let limits = root["limits"] {
            let object = try SettingsObject(limits, prefix: "limits.", known: nil, notAnObject: "'limits' must be an object")
            configuration.limits = try ServerLimits.decode(numbers(of: object))
        }
        if let replication = root["replication"] {
            configuration.replication = try ReplicationSettings.decode(replication, nodeId: nodeId, region: region, apiListen: listen)
        }
        if let journal = root["journal"] {
            let object = try SettingsObject(journal, prefix: "journal.", known: nil, notAnObject: "'journal' must be an object")
            configuration.journal = try JournalSettings.decode(numbers(of: object))
        }
        if let rotation = root["rotation"] {
            configuration.rotation = try RotationSettings.decode(rotation, base: base)
        }
        return configuration
    }

    /// Each member's number, nil for a value that is not one (`true`, `"10"`, null): the
    /// numeric sections' input. A number beyond `Double`'s range is ±infinity, which every
    /// range refuses.
    static func numbers(of object: SettingsObject) -> [String: Double?] {
        var numbers: [String: Double?] = [:]
        for name in object.names { numbers[name] = .some(object[name]?.doubleValue) }
        return numbers
    }

    /// Whether `nodeId` is a valid node id: letters, digits, '-', '_' and '.', 1 to 64 of them.
    public static func isValidNodeId(_ nodeId: String) -> Bool {
        !nodeId.isEmpty && nodeId.count <= 64
            && nodeId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
    }

    /// Whether `region` looks like an AWS region name such as us-east-1.
    public static func isValidRegion(_ region: String) -> Bool {
        region.range(of: #"^[a-z]{2}(-[a-z]+)+-[0-9]+$"#, options: .regularExpression) != nil
    }

    /// A node id setting (`nodeId`, `replication.peers[0].nodeId`), checked as `isValidNodeId`.
    static func nodeIdSetting(_ key: String, in object: SettingsObject, at prefix: String = "") throws(Problem) -> String {
        guard let value = object[key] else { throw Problem("'\(prefix)\(key)' is missing") }
        guard case .string(let nodeId) = value, isValidNodeId(nodeId) else {
            throw Problem("'\(prefix)\(key)' may hold only letters, digits, '-', '_' and '.' (1 to 64)")
        }
        return nodeId
    }

    /// A region setting (`region`, `replication.peers[0].region`), checked as `isValidRegion`.
    static func regionSetting(_ key: String, in object: SettingsObject, at prefix: String = "") throws(Problem) -> String {
        guard let value = object[key] else { throw Problem("'\(prefix)\(key)' is missing") }
        guard case .string(let region) = value, isValidRegion(region) else {
            throw Problem("'\(prefix)\(key)' must look like an AWS region name such as us-east-1, got '\(value.stringValue ?? value.serialized())'")
        }
        return region
    }

    /// The configuration as a JSON document (paths as given), indented, members sorted by name
    /// at every depth (the order of the files earlier versions wrote).
    public func encoded() -> Data {
        var members: [(key: String, value: JSONValue)] = [
            ("nodeId", .string(nodeId)), ("region", .string(region)), ("listen", .strings(listen.map(\.description))),
            ("dataDirectory", .string(dataDirectory)),
            ("tls", ["certificate": .string(certificateFile), "privateKey": .string(privateKeyFile), "ca": .string(caFile)]),
            ("iam", .string(iamFile)), ("keyring", .string(keyringFile)), ("eventLoops", .integer(eventLoops)),
            ("limits", limits.encoded()),
        ]
        if let replication { members.append(("replication", replication.encoded())) }
        if journal != JournalOptions() { members.append(("journal", JournalSettings.encoded(journal))) }
        if rotation != RotationSettings() { members.append(("rotation", rotation.encoded())) }
        return Data(JSONValue.object(members).sortingMembers().formattedBytes())
    }
}

/// The server's hard limits. Each has a name and a default; none is unbounded.
public struct ServerLimits: Sendable, Equatable {
    /// Open client connections per node; more are closed at accept.
    public var maxConnections = 4096
    /// Request line plus headers; more is answered 431.
    public var maxHeaderBytes = 16 * 1024
    /// Request body; more is answered 413.
    public var maxBodyBytes = 1024 * 1024
    /// From accept to a finished TLS handshake.
    public var handshakeTimeout: Double = 10
    /// From a request's first byte to the end of its headers (the slowloris guard).
    public var headerTimeout: Double = 10
    /// From a request's first byte to the end of its body.
    public var requestTimeout: Double = 30
    /// A keep-alive connection with no request in progress is closed after this long.
    public var idleTimeout: Double = 60
    /// A connection that has sent not one byte is closed after this long (a TLS client sends
    /// its ClientHello at once; an idle TCP connection only holds a slot).
    public var silentTimeout: Double = 3
    /// Connections that have not finished their TLS handshake, in all; past it a new one takes
    /// the place of the oldest (silent ones first).
    public var maxUnfinishedConnections = 1024
    /// Connections from one source address that have not finished their handshake; past it
    /// a new one from that address takes the place of that address's oldest.
    public var maxUnfinishedPerAddress = 256
    /// The operational log's file (standard error, when it is a regular file) is rotated past
    /// this size, one previous file kept: at most about twice this on disk.
    public var logMaxBytes = Logger.defaultMaxBytes
    /// Unwrapped data keys kept in locked memory so that reading a version again skips the
    /// keyring's unwrap (`DataKeyCache`); 0 turns the cache off.
    public var dataKeyCacheKeys = 4096
    /// A cached data key older than this is wiped and unwrapped again on its next read (and wiped
    /// by the node's minute sweep if it is not read).
    public var dataKeyCacheSeconds: Double = 300

    public init() {}

    // Safety: an immutable table of key paths, never mutated after initialisation.
    nonisolated(unsafe) static let fields: [(String, WritableKeyPath<ServerLimits, Int>?, WritableKeyPath<ServerLimits, Double>?, ClosedRange<Double>)] = [
        ("maxConnections", \.maxConnections, nil, 1...1_000_000),
        ("maxHeaderBytes", \.maxHeaderBytes, nil, 1024...1_048_576),
        ("maxBodyBytes", \.maxBodyBytes, nil, 1024...67_108_864),
        ("handshakeTimeoutSeconds", nil, \.handshakeTimeout, 0.1...3600),
        ("headerTimeoutSeconds", nil, \.headerTimeout, 0.1...3600),
        ("requestTimeoutSeconds", nil, \.requestTimeout, 0.1...3600),
        ("idleTimeoutSeconds", nil, \.idleTimeout, 0.1...86400),
        ("silentTimeoutSeconds", nil, \.silentTimeout, 0.1...3600),
        ("maxUnfinishedConnections", \.maxUnfinishedConnections, nil, 1...1_000_000),
        ("maxUnfinishedPerAddress", \.maxUnfinishedPerAddress, nil, 1...1_000_000),
        ("logMaxBytes", \.logMaxBytes, nil, 4096...68_719_476_736),
        ("dataKeyCacheKeys", \.dataKeyCacheKeys, nil, 0...1_048_576),
        ("dataKeyCacheSeconds", nil, \.dataKeyCacheSeconds, 1...86400),
    ]

    /// The limits `settings` gives, the others at their defaults.
    /// - Parameter settings: each limit given, by name, with its value as a number, or nil when
    ///   the value is not a number (a boolean is not one).
    static func decode(_ settings: [String: Double?]) throws(NodeConfiguration.Problem) -> ServerLimits {
        var limits = ServerLimits()
        let names = Set(fields.map(\.0))
        if let unknown = settings.keys.sorted().first(where: { !names.contains($0) }) {
            throw NodeConfiguration.Problem("unknown setting 'limits.\(unknown)'")
        }
        for (name, intPath, doublePath, range) in fields {
            guard let given = settings[name] else { continue }
            guard let number = given, range.contains(number) else {
                throw NodeConfiguration.Problem("'limits.\(name)' must be a number from \(range.lowerBound) to \(range.upperBound)")
            }
            if let intPath {
                guard number.rounded() == number else {
                    throw NodeConfiguration.Problem("'limits.\(name)' must be a whole number")
                }
                limits[keyPath: intPath] = Int(number)
            }
            if let doublePath { limits[keyPath: doublePath] = number }
        }
        return limits
    }

    /// The `limits` section, every limit written.
    func encoded() -> JSONValue {
        var out: [(key: String, value: JSONValue)] = []
        for (name, intPath, doublePath, _) in Self.fields {
            if let intPath { out.append((name, .integer(self[keyPath: intPath]))) }
            if let doublePath { out.append((name, .double(self[keyPath: doublePath]))) }
        }
        return .object(out)
    }
}

/// The `journal` settings: the region log's segment size and snapshot thresholds. The rest of
/// `JournalOptions` (queue and batch limits) keeps its defaults.
package enum JournalSettings {
    // Safety: an immutable table of key paths, never mutated after initialisation.
    package nonisolated(unsafe) static let fields: [(String, WritableKeyPath<JournalOptions, Int>, ClosedRange<Int>)] = [
        ("segmentBytes", \.segmentBytes, 4096...(1 << 30)),
        ("snapshotEveryRecords", \.snapshotEveryRecords, 1...1_000_000_000),
        ("snapshotEveryBytes", \.snapshotEveryBytes, 4096...(1 << 40)),
    ]

    /// The options `settings` gives, the others at their defaults.
    /// - Parameter settings: each setting given, by name, with its value as a number, or nil
    ///   when the value is not a number.
    package static func decode(_ settings: [String: Double?]) throws(NodeConfiguration.Problem) -> JournalOptions {
        var options = JournalOptions()
        let names = Set(fields.map(\.0))
        if let unknown = settings.keys.sorted().first(where: { !names.contains($0) }) {
            throw NodeConfiguration.Problem("unknown setting 'journal.\(unknown)'")
        }
        for (name, path, range) in fields {
            guard let given = settings[name] else { continue }
            guard let number = given, number.rounded() == number,
                  Double(range.lowerBound) <= number, number <= Double(range.upperBound) else {
                throw NodeConfiguration.Problem("'journal.\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            options[keyPath: path] = Int(number)
        }
        return options
    }

    /// The `journal` section, every setting written.
    static func encoded(_ options: JournalOptions) -> JSONValue {
        .object(fields.map { (key: $0.0, value: .integer(options[keyPath: $0.1])) })
    }
}
