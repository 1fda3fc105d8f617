import Testing
import SecretStore
