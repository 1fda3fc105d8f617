import ArgumentParsing
import Configuration
import Front
import Logging
import Platform

extension Strongroom {
    /// `strongroom front`: the front proxy, routing each request to its region's node, until a signal.
    struct Front: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["front"],
            [
                .value("--listen", "HOST:PORT", required: true), .value("--certificate", "FILE", required: true),
                .value("--private-key", "FILE", required: true), .value("--ca", "FILE", required: true),
                .repeatable("--route", "REGION=HOST:PORT", required: true), .value("--max-connections", "N"),
                .repeatable("--limit", "NAME=VALUE"),
            ], """
            Run the front proxy: HTTPS on HOST:PORT with the given certificate and key; each
            request goes, bytes unchanged, to the node of the region its SigV4 credential scope
            names (over HTTPS, trusting only the CA in --ca), and the node's answer comes back.
            A request naming no known region is answered 400; an unreachable node, 503.
            --limit sets one of a node's "limits" (e.g. silentTimeoutSeconds=3,
            maxUnfinishedConnections=1024, maxUnfinishedPerAddress=256, logMaxBytes=67108864).
            Runs until SIGTERM or SIGINT.
            """)

        var configuration: FrontConfiguration

        init(_ arguments: ParsedArguments) throws(UsageError) {
            do {
                configuration = try FrontConfiguration.parse(
                    listen: arguments.value("--listen") ?? "", certificateFile: arguments.value("--certificate") ?? "",
                    privateKeyFile: arguments.value("--private-key") ?? "", caFile: arguments.value("--ca") ?? "",
                    routes: arguments.all("--route"), maxConnections: arguments.value("--max-connections"),
                    limits: arguments.all("--limit"))
            } catch {
                throw UsageError(error.message)
            }
        }

        func run(_ console: Console) -> Int32 {
            Signals.prepare()
            let front: FrontProxy
            do {
                front = try FrontProxy(configuration: configuration, log: Logger(label: "front", maxBytes: configuration.limits.logMaxBytes))
            } catch {
                return console.fail(error.message)
            }
            do {
                try front.start()
            } catch {
                return console.fail("cannot start the front: \(error)")
            }
            front.runUntilSignalled()
            return succeeded
        }
    }
}
