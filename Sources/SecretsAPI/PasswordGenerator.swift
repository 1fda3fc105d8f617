public import Cryptography
public import AWSProtocol

/// `GetRandomPassword`'s generator: AWS's character classes and refusals, uniform draws.
public struct PasswordGenerator: Sendable {
    /// Secrets Manager's punctuation set (the model's `ExcludePunctuation` documentation).
    public static let punctuation = Array(##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##)
    public static let uppercase = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    public static let lowercase = Array("abcdefghijklmnopqrstuvwxyz")
    public static let digits = Array("0123456789")

    /// Default and bounds of `PasswordLength` (the model: `PasswordLengthType`, 1…4096).
    public static let defaultLength = 32
    public static let lengths = 1...4096

    /// How many whole-password draws to try before falling back to placing the required
    /// characters (see `generate`).
    static let rejectionAttempts = 1000

    public var length = PasswordGenerator.defaultLength
    public var excludeCharacters = ""
    public var excludeNumbers = false
    public var excludePunctuation = false
    public var excludeUppercase = false
    public var excludeLowercase = false
    public var includeSpace = false
    public var requireEachIncludedType = true

    public init() {}

    /// Secrets Manager's messages for requests no password can satisfy
    /// (InvalidParameterException; wording as measured against the service).
    public static let desiredTypeExcludedMessage = "All characters of the desired type have been excluded."
    public static let allExcludedMessage = "All characters have been excluded from selection."
    public static let tooShortMessage = "Password length is too short based on the required types."

    /// A password drawn from `random`.
    ///
    /// Every class not switched off (upper case, lower case, digits, punctuation) contributes its
    /// characters minus `excludeCharacters`; a space joins the pool with `includeSpace` and is
    /// then an included type like the others. With `requireEachIncludedType`, the password is drawn uniformly from the
    /// passwords that contain at least one character of each included class: whole passwords
    /// are drawn uniformly from the pool and rejected until one qualifies. If that takes more
    /// than `rejectionAttempts` draws (only for tiny classes in short passwords), one character
    /// of each class is placed at a random distinct position of the last draw instead.
    ///
    /// - Throws: `InvalidParameterException` for impossible requests, `InternalServiceError` when
    ///   the random source fails.
    public func generate(using random: some RandomSource) throws(AWSError) -> String {
        precondition(Self.lengths.contains(length), "length is validated against the model first")
        let excluded = Set(excludeCharacters)
        let switches: [(on: Bool, chars: [Character])] = [
            (!excludeUppercase, Self.uppercase), (!excludeLowercase, Self.lowercase),
            (!excludeNumbers, Self.digits), (!excludePunctuation, Self.punctuation),
        ]
        let classes = switches.filter(\.on).map { $0.chars.filter { !excluded.contains($0) } }
        var required: [[Character]] = []
        if requireEachIncludedType {
            for chars in classes {
                guard !chars.isEmpty else { throw AWSError(.invalidParameter, Self.desiredTypeExcludedMessage) }
                required.append(chars)
            }
        }
        var pool = classes.flatMap { $0 }
        if includeSpace && !excluded.contains(" ") {
            pool.append(" ")
            // The space is an included type too: required like the others (as AWS does).
            if requireEachIncludedType { required.append([" "]) }
        }
        guard !pool.isEmpty else { throw AWSError(.invalidParameter, Self.allExcludedMessage) }
        guard length >= required.count else { throw AWSError(.invalidParameter, Self.tooShortMessage) }

        do {
            var password: [Character] = []
            for _ in 0..<Self.rejectionAttempts {
                password = try draw(length, from: pool, using: random)
                if required.allSatisfy({ chars in password.contains(where: chars.contains) }) { return String(password) }
            }
            // Fallback: put one character of each required class at distinct random positions.
            var positions = Array(0..<length)
            for chars in required {
                let slot = Int(try Random.uniform(below: UInt32(positions.count), using: random))
                let position = positions.remove(at: slot)
                password[position] = chars[Int(try Random.uniform(below: UInt32(chars.count), using: random))]
            }
            return String(password)
        } catch {
            throw AWSError.internalFailure
        }
    }

    private func draw(_ count: Int, from pool: [Character], using random: some RandomSource) throws(CryptoError) -> [Character] {
        var out: [Character] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(pool[Int(try Random.uniform(below: UInt32(pool.count), using: random))]) }
        return out
    }
}
