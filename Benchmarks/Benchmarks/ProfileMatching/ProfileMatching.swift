// SPDX-License-Identifier: Apache-2.0
import Benchmark
import DeviceRegistry
import Foundation
import Logging

import HeapStatistics

/// Bytes currently allocated from the C heap.
func heapBytesInUse() -> Int { Int(devsync_heap_bytes_in_use()) }

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )
    let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    // Load from disk (10 files of 1,000 rules), parse, and compile the index.
    let indexBytes = BenchmarkMetric.custom("compiled index bytes", useScalingFactor: false)
    Benchmark(
        "Load and compile 10,000 rules",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, indexBytes], maxIterations: 30)
    ) { benchmark, directory in
        for _ in benchmark.scaledIterations {
            let load = ProfileLoader(logger: logger).load(directories: [directory])
            precondition(load.errors.isEmpty && load.profiles.rules.count == 10_000)
            let before = heapBytesInUse()
            let matcher = CompiledMatcher(load.profiles)
            benchmark.measurement(indexBytes, heapBytesInUse() - before)
            blackHole(matcher)
        }
    } setup: {
        try RuleCorpus.directory(rules: 10_000)
    } teardown: {
        try? FileManager.default.removeItem(atPath: RuleCorpus.directoryPath(rules: 10_000))
    }

    // One device through N rules, compiled and sequential side by side. 1,000 matches per iteration so that a
    // microsecond-scale operation is timed well above the clock's resolution; figures are per match.
    for count in [100, 1_000, 10_000] {
        Benchmark(
            "Match one device, compiled, \(count) rules",
            configuration: .init(scalingFactor: .kilo)
        ) { benchmark, matcher in
            for _ in benchmark.scaledIterations { blackHole(matcher.match(RuleCorpus.device)) }
        } setup: {
            CompiledMatcher(RuleCorpus.profiles(rules: count))
        }

        Benchmark(
            "Match one device, sequential, \(count) rules",
            configuration: .init(scalingFactor: count >= 10_000 ? .one : .kilo)
        ) { benchmark, matcher in
            for _ in benchmark.scaledIterations { blackHole(matcher.match(RuleCorpus.device)) }
        } setup: {
            SequentialMatcher(RuleCorpus.profiles(rules: count))
        }
    }
}
