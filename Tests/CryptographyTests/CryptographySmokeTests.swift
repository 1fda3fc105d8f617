import Testing
@testable import Cryptography

@Suite struct CryptographySmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
