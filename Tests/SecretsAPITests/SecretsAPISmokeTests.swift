import Testing
@testable import SecretsAPI

@Suite struct SecretsAPISmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
