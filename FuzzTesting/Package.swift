// swift-tools-version: 6.2
import Foundation
import PackageDescription

// The libFuzzer drivers: one executable per parser that faces untrusted bytes, each calling
// the fuzz entry point its module exports. A package of its own (as swift-nio-http2's
// FuzzTesting/) so that the sanitizer flags apply to everything built here and to nothing in
// the main build. Build and run through scripts/fuzz, which passes `-sanitize=fuzzer,address`.

/// SwiftPM names a path dependency after its folder: the clone's name, whatever it is.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// Driver target, and the library product of the root package it fuzzes.
let drivers: [(target: String, product: String)] = [
    ("FuzzHTTP1", "HTTP1"),
    ("FuzzJSON", "JSON"),
    ("FuzzSigV4", "SigV4"),
    ("FuzzPolicy", "Policy"),
    ("FuzzReplication", "Replication"),
    ("FuzzJournal", "Journal"),
    ("FuzzAudit", "Audit"),
]

let package = Package(
    name: "FuzzTesting",
    products: drivers.map { .executable(name: $0.target, targets: [$0.target]) },
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzDriver", dependencies: ["CFuzzerDriver"], swiftSettings: [.swiftLanguageMode(.v6)]),
    ] + drivers.map { driver in
        .executableTarget(
            name: driver.target,
            dependencies: ["FuzzDriver", .product(name: driver.product, package: root)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    }
)
