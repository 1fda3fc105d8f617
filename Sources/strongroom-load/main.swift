import Foundation
import LoadGenerator

// The benchmark's load generator; everything but the process exit lives in LoadGenerator.
exit(LoadCommand.run(Array(CommandLine.arguments.dropFirst())))
