import Cryptography

/// Who sent a request, once SigV4 has checked it: the configured principal, the access key it
/// signed with, and the session it belongs to when the key is a session key.
public struct Caller: Sendable {
    public var principal: Principal
    public var accessKeyId: String
    /// The session's claims, for session credentials.
    public var session: SessionClaims?
    /// The organization of the principal's account.
    public var organizationId: String?

    public init(principal: Principal, accessKeyId: String, session: SessionClaims? = nil, organizationId: String? = nil) {
        self.principal = principal
        self.accessKeyId = accessKeyId
        self.session = session
        self.organizationId = organizationId
    }

    /// The ARN that names the caller in AccessDenied messages and audit records: the user's ARN,
    /// or for a role session `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, as STS names it.
    public var arn: String {
        if let session, principal.type == .role {
            return "arn:aws:sts::\(principal.accountId):assumed-role/\(principal.name)/\(session.sessionName)"
        }
        return principal.arn
    }

    /// `aws:userid`: the principal's unique id, and for a role session `ROLEID:SESSION`.
    public var userId: String {
        if let session, principal.type == .role { return "\(principal.uniqueId):\(session.sessionName)" }
        return principal.uniqueId
    }

    /// Principal tags with the session's tags laid over them (STS: session tags win).
    public var tags: [String: String] {
        guard let session else { return principal.tags }
        return principal.tags.merging(session.tags) { _, session in session }
    }
}

extension Principal {
    /// `uniqueId` of a principal with this ARN and kind.
    static func uniqueId(arn: String, type: Kind) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let digest = SHA256.hash(arn)
        var id = type == .user ? "AIDA" : "AROA"
        for byte in digest.prefix(17) { id.append(alphabet[Int(byte) % 32]) }
        return id
    }
}
