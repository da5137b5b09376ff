// SPDX-License-Identifier: Apache-2.0
import CFuzzerDriver
import FuzzEntries

#if canImport(Glibc)
import Glibc
#endif

/// The one libFuzzer loop every `fuzz-*` executable runs. SwiftPM gives an executable's entry point a name of its
/// own on Linux and links `main` to it, so libFuzzer's own `main` cannot be used: each fuzzer's `@main` calls
/// ``FuzzDriver/run(_:)``, which hands libFuzzer the loop.
package enum FuzzDriver {
    /// The target the callback feeds: libFuzzer takes a C function pointer, which cannot capture it. Set once,
    /// before the loop starts, on the one thread libFuzzer runs inputs on.
    nonisolated(unsafe) private static var target: FuzzTarget = .fdi

    /// Runs libFuzzer over `target` with the process's arguments, and exits with its status.
    package static func run(_ target: FuzzTarget) -> Never {
        Self.target = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in
            // A broken invariant is a crash, which libFuzzer records with its input.
            if let broken = FuzzDriver.target.run(Array(UnsafeBufferPointer(start: data, count: count))) {
                fatalError("FuzzTarget.\(FuzzDriver.target): \(broken)")
            }
            return 0
        })
    }
}
