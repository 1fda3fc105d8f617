/// A compiled IAM glob: literal bytes, `?` (exactly one character) and `*` (any run of
/// characters, including none), matched over the whole subject.
///
/// Patterns are compiled once into `codes` (0…255 a literal UTF-8 byte, `anyOne`, `anyRun`) and
/// matched with the classic greedy algorithm that remembers the last `*` and backtracks to it:
/// linear in the usual case, O(pattern × subject) at worst, no regular expressions and no
/// allocation. `?` consumes one whole Unicode scalar, so it never splits a multi-byte character.
struct Wildcard: Sendable, Equatable {
    static let anyOne: Int16 = -1
    static let anyRun: Int16 = -2

    /// The compiled pattern. When `foldsCase` is set the literal bytes are lowercase ASCII.
    let codes: [Int16]
    /// ASCII case-insensitive matching (actions). Resources and `StringLike` are case-sensitive.
    let foldsCase: Bool
    /// The pattern is one or more `*` only: it matches everything without looking.
    let matchesEverything: Bool
    /// The pattern has no wildcard at all: a plain comparison decides.
    let isLiteral: Bool

    init(codes: [Int16], foldsCase: Bool) {
        self.codes = foldsCase ? codes.map { Wildcard.lowercase($0) } : codes
        self.foldsCase = foldsCase
        self.matchesEverything = !codes.isEmpty && codes.allSatisfy { $0 == Wildcard.anyRun }
        self.isLiteral = codes.allSatisfy { $0 >= 0 }
    }

    /// Compiles `text`, reading `*` and `?` as wildcards.
    init(_ text: String, foldsCase: Bool = false) {
        self.init(codes: Wildcard.codes(forGlob: text), foldsCase: foldsCase)
    }

    /// The codes of `text` read as a glob.
    static func codes(forGlob text: String) -> [Int16] {
        text.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "*"): return anyRun
            case UInt8(ascii: "?"): return anyOne
            default: return Int16(byte)
            }
        }
    }

    /// The codes of `text` taken literally (`*` and `?` are plain characters).
    static func codes(forLiteral text: String) -> [Int16] {
        text.utf8.map { Int16($0) }
    }

    /// Whether the whole of `subject` matches the pattern.
    func matches(_ subject: String) -> Bool {
        if matchesEverything { return true }
        var subject = subject
        return subject.withUTF8 { bytes in
            codes.withUnsafeBufferPointer { Wildcard.match($0, bytes, foldsCase: foldsCase) }
        }
    }

    /// Whether the whole of `subject` (UTF-8) matches the pattern.
    func matches(bytes subject: UnsafeBufferPointer<UInt8>) -> Bool {
        if matchesEverything { return true }
        return codes.withUnsafeBufferPointer { Wildcard.match($0, subject, foldsCase: foldsCase) }
    }

    /// The matcher proper. `pattern` and `subject` are matched in full.
    static func match(_ pattern: UnsafeBufferPointer<Int16>, _ subject: UnsafeBufferPointer<UInt8>,
                      foldsCase: Bool) -> Bool {
        let m = pattern.count
        let n = subject.count
        var p = 0
        var s = 0
        var starPattern = -1
        var starSubject = 0
        while s < n {
            if p < m {
                let code = pattern[p]
                if code == anyRun {
                    starPattern = p
                    starSubject = s
                    p += 1
                    continue
                }
                if code == anyOne {
                    s = min(n, s + scalarLength(leadingByte: subject[s]))
                    p += 1
                    continue
                }
                let byte = foldsCase ? asciiLowercase(subject[s]) : subject[s]
                if Int16(byte) == code {
                    p += 1
                    s += 1
                    continue
                }
            }
            guard starPattern >= 0 else { return false }
            // Let the last `*` swallow one more character and retry what follows it.
            starSubject = min(n, starSubject + scalarLength(leadingByte: subject[starSubject]))
            s = starSubject
            p = starPattern + 1
        }
        while p < m, pattern[p] == anyRun { p += 1 }
        return p == m
    }

    /// The length of the UTF-8 sequence a leading byte starts (1 for a stray continuation byte,
    /// which valid Swift strings never contain).
    @inline(__always)
    static func scalarLength(leadingByte byte: UInt8) -> Int {
        switch byte {
        case 0xF0...: return 4
        case 0xE0...: return 3
        case 0xC0...: return 2
        default: return 1
        }
    }

    @inline(__always)
    static func asciiLowercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    static func lowercase(_ code: Int16) -> Int16 {
        code >= 0 ? Int16(asciiLowercase(UInt8(code))) : code
    }
}

/// Case-insensitive comparison of condition key names and other identifiers, without allocating
/// for ASCII text (the usual case); other text falls back to Unicode lowercasing.
func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
    var a = a
    var b = b
    let asciiResult: Bool? = a.withUTF8 { x in
        b.withUTF8 { y -> Bool? in
            guard x.count == y.count else {
                return x.allSatisfy({ $0 < 0x80 }) && y.allSatisfy({ $0 < 0x80 }) ? false : nil
            }
            for i in 0..<x.count {
                let l = x[i]
                let r = y[i]
                if l >= 0x80 || r >= 0x80 { return nil }
                if Wildcard.asciiLowercase(l) != Wildcard.asciiLowercase(r) { return false }
            }
            return true
        }
    }
    if let asciiResult { return asciiResult }
    return a.lowercased() == b.lowercased()
}
