import Testing
@testable import Journal

@Suite struct JournalSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
