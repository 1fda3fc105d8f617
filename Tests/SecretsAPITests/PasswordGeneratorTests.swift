import Cryptography
import Foundation
import Testing
@testable import SecretsAPI
import AWSProtocol

@Suite struct PasswordGeneratorTests {
    static let upper = Set(PasswordGenerator.uppercase)
    static let lower = Set(PasswordGenerator.lowercase)
    static let digits = Set(PasswordGenerator.digits)
    static let punctuation = Set(PasswordGenerator.punctuation)

    func make(_ configure: (inout PasswordGenerator) -> Void) -> PasswordGenerator {
        var g = PasswordGenerator()
        configure(&g)
        return g
    }

    @Test func punctuationIsAWSsSet() {
        #expect(String(PasswordGenerator.punctuation) == ##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##)
        #expect(PasswordGenerator.punctuation.count == 32)
    }

    @Test func defaultsAre32CharactersOfEveryClass() throws {
        let random = SeededRandomSource(seed: 1)
        for _ in 0..<200 {
            let password = try PasswordGenerator().generate(using: random)
            #expect(password.count == 32)
            #expect(password.contains(where: Self.upper.contains))
            #expect(password.contains(where: Self.lower.contains))
            #expect(password.contains(where: Self.digits.contains))
            #expect(password.contains(where: Self.punctuation.contains))
            #expect(!password.contains(" "))
        }
    }

    @Test(arguments: [1, 4, 5, 17, 128, 4096])
    func lengths(_ length: Int) throws {
        let g = make { $0.length = length; $0.requireEachIncludedType = length >= 4 }
        #expect(try g.generate(using: SeededRandomSource(seed: UInt64(length))).count == length)
    }

    @Test func classesCanBeSwitchedOff() throws {
        let random = SeededRandomSource(seed: 2)
        let g = make { $0.excludeUppercase = true; $0.excludePunctuation = true; $0.length = 64 }
        for _ in 0..<100 {
            let password = try g.generate(using: random)
            #expect(password.allSatisfy { Self.lower.contains($0) || Self.digits.contains($0) })
            #expect(password.contains(where: Self.lower.contains))
            #expect(password.contains(where: Self.digits.contains))
        }
    }

    @Test func onlyDigits() throws {
        let g = make { $0.excludeUppercase = true; $0.excludeLowercase = true; $0.excludePunctuation = true; $0.length = 12 }
        let password = try g.generate(using: SeededRandomSource(seed: 3))
        #expect(password.allSatisfy(Self.digits.contains))
    }

    @Test func excludedCharactersNeverAppear() throws {
        let excluded = #"aeiouAEIOU01'"\/`"#
        let g = make { $0.excludeCharacters = excluded; $0.length = 256 }
        let random = SeededRandomSource(seed: 4)
        for _ in 0..<50 {
            let password = try g.generate(using: random)
            #expect(!password.contains(where: { excluded.contains($0) }))
        }
    }

    @Test func spaceOnlyWithIncludeSpace() throws {
        let random = SeededRandomSource(seed: 5)
        var sawSpace = false
        for _ in 0..<100 {
            #expect(!(try PasswordGenerator().generate(using: random)).contains(" "))
            let withSpace = try make { $0.includeSpace = true; $0.length = 64 }.generate(using: random)
            sawSpace = sawSpace || withSpace.contains(" ")
        }
        #expect(sawSpace)
        // A space-only pool: the space is the one included type.
        let spaces = make {
            $0.includeSpace = true; $0.excludeUppercase = true; $0.excludeLowercase = true
            $0.excludeNumbers = true; $0.excludePunctuation = true; $0.length = 3
        }
        #expect(try spaces.generate(using: random) == "   ")
        // ExcludeCharacters takes the space back.
        let noSpace = make { $0.includeSpace = true; $0.excludeCharacters = " "; $0.length = 512 }
        #expect(!(try noSpace.generate(using: random)).contains(" "))
    }

