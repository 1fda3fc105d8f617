import ArgumentParsing
import Configuration
import Foundation
import Node
import Platform
import Provisioning

extension Strongroom {
    /// `strongroom dev`: make or reuse a single-node environment and serve it until a signal.
    struct Dev: StrongroomCommand {
        static let syntax = Strongroom.syntax(["dev"], [.value("--dir", "DIR"), .value("--port", "N"), .value("--region", "R")], """
            Make (first run) or reuse a complete single-node environment in DIR
            (default \(DevEnvironment.defaultDirectory)) and serve it on https://127.0.0.1:N
            (default \(DevEnvironment.defaultPort)), region R (default \(DevEnvironment.defaultRegion)).
            """)

        var directory: String
        var port: UInt16?
        var region: String?

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? DevEnvironment.defaultDirectory
            region = arguments.value("--region")
            if let text = arguments.value("--port") {
                guard let value = UInt16(text) else { throw UsageError("--port must be a number from 0 to 65535, got '\(text)'") }
                port = value
            }
        }

        func run(_ console: Console) -> Int32 {
            Signals.prepare()
            let configuration: NodeConfiguration
            let node: Node
            do {
                configuration = try DevEnvironment.prepare(directory: directory, port: port, region: region, now: Date())
                node = try Node(configuration: configuration)
            } catch let error as ProvisioningError {
                return console.fail(error.message)
            } catch let error as Node.StartupError {
                return console.fail(error.message)
            } catch {
                return console.fail("\(error)")
            }
            let boundPort = node.boundAddresses.first?.port ?? 0
            let endpointPath = Files.absolutePath(directory) + "/endpoint.json"
            let endpoint: Data
            do {
                endpoint = try DevEnvironment.endpointDocument(configuration: configuration, boundPort: boundPort)
            } catch {
                return console.fail(error.message)
            }
            do {
                try Files.writeAtomically(Array(endpoint), to: endpointPath, mode: 0o600)
            } catch {
                return console.fail("\(endpointPath): cannot write: \(error.message)")
            }
            console.say(DevEnvironment.banner(endpointJSON: endpoint, directory: Files.absolutePath(directory)))
            return Strongroom.serve(node, console)
        }
    }

    /// `strongroom serve`: run a node from its configuration file until a signal.
    struct Serve: StrongroomCommand {
        static let syntax = Strongroom.syntax(["serve"], [.value("--config", "FILE", required: true)], """
            Run a node from an explicit JSON configuration.
            """)

        var configurationFile: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            configurationFile = arguments.value("--config") ?? ""
        }

        func run(_ console: Console) -> Int32 {
            Signals.prepare()
            let node: Node
            do {
                node = try Node(configuration: try NodeConfiguration.load(path: configurationFile))
            } catch let error as NodeConfiguration.Problem {
                return console.fail(error.message)
            } catch let error as Node.StartupError {
                return console.fail(error.message)
            } catch {
                return console.fail("\(error)")
            }
            return Strongroom.serve(node, console)
        }
    }

    /// Starts `node` and serves until SIGTERM or SIGINT: 0 then, 2 when it cannot start. A
    /// node whose role changes (promoted, fenced, a new primary to follow) stops and is made
    /// again from the same configuration, in this process (same PID, same ports).
    static func serve(_ node: Node, _ console: Console) -> Int32 {
        var node = node
        while true {
            do {
                try node.start()
            } catch {
                return console.fail(error.message)
            }
            guard case .restart = node.runUntilSignalled() else { return succeeded }
            let configuration = node.configuration
            var made: Node?
            // The ports were just released; a few tries cover a listener still closing.
            for attempt in 0..<20 {
                do {
                    made = try Node(configuration: configuration)
                    break
                } catch {
                    if attempt == 19 { return console.fail("restarting in a new role: \(error.message)") }
                    OSThread.sleep(seconds: 0.05)
                }
            }
            guard let next = made else { return console.fail("restarting in a new role failed") }
            node = next
        }
    }
}
