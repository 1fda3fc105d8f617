// swift-tools-version: 6.2
import PackageDescription

/// One settings array for every Swift target: Swift 6 language mode (complete concurrency
/// checking), the upcoming features the style guide names, and warnings treated as errors.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "strongroom",
    products: [
        .executable(name: "strongroom", targets: ["strongroom"]),
        .executable(name: "strongroom-load", targets: ["strongroom-load"]),
        .executable(name: "strongroom-sim", targets: ["strongroom-sim"]),
        // The parsers that face untrusted bytes, as libraries for FuzzTesting/ (a package of
        // its own that links each into a libFuzzer driver); not for other packages.
        .library(name: "HTTP1", targets: ["HTTP1"]),
        .library(name: "JSON", targets: ["JSON"]),
        .library(name: "Policy", targets: ["Policy"]),
        .library(name: "SigV4", targets: ["SigV4"]),
        .library(name: "Journal", targets: ["Journal"]),
        .library(name: "Replication", targets: ["Replication"]),
        .library(name: "Audit", targets: ["Audit"]),
    ],
    targets: [
        // The C boundary: OpenSSL through pkg-config, macros through one audited shim target,
        // and the Linux syscalls Glibc's Swift module does not expose (epoll, eventfd, accept4).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"]),
        .target(name: "CSystemShims"),

        .target(name: "Platform", dependencies: ["CSystemShims"], swiftSettings: swiftSettings),
        .target(
            name: "Cryptography",
            dependencies: ["COpenSSL", "COpenSSLShims", "JSON"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TLS",
            dependencies: ["COpenSSL", "COpenSSLShims", "Cryptography", "Platform"],
            swiftSettings: swiftSettings
        ),
        // SplitMix64, the one seeded generator (fuzz entry points, randomized tests).
        .target(name: "SeededRandom", swiftSettings: swiftSettings),
        .target(name: "HTTP1", dependencies: ["SeededRandom"], swiftSettings: swiftSettings),
        // CRC32C, the checksum of every frame on disk and on the wire (pure; the CPU's CRC32
        // instruction through CSystemShims where it has one).
        .target(name: "Checksum", dependencies: ["CSystemShims"], swiftSettings: swiftSettings),
        .target(name: "Journal", dependencies: ["Platform", "Checksum"], swiftSettings: swiftSettings),
        // The replication wire protocol and its pure decisions (no I/O, no clocks).
        .target(name: "Replication", dependencies: ["Checksum"], swiftSettings: swiftSettings),
        .target(name: "SecretStore", swiftSettings: swiftSettings),
        // Rotation's pure decisions: one run's steps, retries and timeouts, and which rotations
        // are due (the node's rotation runner performs them).
        .target(name: "RotationEngine", dependencies: ["SecretStore"], swiftSettings: swiftSettings),
        // The replication links as pure state machines (source and replica side) and what they
        // ship: the transport and the simulator both run them.
        .target(name: "Failover", dependencies: ["Replication"], swiftSettings: swiftSettings),
        .target(name: "LogShipping", dependencies: ["Replication", "SecretStore", "SeededRandom", "Failover"], swiftSettings: swiftSettings),
        .target(name: "JSON", swiftSettings: swiftSettings),
        .target(name: "Policy", dependencies: ["JSON"], swiftSettings: swiftSettings),
        .target(name: "Audit", dependencies: ["JSON", "Cryptography", "Platform"], swiftSettings: swiftSettings),
        // AWS's wire vocabulary, pure: the request and response as the HTTP layer hands them over,
        // AWS errors in the JSON 1.1 error shape, SigV4's timestamps.
        .target(name: "AWSProtocol", dependencies: ["JSON", "HTTP1"], swiftSettings: swiftSettings),
        // AWS Signature Version 4: signing, verification, the region a request is scoped to.
        .target(name: "SigV4", dependencies: ["Cryptography", "AWSProtocol"], swiftSettings: swiftSettings),
        .target(
            name: "SecretsAPI",
            dependencies: ["Cryptography", "SecretStore", "JSON", "Policy", "AWSProtocol", "SigV4"],
            swiftSettings: swiftSettings
        ),
        // The runtime, bottom up (docs/ARCHITECTURE.md has the picture).
        // The operational log: summarized, rate-limited, rotated.
        .target(name: "Logging", dependencies: ["Platform"], swiftSettings: swiftSettings),
        // Which connection to give up for a new one (pure).
        .target(name: "Admission", swiftSettings: swiftSettings),
        // The node's configuration file, the front's settings, and node identities.
        .target(name: "Configuration", dependencies: ["Platform", "Journal", "TLS", "Logging", "JSON"], swiftSettings: swiftSettings),
        // TLS byte streams between processes with deadlines, mutual TLS, thread-per-connection
        // acceptance with admission, and one HTTP/1.1 response read over such a stream.
        .target(name: "Links", dependencies: ["Platform", "TLS", "HTTP1", "Logging", "Admission"], swiftSettings: swiftSettings),
        // The HTTPS server: epoll event loops, connections, deadlines, admission.
        .target(
            name: "HTTPServer",
            dependencies: ["Platform", "TLS", "HTTP1", "Logging", "Admission", "Configuration"],
            swiftSettings: swiftSettings
        ),
        // `strongroom front`: routes each request to its region's node by its SigV4 scope.
        .target(
            name: "Front",
            dependencies: ["Platform", "TLS", "HTTP1", "JSON", "AWSProtocol", "SigV4", "Logging", "Admission", "Configuration", "Links"],
            swiftSettings: swiftSettings
        ),
        // The secrets' storage on the region log, the purge of expired secrets, the audit sink.
        .target(
            name: "NodeStorage",
            dependencies: ["Platform", "Journal", "SecretStore", "SecretsAPI", "AWSProtocol", "Audit", "JSON", "Logging", "LogShipping", "Failover"],
            swiftSettings: swiftSettings
        ),
        // Log shipping between regions over mutual TLS: the source and replica services.
        .target(
            name: "ReplicationTransport",
            dependencies: ["Platform", "TLS", "Journal", "Replication", "SecretStore", "SecretsAPI", "AWSProtocol", "JSON", "Logging",
                           "Admission", "Configuration", "Links", "NodeStorage", "LogShipping", "Failover"],
            swiftSettings: swiftSettings
        ),
        // Making nodes' files: `strongroom dev`, `strongroom cluster init`, IAM tools.
        .target(
            name: "Provisioning",
            dependencies: ["Platform", "Cryptography", "TLS", "Configuration", "JSON"],
            swiftSettings: swiftSettings
        ),
        // A node: wires storage, the server, replication and the audit trail together; status.
        .target(
            name: "Node",
            dependencies: ["Platform", "Cryptography", "TLS", "HTTP1", "SecretsAPI", "AWSProtocol", "SigV4", "Journal", "JSON", "Audit", "Logging",
                           "Configuration", "HTTPServer", "NodeStorage", "ReplicationTransport", "Links", "Failover", "SecretStore",
                           "RotationEngine"],
            swiftSettings: swiftSettings
        ),
        // One command-line syntax for every command (pure): options, usage, help.
        .target(name: "ArgumentParsing", swiftSettings: swiftSettings),
        // Every `strongroom` command: its syntax, the reading of its options, and its run.
        .target(
            name: "Commands",
            dependencies: ["ArgumentParsing", "Node", "Platform", "Audit", "Front", "Provisioning", "Configuration", "Logging"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "strongroom", dependencies: ["Commands"], swiftSettings: swiftSettings),
        // The benchmark's load generator: closed-loop HTTP/1.1 (TLS, SigV4) with latency histograms.
        .target(
            name: "LoadGenerator",
            dependencies: ["ArgumentParsing", "Platform", "TLS", "Cryptography", "AWSProtocol", "SigV4", "JSON", "HTTP1"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "strongroom-load", dependencies: ["LoadGenerator"], swiftSettings: swiftSettings),
        // The deterministic simulator: regions of real pure code under seeded faults, with checkers.
        .target(
            name: "Simulation",
            dependencies: ["ArgumentParsing", "Failover", "Journal", "LogShipping", "Platform", "Replication", "SecretStore", "SeededRandom"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "strongroom-sim", dependencies: ["Simulation", "Platform"], swiftSettings: swiftSettings),
        // Test tooling, not shipped: a journal writer that crash tests kill -9.
        .executableTarget(name: "JournalHarness", dependencies: ["Journal", "Platform"], swiftSettings: swiftSettings),

        // Helpers shared by the test targets (seeded generators).
        .target(name: "TestSupport", dependencies: ["SeededRandom"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        // The request fixture the SigV4 and SecretsAPI tests share (botocore-shaped calls).
        .target(
            name: "AWSTestSupport", dependencies: ["AWSProtocol", "SigV4", "Cryptography"], path: "Tests/AWSTestSupport",
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "PlatformTests", dependencies: ["Platform"], swiftSettings: swiftSettings),
        .testTarget(name: "ChecksumTests", dependencies: ["Checksum", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CryptographyTests", dependencies: ["Cryptography", "JSON", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "Cryptography"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTP1Tests",
            dependencies: ["HTTP1", "TestSupport"],
            resources: [.copy("Regressions")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JournalTests",
            dependencies: ["Journal", "Checksum", "Platform", "TestSupport"],
            resources: [.copy("Regressions")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReplicationTests",
            dependencies: ["Replication", "Checksum", "Journal", "TestSupport"],
            resources: [.copy("Regressions")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LogShippingTests",
            dependencies: ["LogShipping", "Replication", "SecretStore", "TestSupport", "Failover"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "FailoverTests", dependencies: ["Failover", "Replication", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Failover", "LogShipping", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"], resources: [.copy("Regressions")], swiftSettings: swiftSettings),
        .testTarget(
            name: "PolicyTests",
            dependencies: ["Policy", "JSON", "TestSupport"],
            resources: [.copy("Regressions")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SecretStoreTests", dependencies: ["SecretStore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RotationEngineTests", dependencies: ["RotationEngine", "SecretStore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditTests",
            dependencies: ["Audit", "JSON", "Cryptography", "Platform", "TestSupport"],
            resources: [.copy("Regressions")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SigV4Tests",
            dependencies: ["SigV4", "AWSProtocol", "AWSTestSupport", "Cryptography", "TestSupport"],
            resources: [.copy("Regressions")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SecretsAPITests",
            dependencies: ["SecretsAPI", "AWSProtocol", "AWSTestSupport", "SigV4", "Cryptography", "SecretStore", "JSON", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: ["LoadGenerator", "ArgumentParsing", "Platform", "TLS", "Cryptography", "AWSProtocol", "SigV4", "HTTP1", "JSON", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ArgumentParsingTests", dependencies: ["ArgumentParsing"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CommandsTests",
            dependencies: ["Commands", "ArgumentParsing", "Configuration", "Platform"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NodeTests",
            dependencies: ["Node", "Platform", "TLS", "HTTP1", "SecretsAPI", "AWSProtocol", "SigV4", "Cryptography", "Journal", "SecretStore", "JSON", "TestSupport",
                           "Logging", "Admission", "Configuration", "Links", "HTTPServer", "Front", "NodeStorage",
                           "ReplicationTransport", "Provisioning", "Failover"],
            swiftSettings: swiftSettings
        ),
    ]
)
