import Commands
import Foundation

// The `strongroom` command line; everything but the process exit lives in Commands.
exit(Strongroom.run(Array(CommandLine.arguments.dropFirst())))
