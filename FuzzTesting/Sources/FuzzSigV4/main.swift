import CFuzzerDriver
import Glibc
import SigV4

/// One input, a request to verify, and to sign and verify, to `SigV4Fuzz.run`, which traps on a finding; libFuzzer
/// then saves the input as `crash-*`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    SigV4Fuzz.run(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

// This file's top-level code is the program's main (see CFuzzerDriver.h): hand over to libFuzzer.
var arguments = CommandLine.argc
var values: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &values, fuzzOneInput))
