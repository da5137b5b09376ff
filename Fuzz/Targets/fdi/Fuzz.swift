// SPDX-License-Identifier: Apache-2.0
import FuzzDriver

/// The fuzzer for `FuzzTarget.fdi`.
@main enum Fuzzer {
    static func main() { FuzzDriver.run(.fdi) }
}
