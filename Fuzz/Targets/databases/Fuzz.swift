// SPDX-License-Identifier: Apache-2.0
import FuzzDriver

/// The fuzzer for `FuzzTarget.databases`.
@main enum Fuzzer {
    static func main() { FuzzDriver.run(.databases) }
}
