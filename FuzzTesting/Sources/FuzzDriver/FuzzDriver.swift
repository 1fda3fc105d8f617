import CFuzzerDriver
import Glibc

/// Starts libFuzzer for one fuzz target: every target's program is `FuzzDriver.run(XFuzz.run)`,
/// where `XFuzz.run` traps on a finding; libFuzzer then saves the input as `crash-*`.
///
/// SwiftPM links each executable's top-level code as `main`, which displaces the `main`
/// libFuzzer would provide (see CFuzzerDriver.h), so the program starts the driver itself.
public enum FuzzDriver {
    // Safety: set once by `run`, on the main thread, before libFuzzer starts; libFuzzer calls
    // the target back on that same thread only.
    nonisolated(unsafe) fileprivate static var entry: (([UInt8]) -> Void)?

    /// Runs libFuzzer with the program's arguments, feeding every input to `body`; exits with
    /// libFuzzer's status.
    public static func run(_ body: @escaping ([UInt8]) -> Void) -> Never {
        entry = body
        var arguments = CommandLine.argc
        var values: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&arguments, &values, fuzzOneInput))
    }
}

/// libFuzzer's entry point: one input to the target `FuzzDriver.run` was given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.entry?(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}
