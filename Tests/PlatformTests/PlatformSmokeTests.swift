import Testing
@testable import Platform

@Suite struct PlatformSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
