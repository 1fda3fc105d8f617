import Testing
@testable import HTTP1

@Suite struct HTTP1SmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
