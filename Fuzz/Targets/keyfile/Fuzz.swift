// SPDX-License-Identifier: Apache-2.0
import CFuzzerDriver
import FuzzEntries

#if canImport(Glibc)
import Glibc
#endif

/// The fuzzer for `FuzzTarget.keyfile`. SwiftPM gives an executable's entry point a name of its own on Linux and links
/// `main` to it, so libFuzzer's own `main` cannot be used: this one hands libFuzzer the loop.
@main enum Fuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in
            // A broken invariant is a crash, which libFuzzer records with its input.
            if let broken = FuzzTarget.keyfile.run(Array(UnsafeBufferPointer(start: data, count: count))) {
                fatalError("FuzzTarget.keyfile: \(broken)")
            }
            return 0
        })
    }
}
