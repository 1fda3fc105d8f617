import Testing
@testable import Node

@Suite struct NodeSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
