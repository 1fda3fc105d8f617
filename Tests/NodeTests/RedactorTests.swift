import Testing
@testable import Node

/// What a rotation function prints reaches the node's log without the secret's values.
@Suite struct RedactorTests {
    @Test func valuesAndTheirJSONMembersAreReplaced() {
        let value = #"{"username":"app","password":"s3cr3t-P@ss","host":"127.0.0.1"}"#
        let redactor = Redactor(values: [value, "app", "s3cr3t-P@ss", "127.0.0.1"])
        #expect(redactor.redact("value: \(value)") == "value: [REDACTED]")
        #expect(redactor.redact("logging in with s3cr3t-P@ss to 127.0.0.1 as app") == "logging in with [REDACTED] to [REDACTED] as app")
        #expect(redactor.redact("nothing secret here") == "nothing secret here")
    }

    @Test func aValueInsideAnotherIsReplacedWhole() {
        let redactor = Redactor(values: ["abcdefgh", "abcdefgh-ijklmnop"])
        #expect(redactor.redact("x abcdefgh-ijklmnop y abcdefgh") == "x [REDACTED] y [REDACTED]")
    }

    @Test func repeatedOccurrencesAreAllReplaced() {
        let redactor = Redactor(values: ["hunter2hunter2"])
        #expect(!redactor.redact("hunter2hunter2 and hunter2hunter2").contains("hunter2hunter2"))
    }
}
