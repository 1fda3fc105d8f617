import Testing
import SecretStore

@Suite struct SecretStoreModuleTests {
    @Test func moduleIsPure() { #expect(String(describing: SecretStoreModule.self) == "SecretStoreModule") }
}