    /// GetRandomPassword (API reference, RequireEachIncludedType): "Specifies whether to include
    /// at least one upper and lowercase letter, one number, and one punctuation." With
    /// IncludeSpace the space is an included type too: at least one, even at the shortest length.
    @Test func theSpaceIsRequiredWhenIncluded() throws {
        let random = SeededRandomSource(seed: 9)
        for _ in 0..<200 {
            let password = try make { $0.includeSpace = true; $0.length = 5 }.generate(using: random)
            #expect(password.contains(" ") && password.contains(where: \.isUppercase) && password.contains(where: \.isLowercase)
                    && password.contains(where: \.isNumber), "\(password)")
        }
        #expect(throws: AWSError(.invalidParameter, PasswordGenerator.tooShortMessage)) {
            try make { $0.includeSpace = true; $0.length = 4 }.generate(using: random)
        }
        // Without the requirement a short password may lack it.
        let free = try (0..<200).map { _ in try make { $0.includeSpace = true; $0.requireEachIncludedType = false; $0.length = 2 }.generate(using: random) }
        #expect(free.contains { !$0.contains(" ") })
    }

    @Test func withoutRequireEachIncludedTypeAClassMayBeMissing() throws {
        let g = make { $0.requireEachIncludedType = false; $0.length = 1 }
        let random = SeededRandomSource(seed: 6)
        let drawn = try (0..<500).map { _ in try g.generate(using: random) }
        #expect(Set(drawn).count > 80)
    }

    @Test func shortestPasswordStillHasEveryClass() throws {
        let random = SeededRandomSource(seed: 7)
        for _ in 0..<200 {
            let password = try make { $0.length = 4 }.generate(using: random)
            let classes = [Self.upper, Self.lower, Self.digits, Self.punctuation]
            #expect(classes.allSatisfy { set in password.contains(where: set.contains) })
        }
    }

    @Test func tinyClassesFallBackToPlacement() throws {
        // One digit, one punctuation character, one upper-case letter left: rejection rarely
        // succeeds at length 4, so the placement fallback must still deliver every class.
        let excluded = String(PasswordGenerator.digits.dropFirst()) + String(PasswordGenerator.punctuation.dropFirst())
            + String(PasswordGenerator.uppercase.dropFirst())
        let g = make { $0.excludeCharacters = excluded; $0.length = 4 }
        let random = SeededRandomSource(seed: 8)
        for _ in 0..<20 {
            let password = try g.generate(using: random)
            #expect(password.contains("0") && password.contains("!") && password.contains("A"))
            #expect(password.contains(where: Self.lower.contains))
        }
    }

    @Test func impossibleRequests() throws {
        let random = SeededRandomSource(seed: 9)
        let desired = AWSError(.invalidParameter, "All characters of the desired type have been excluded.")
        #expect(throws: desired) { try make { $0.excludeCharacters = "0123456789" }.generate(using: random) }
        let all = AWSError(.invalidParameter, "All characters have been excluded from selection.")
        #expect(throws: all) {
            try make { $0.excludeUppercase = true; $0.excludeLowercase = true; $0.excludeNumbers = true; $0.excludePunctuation = true }
                .generate(using: random)
        }
        #expect(throws: all) {
            try make {
                $0.requireEachIncludedType = false
                $0.excludeCharacters = String(PasswordGenerator.uppercase + PasswordGenerator.lowercase + PasswordGenerator.digits + PasswordGenerator.punctuation)
            }.generate(using: random)
        }
        let short = AWSError(.invalidParameter, "Password length is too short based on the required types.")
        #expect(throws: short) { try make { $0.length = 3 }.generate(using: random) }
        #expect(throws: short) { try make { $0.length = 1; $0.excludeNumbers = true }.generate(using: random) }
        // Two classes left, length two: possible.
        #expect(try make { $0.length = 2; $0.excludeNumbers = true; $0.excludePunctuation = true }.generate(using: random).count == 2)
    }

    @Test func randomSourceFailureIsAnInternalError() {
        #expect(throws: AWSError.internalFailure) { try PasswordGenerator().generate(using: FailingRandomSource()) }
    }

    /// Uniformity: with no class requirement every character of the 94-character pool is equally
    /// likely. Chi-square over 94_000 draws (df = 93): the 99.9th percentile is about 140.
    @Test func drawsAreUniform() throws {
        let g = make { $0.requireEachIncludedType = false; $0.length = 4096 }
        let random = SeededRandomSource(seed: 10)
        var counts: [Character: Int] = [:]
        var total = 0
        while total < 94_000 {
            for ch in try g.generate(using: random) { counts[ch, default: 0] += 1; total += 1 }
        }
        #expect(counts.count == 94)
        let expected = Double(total) / 94
        let chiSquare = counts.values.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        #expect(chiSquare < 140, "chi-square \(chiSquare)")
        // And with the requirement on, each position is still spread over the whole pool.
        var first: [Character: Int] = [:]
        for _ in 0..<9400 { first[try PasswordGenerator().generate(using: random).first!, default: 0] += 1 }
        let chiFirst = first.values.reduce(0.0) { $0 + pow(Double($1) - 100, 2) / 100 }
        #expect(first.count == 94)
        #expect(chiFirst < 140, "chi-square \(chiFirst)")
    }
}
