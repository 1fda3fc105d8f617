import Foundation
import Testing
import Platform
@testable import Configuration

/// The `rotation` section of a node's configuration: the function registry and its bounds.
@Suite struct RotationSettingsTests {
    func decode(_ rotation: String) throws(NodeConfiguration.Problem) -> RotationSettings {
        try NodeConfiguration.decode(ConfigurationDocumentTests.document(#", "rotation": "# + rotation), relativeTo: "/etc/strongroom").rotation
    }

    static let arn = "arn:aws:lambda:us-east-1:123456789012:function:pg-single"

    @Test func executablesAndWebhooksAreRegisteredByARN() throws {
        let settings = try decode(#"""
            {"functions": {"\#(Self.arn)": {"executable": "rotators/pg", "arguments": ["-v"], "environment": {"A": "1"}, "timeoutSeconds": 10},
                           "arn:aws:lambda:us-east-1:123456789012:function:hook": {"webhook": "https://127.0.0.1:8443/rotate", "ca": "hook.pem"}},
             "role": "arn:aws:iam::123456789012:role/rotator", "maxAttempts": 2, "retryDelaySeconds": 0.5, "checkIntervalSeconds": 1,
             "minimumScheduleIntervalSeconds": 60}
            """#)
        let function = try #require(settings.functions[Self.arn])
        #expect(function.target == .executable(path: "/etc/strongroom/rotators/pg", arguments: ["-v"]))
        #expect(function.environment == ["A": "1"] && function.timeoutSeconds == 10)
        guard case let .webhook(url, ca)? = settings.functions["arn:aws:lambda:us-east-1:123456789012:function:hook"]?.target else {
            Issue.record("the webhook is missing")
            return
        }
        #expect(url.path == "/rotate" && url.address.port == 8443 && ca == "/etc/strongroom/hook.pem")
        #expect(settings.role == "arn:aws:iam::123456789012:role/rotator" && settings.maxAttempts == 2)
        #expect(settings.minimumScheduleIntervalSeconds == 60)
        // Written and read back unchanged.
        var configuration = try NodeConfiguration.decode(ConfigurationDocumentTests.document(), relativeTo: "/etc/strongroom")
        configuration.rotation = settings
        #expect(try NodeConfiguration.decode(configuration.encoded(), relativeTo: "/").rotation == settings)
    }

    @Test func defaultsWithoutASection() throws {
        let configuration = try NodeConfiguration.decode(ConfigurationDocumentTests.document(), relativeTo: "/")
        #expect(configuration.rotation == RotationSettings())
        #expect(configuration.rotation.minimumScheduleIntervalSeconds == 14_400)
        #expect(!String(decoding: configuration.encoded(), as: UTF8.self).contains("rotation"))
    }

    @Test(arguments: [
        (#"[]"#, "'rotation' must be an object"),
        (#"{"functions": {"arn:aws:lambda:us-east-1:1:function:x": {}}}"#, "needs exactly one of 'executable'"),
        (#"{"functions": {"arn:aws:lambda:us-east-1:1:function:x": {"executable": "/a", "webhook": "https://127.0.0.1:1/"}}}"#, "needs exactly one of"),
        (#"{"functions": {"arn:aws:lambda:us-east-1:1:function:x": {"webhook": "http://127.0.0.1:1/"}}}"#, "must be an https:// URL"),
        (#"{"functions": {"arn:aws:sqs:us-east-1:1:function:x": {"executable": "/a"}}}"#, "is not a Lambda function ARN"),
        (#"{"functions": {"arn:aws:lambda:us-east-1:1:function:a b": {"executable": "/a"}}}"#, "is not a Lambda function ARN"),
        (#"{"functions": {"arn:aws:lambda:us-east-1:1:function:x": {"executable": "/a", "timeoutSeconds": 901}}}"#, "from 1 to 900"),
        (#"{"functions": {"arn:aws:lambda:us-east-1:1:function:x": {"executable": "/a", "surprise": 1}}}"#, "unknown setting"),
        (#"{"maxAttempts": 0}"#, "'rotation.maxAttempts' must be a number from 1"),
        (#"{"maxAttempts": 1.5}"#, "whole number"),
        (#"{"minimumScheduleIntervalSeconds": 10}"#, "from 60"),
        (#"{"role": ""}"#, "role name or a role ARN"),
        (#"{"sessionDurationSeconds": 60}"#, "from 900"),
    ])
    func malformedSectionsAreRefusedByName(rotation: String, message: String) {
        #expect(performing: { _ = try decode(rotation) }, throws: { ($0 as? NodeConfiguration.Problem)?.message.contains(message) == true })
    }

    @Test func functionARNs() {
        #expect(RotationSettings.isFunctionARN(Self.arn))
        #expect(RotationSettings.isFunctionARN(Self.arn + ":$LATEST"))
        #expect(RotationSettings.isFunctionARN(Self.arn + ":live"))
        #expect(!RotationSettings.isFunctionARN(Self.arn + ":"))
        #expect(!RotationSettings.isFunctionARN("arn:aws:lambda:us-east-1:123456789012:function:"))
        #expect(!RotationSettings.isFunctionARN("arn:aws:lambda:us-east-1:12345678901x:function:f"))
        #expect(!RotationSettings.isFunctionARN("arn:aws:lambda:US:123456789012:function:f"))
    }
}
