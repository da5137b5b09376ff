// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import DeviceRegistry

/// Wraps `devices` (one or more `<device>` blocks) in a `<deviceinfo>` document and parses it.
func profileSet(_ devices: String, path: String = "test.fdi") throws -> ProfileSet {
    ProfileSet([try FDIParser.parse("<deviceinfo version=\"0.2\">\n\(devices)\n</deviceinfo>\n", path: path)])
}

/// Applies `devices` to `properties` with both matchers, checks they agree, and returns the outcome.
func apply(_ devices: String, to properties: DeviceProperties) throws -> MatchOutcome {
    let set = try profileSet(devices)
    let sequential = SequentialMatcher(set).match(properties)
    let compiled = CompiledMatcher(set).match(properties)
    #expect(sequential == compiled, "the compiled index disagrees with the sequential evaluator")
    return sequential
}

/// The error parsing `text` as `path` throws, if any.
func parseError(_ text: String, path: String = "bad.fdi") -> ProfileError? {
    do {
        _ = try FDIParser.parse(text, path: path)
        return nil
    } catch {
        return error
    }
}

/// A small, seedable generator (Steele, Lea and Flood's SplitMix64), so that a failing case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
