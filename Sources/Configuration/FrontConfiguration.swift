public import Platform

/// How `strongroom front` runs: where it listens, its certificate, the CA the nodes' certificates
/// chain to, and which node serves each region.
public struct FrontConfiguration: Sendable {
    /// A command-line or configuration mistake, said in one line.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// The HTTPS address clients connect to.
    public var listen: SocketAddress
    /// The front's certificate chain (PEM) and private key (PEM, mode 0600), shown to clients.
    public var certificateFile: String
    public var privateKeyFile: String
    /// The CA the nodes' HTTPS certificates chain to (the front's only trust root).
    public var caFile: String
    /// Region name → the HTTPS address of that region's node (its first primary).
    public var routes: [String: SocketAddress]
    /// Region name → every node of that region in the order given (`--route` repeated for a
    /// region): the first is `routes[region]`; when it cannot be reached the next is tried (a
    /// standby forwards writes to its region's current primary).
    public var regionNodes: [String: [SocketAddress]] = [:]

    /// The nodes of `region` to try, in order.
    public func nodes(of region: String) -> [SocketAddress] {
        regionNodes[region] ?? routes[region].map { [$0] } ?? []
    }
    /// Client connections, header and body sizes, and client-side timeouts, as a node's. The
    /// default bound on connections is lower than a node's: each one is a thread here.
    public var limits: ServerLimits
    /// Opening a connection (TCP and TLS) to a node.
    public var connectTimeout: Double = 5
    /// From a request's last byte sent to a node to the end of the node's response.
    public var responseTimeout: Double = 60

    /// The default number of client connections (each has its own thread).
    public static let defaultMaxConnections = 512

    /// A configuration; `limits` defaults to a node's, with `defaultMaxConnections`.
    public init(listen: SocketAddress, certificateFile: String, privateKeyFile: String, caFile: String,
                routes: [String: SocketAddress], limits: ServerLimits? = nil) {
        self.listen = listen
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.caFile = caFile
        self.routes = routes
        self.limits = limits ?? {
            var limits = ServerLimits()
            limits.maxConnections = Self.defaultMaxConnections
            return limits
        }()
    }

    /// Reads the values of `strongroom front`'s options (the command line's syntax is the
    /// `Commands` module's): `routes` are the `--route REGION=HOST:PORT` values, `limits` the
    /// `--limit NAME=NUMBER` values, each in the order given.
    /// - Throws: `Problem` naming the first malformed value, or a region or limit given twice.
    public static func parse(
        listen listenText: String, certificateFile: String, privateKeyFile: String, caFile: String,
        routes routeTexts: [String], maxConnections: String?, limits limitTexts: [String]
    ) throws(Problem) -> FrontConfiguration {
        var limitSettings: [String: Double?] = [:]
        for value in limitTexts {
            guard let equals = value.firstIndex(of: "="), let number = Double(value[value.index(after: equals)...]) else {
                throw Problem("--limit takes NAME=NUMBER, got '\(value)'")
            }
            let name = String(value[..<equals])
            guard limitSettings[name] == nil else { throw Problem("--limit: \(name) is given twice") }
            limitSettings[name] = .some(number)
        }
        var routes: [String: SocketAddress] = [:]
        var regionNodes: [String: [SocketAddress]] = [:]
        for value in routeTexts {
            let (region, address) = try parseRoute(value)
            guard !(regionNodes[region] ?? []).contains(address) else { throw Problem("--route: \(region)=\(address) is given twice") }
            if routes[region] == nil { routes[region] = address }
            regionNodes[region, default: []].append(address)
        }
        guard let listen = SocketAddress(listenText) else {
            throw Problem("--listen: '\(listenText)' is not HOST:PORT with an IP address (or localhost)")
        }
        guard !routes.isEmpty else { throw Problem("front needs at least one --route REGION=HOST:PORT") }
        var configuration = FrontConfiguration(
            listen: listen, certificateFile: certificateFile, privateKeyFile: privateKeyFile, caFile: caFile, routes: routes
        )
        configuration.regionNodes = regionNodes
        if !limitSettings.isEmpty {
            if limitSettings["maxConnections"] == nil { limitSettings["maxConnections"] = .some(Double(Self.defaultMaxConnections)) }
            do {
                configuration.limits = try ServerLimits.decode(limitSettings)
            } catch {
                throw Problem("--limit: \(error.message)")
            }
        }
        if let text = maxConnections {
            guard let count = Int(text), (1...100_000).contains(count) else {
                throw Problem("--max-connections takes a whole number from 1 to 100000, got '\(text)'")
            }
            configuration.limits.maxConnections = count
        }
        return configuration
    }

    /// `REGION=HOST:PORT`.
    static func parseRoute(_ text: String) throws(Problem) -> (String, SocketAddress) {
        guard let equals = text.firstIndex(of: "=") else { throw Problem("--route takes REGION=HOST:PORT, got '\(text)'") }
        let region = String(text[..<equals])
        let addressText = String(text[text.index(after: equals)...])
        guard NodeIdentity.isValidComponent(region) else {
            throw Problem("--route: '\(region)' is not a region name (letters, digits, '-', '_', '.')")
        }
        guard let address = SocketAddress(addressText) else {
            throw Problem("--route: '\(addressText)' is not HOST:PORT with an IP address (or localhost)")
        }
        return (region, address)
    }
}
