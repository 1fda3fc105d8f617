/// A policy string that may contain `${…}` policy variables: a `Resource`/`NotResource` pattern
/// or a value of a `String…` or `Arn…` condition.
///
/// IAM's rules (IAM User Guide, "IAM policy elements: Variables and tags"):
/// - variables are substituted only under `"Version": "2012-10-17"`; otherwise the text is literal;
/// - `${key}` is replaced by the request's value of the condition key `key` (names are
///   case-insensitive); `${key, 'default'}` falls back to `default` when the key is absent;
/// - a key that is absent (or multivalued, which cannot be substituted) and has no default makes
///   the value unresolvable: it matches nothing;
/// - `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$`, never wildcards;
/// - substituted text is literal too: a tag value cannot smuggle a wildcard into a pattern.
///
/// Text that only looks like a variable (`${` without a closing `}`, an empty or malformed name)
/// is kept literally.
struct PolicyTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        /// Compiled match codes (see `Wildcard`).
        case codes([Int16])
        /// A variable to substitute, with its default text.
        case variable(ContextKey, defaultValue: String?)
    }

    /// The text as written in the policy.
    let text: String
    let parts: [Part]
    /// Whether `*` and `?` are wildcards (`Resource`, `StringLike`, `Arn…`) or literal
    /// (`StringEquals`, `StringEqualsIgnoreCase`).
    let wildcards: Bool
    /// Precompiled forms when there is no variable: the common case costs nothing per request.
    let constantGlob: Wildcard?
    let constantText: String?

    init(_ text: String, wildcards: Bool, variables: Bool) {
        self.text = text
        self.wildcards = wildcards
        let parts = variables ? PolicyTemplate.split(text, wildcards: wildcards) : [.codes(PolicyTemplate.codes(text, wildcards))]
        self.parts = parts
        if parts.count == 1, case .codes(let codes) = parts[0] {
            constantGlob = Wildcard(codes: codes, foldsCase: false)
            constantText = PolicyTemplate.literalText(codes)
        } else {
            constantGlob = nil
            constantText = nil
        }
    }

    /// Whether the template contains at least one real variable (not an escape).
    var hasVariables: Bool { constantGlob == nil }

    /// Whether the template has a `*` or `?` wildcard outside variables.
    var hasWildcards: Bool {
        parts.contains { part in
            if case .codes(let codes) = part { return codes.contains { $0 < 0 } }
            return false
        }
    }

    /// The compiled glob for `request`, or nil when a variable cannot be resolved.
    func glob(in request: RequestContext) -> Wildcard? {
        if let constantGlob { return constantGlob }
        var codes: [Int16] = []
        codes.reserveCapacity(text.utf8.count + 32)
        for part in parts {
            switch part {
            case .codes(let literal):
                codes.append(contentsOf: literal)
            case .variable(let key, let defaultValue):
                guard let value = PolicyTemplate.substitution(for: key, defaultValue: defaultValue, in: request) else {
                    return nil
                }
                codes.append(contentsOf: value.utf8.lazy.map { Int16($0) })
            }
        }
        return Wildcard(codes: codes, foldsCase: false)
    }

    /// The text for `request` with variables substituted (for templates without wildcards), or
    /// nil when a variable cannot be resolved.
    func resolvedText(in request: RequestContext) -> String? {
        if let constantText { return constantText }
        var out = ""
        for part in parts {
            switch part {
            case .codes(let literal):
                out += PolicyTemplate.literalText(literal) ?? ""
            case .variable(let key, let defaultValue):
                guard let value = PolicyTemplate.substitution(for: key, defaultValue: defaultValue, in: request) else {
                    return nil
                }
                out += value
            }
        }
        return out
    }

    /// Whether `subject` matches this template read as a glob.
    func matchesGlob(_ subject: String, in request: RequestContext) -> Bool {
        glob(in: request)?.matches(subject) ?? false
    }

    static func substitution(for key: ContextKey, defaultValue: String?, in request: RequestContext) -> String? {
        if case .single(let value)? = key.value(in: request) { return value }
        return defaultValue
    }

    // MARK: Compiling

    static func codes(_ text: String, _ wildcards: Bool) -> [Int16] {
        wildcards ? Wildcard.codes(forGlob: text) : Wildcard.codes(forLiteral: text)
    }

    /// Literal text of codes that hold no wildcard (always true for non-wildcard templates).
    static func literalText(_ codes: [Int16]) -> String? {
        guard codes.allSatisfy({ $0 >= 0 }) else { return nil }
        return String(decoding: codes.map { UInt8($0) }, as: UTF8.self)
    }

    /// Splits `text` into literal runs and variables.
    static func split(_ text: String, wildcards: Bool) -> [Part] {
        var parts: [Part] = []
        var pending: [Int16] = []
        let bytes = Array(text.utf8)
        var i = 0
        func flush() {
            if !pending.isEmpty { parts.append(.codes(pending)) }
            pending = []
        }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{"),
               let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}")) {
                let inner = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
                switch variable(inner) {
                case .literal(let character)?:
                    pending.append(Int16(character))
                    i = close + 1
                    continue
                case .variable(let key, let defaultValue)?:
                    flush()
                    parts.append(.variable(key, defaultValue: defaultValue))
                    i = close + 1
                    continue
                case nil:
                    break  // not a variable: keep the `$` literally and carry on
                }
            }
            let byte = bytes[i]
            if wildcards && byte == UInt8(ascii: "*") {
                pending.append(Wildcard.anyRun)
            } else if wildcards && byte == UInt8(ascii: "?") {
                pending.append(Wildcard.anyOne)
            } else {
                pending.append(Int16(byte))
            }
            i += 1
        }
        flush()
        return parts.isEmpty ? [.codes([])] : parts
    }

    enum Parsed {
        case literal(UInt8)
        case variable(ContextKey, defaultValue: String?)
    }

    /// Reads the inside of `${…}`: an escape, `key` or `key, 'default'` (whitespace around the
    /// name and the default is ignored; `''` inside the default is one quote).
    static func variable(_ inner: String) -> Parsed? {
        let trimmed = trim(Substring(inner))
        switch trimmed {
        case "*": return .literal(UInt8(ascii: "*"))
        case "?": return .literal(UInt8(ascii: "?"))
        case "$": return .literal(UInt8(ascii: "$"))
        default: break
        }
        var name = trimmed
        var defaultValue: String?
        if let comma = trimmed.firstIndex(of: ",") {
            name = trim(trimmed[..<comma])
            let rest = trim(trimmed[trimmed.index(after: comma)...])
            guard rest.count >= 2, rest.first == "'", rest.last == "'" else { return nil }
            let body = rest.dropFirst().dropLast()
            // A lone quote inside the default is malformed; a doubled one stands for one quote.
            let unescaped = body.replacing("''", with: "'")
            guard unescaped.filter({ $0 == "'" }).count == body.filter({ $0 == "'" }).count / 2 else { return nil }
            defaultValue = String(unescaped)
        }
        guard ContextKey.isValidName(name) else { return nil }
        return .variable(ContextKey(String(name)), defaultValue: defaultValue)
    }

    static func trim(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
