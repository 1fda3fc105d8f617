import Testing
@testable import Node

/// What a rotation function prints reaches the node's log without the secret's values.
@Suite struct RedactorTests {
    @Test func valuesAndTheirJSONMembersAreReplaced() {
        let value = #"{"username":"app","password":"s3cr3t-P@ss","host":"127.0.0.1"}"#
        let redactor = Redactor(values: [value])
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

    @Test func multiLineValuesAndEscapedFormsAreReplaced() {
        let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"
        let password = #"p"ass\word-1234"#
        let redactor = Redactor(values: [pem, #"{"password":"p\"ass\\word-1234"}"#])
        let printed = "key:\n" + pem + "\nline two: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
        let out = redactor.redact(printed)
        #expect(!out.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "\(out)")
        // json.dumps of the member, and the member itself.
        #expect(!redactor.redact(#"{"password": "p\"ass\\word-1234"}"#).contains("word-1234"))
        #expect(!redactor.redact("raw: \(password)").contains("word-1234"))
    }

    @Test func shortWholeValuesAreStillReplaced() {
        let redactor = Redactor(values: ["abc"])
        #expect(redactor.redact("value abc") == "value [REDACTED]")
    }
}
