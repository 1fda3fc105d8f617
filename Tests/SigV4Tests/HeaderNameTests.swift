import Testing
import AWSProtocol
import TestSupport
@testable import SigV4

/// Header names compared as HTTP compares them: ASCII letters case-insensitively, every other
/// byte exactly. The fast comparison on contiguous bytes must agree with the plain definition
/// on every input, random ones included.
@Suite struct HeaderNameTests {
    static func reference(_ a: String, _ b: String) -> Bool {
        let lower = { (s: String) in s.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 } }
        return lower(a) == lower(b)
    }

    @Test func knownPairs() {
        #expect(AWSRequest.sameName("X-Amz-Target", "x-amz-target"))
        #expect(AWSRequest.sameName("", ""))
        #expect(!AWSRequest.sameName("X-Amz-Target", "X-Amz-Targe"))
        // '@' (0x40) and '`' (0x60) differ only in the 0x20 bit but are not letters.
        #expect(!AWSRequest.sameName("a@", "a`"))
        #expect(!AWSRequest.sameName("[", "{"))
        #expect(AWSRequest.sameName("Ünïcode-Z", "Ünïcode-z"))
        #expect(!AWSRequest.sameName("ü", "Ü"))
    }

    @Test func agreesWithTheDefinitionOnRandomNames() {
        var random = SplitMix64(seed: 0x4EAD_E125)
        let alphabet = Array("aAzZ@`[{-_09 \u{e9}\u{c9}".unicodeScalars)
        for caseNumber in 0..<5_000 {
            let length = Int(random.next() % 6)
            var a = ""
            var b = ""
            for _ in 0..<length {
                let c = alphabet[Int(random.next() % UInt64(alphabet.count))]
                a.unicodeScalars.append(c)
                // Often the same letter in the other case, sometimes another character.
                let roll = random.next() % 4
                let d: Unicode.Scalar = roll == 0 ? alphabet[Int(random.next() % UInt64(alphabet.count))]
                    : Character(c).isASCII && Character(c).isLetter ? (random.next() % 2 == 0 ? Unicode.Scalar(UInt8(c.value) ^ 0x20) : c) : c
                b.unicodeScalars.append(d)
            }
            #expect(AWSRequest.sameName(a, b) == Self.reference(a, b), "case \(caseNumber): \(a.debugDescription) vs \(b.debugDescription)")
        }
    }
}

/// The query is split on its bytes, as AWS splits it: an `&` or `=` followed by a combining
/// mark (one grapheme with it in a Swift `String`) still separates (the SigV4 fuzzer's finding,
/// Regressions/ampersand-before-combining-mark.txt).
@Suite struct QuerySplittingTests {
    @Test func ampersandAndEqualsBeforeACombiningMarkStillSplit() {
        let mark = "\u{0487}"
        #expect(SigV4.canonicalQueryString("b=1&\(mark)") == SigV4.canonicalQueryString("\(mark)&b=1"))
        #expect(SigV4.canonicalQueryString("a=\(mark)x") == "a=%D2%87x")
        let parameters = SigV4.queryParameters("a=\(mark)&b&&c=")
        #expect(parameters.map { String($0.name) } == ["a", "b", "c"])
        #expect(parameters.map { $0.value.map(String.init) } == [mark, nil, ""])
        #expect(SigV4.queryParameters("a&&b", omittingEmpty: false).count == 3)
        // The path's segments too.
        #expect(SigV4.canonicalURI("/x/\(mark)") == "/x/%D2%87")
    }
}
