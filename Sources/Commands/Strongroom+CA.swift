import ArgumentParsing
import Foundation
import Platform
import Provisioning

extension Strongroom {
    /// `strongroom ca init`: a cluster CA for nodes on their own hosts.
    struct CAInit: StrongroomCommand {
        static let syntax = Strongroom.syntax(["ca", "init"], [.value("--dir", "DIR", required: true), .value("--name", "NAME")], """
            Make a certificate authority for a cluster in DIR (made when missing): DIR/ca.key
            (0600: keep it off the nodes, on the machine that issues their certificates) and
            DIR/ca.pem (every node and client trusts it). NAME is its common name (default
            "Strongroom cluster CA"). An existing CA is never replaced.
            """)

        var directory: String
        var name: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ""
            name = arguments.value("--name") ?? "Strongroom cluster CA"
            guard !name.isEmpty else { throw UsageError("--name must not be empty") }
        }

        func run(_ console: Console) -> Int32 {
            let directory = Files.absolutePath(directory)
            do {
                try CertificateTools.initialize(directory: directory, commonName: name, now: Date())
                console.say("made the CA \(name): \(directory)/ca.pem (certificate), \(directory)/ca.key (private key, 0600)")
                return succeeded
            } catch {
                return console.fail(error.message)
            }
        }
    }

    /// `strongroom ca issue`: a node's certificate and key, for its host.
    struct CAIssue: StrongroomCommand {
        static let syntax = Strongroom.syntax(["ca", "issue"], [
            .value("--ca-dir", "DIR", required: true), .value("--node-id", "ID", required: true),
            .value("--region", "REGION", required: true), .repeatable("--host", "NAME|IP"), .value("--out", "DIR", required: true),
        ], """
            Issue node ID of REGION a certificate signed by the CA in DIR (`strongroom ca init`),
            valid for TLS server and client use, naming the node
            spiffe://strongroom/region/REGION/node/ID and, as subjectAltNames, every --host (a DNS
            name or an IP address, v4 or v6; give each name and address clients and peers use).
            Writes OUT/node.pem, OUT/node.key (0600) and OUT/ca.pem, the files a node's
            configuration names under "tls".
            """)

        var caDirectory: String
        var nodeId: String
        var region: String
        var hosts: [String]
        var output: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            caDirectory = arguments.value("--ca-dir") ?? ""
            nodeId = arguments.value("--node-id") ?? ""
            region = arguments.value("--region") ?? ""
            hosts = arguments.all("--host")
            output = arguments.value("--out") ?? ""
            guard !hosts.isEmpty else { throw UsageError("--host: give at least one host name or address the node is reached at") }
        }

        func run(_ console: Console) -> Int32 {
            let output = Files.absolutePath(output)
            do {
                try CertificateTools.issue(caDirectory: Files.absolutePath(caDirectory), nodeId: nodeId, region: region, hosts: hosts,
                                           outputDirectory: output, now: Date())
                console.say("issued \(nodeId) (\(region)) for \(hosts.joined(separator: ", ")): \(output)/node.pem, \(output)/node.key, \(output)/ca.pem")
                return succeeded
            } catch {
                return console.fail(error.message)
            }
        }
    }
}
