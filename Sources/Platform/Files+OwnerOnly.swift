extension Files {
    /// The rule for files that hold secrets (TLS private keys, the keyring, the IAM file, the
    /// audit signing key): group and others have no access at all, so 0600 or 0400. Write
    /// access counts as much as read: whoever may write the file may replace the key in it.
    ///
    /// One rule and one wording for every such file, whether its mode was read from a path
    /// (``permissions(of:)``) or from an open descriptor.
    /// - Parameter mode: the file's mode; bits above the permission bits are ignored.
    /// - Returns: nil when `mode` keeps to the rule; otherwise what is wrong, as a phrase to
    ///   follow the file's name: `is readable by group or others (mode 0644); it must be 0600`.
    public static func ownerOnlyViolation(mode: UInt32) -> String? {
        let permissions = mode & 0o7777
        guard permissions & 0o077 != 0 else { return nil }
        let what = permissions & 0o044 != 0 ? "readable" : "accessible"
        return "is \(what) by group or others (mode 0\(String(permissions, radix: 8))); it must be 0600"
    }
}
