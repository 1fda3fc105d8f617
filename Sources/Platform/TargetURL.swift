/// Where requests go: `http://HOST:PORT[/path]` or `https://HOST:PORT[/path]`, HOST an IP literal
/// or `localhost` (the load generator and `strongroom status` only target this machine, so there
/// is no DNS).
public struct TargetURL: Sendable, Equatable {
    /// TLS (https) or plain TCP (http).
    public var isTLS: Bool
    /// The address connected to.
    public var address: SocketAddress
    /// The Host header: the authority exactly as written in the URL (SigV4 signs it).
    public var authority: String
    /// The name the server certificate must carry: the IP literal or `localhost`.
    public var host: String
    /// The URL's path, "/" when it has none.
    public var path: String

    /// Parses a URL; nil for anything but the forms above.
    public init?(_ text: String) {
        let rest: Substring
        if text.hasPrefix("https://") {
            isTLS = true
            rest = text.dropFirst(8)
        } else if text.hasPrefix("http://") {
            isTLS = false
            rest = text.dropFirst(7)
        } else {
            return nil
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@"), !path.contains("#") else { return nil }
        var hostPart = authority
        var port: UInt16 = isTLS ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = UInt16(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            hostPart = String(authority[..<colon])
            port = p
        }
        host = hostPart
        let numeric = hostPart == "localhost" ? "127.0.0.1" : hostPart
        guard port != 0, let address = SocketAddress(host: numeric, port: port) else { return nil }
        self.address = address
        self.authority = authority
    }
}
