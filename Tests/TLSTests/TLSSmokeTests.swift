import Testing
@testable import TLS

@Suite struct TLSSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
