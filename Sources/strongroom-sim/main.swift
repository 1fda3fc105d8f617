import Foundation
import Platform
import Simulation

// Swift seeds its hashing per process: without this, a seed would replay another trace.
ProcessImage.ensureEnvironment("SWIFT_DETERMINISTIC_HASHING", "1", arguments: CommandLine.arguments)
exit(SimulationCommand.run(Array(CommandLine.arguments.dropFirst())))
