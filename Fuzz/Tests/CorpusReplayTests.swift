// SPDX-License-Identifier: Apache-2.0
import Foundation
import FuzzEntries
import Testing

/// Every seed and every input a fuzzer once crashed on (Fuzz/corpus/<target>/) through the same entry the
/// fuzzers call, without fuzzing: a fixed bug stays fixed, and the corpus stays readable by the current code.
@Suite struct CorpusReplayTests {
    static let corpus = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "corpus")

    static func inputs(of target: FuzzTarget) throws -> [URL] {
        let directory = corpus.appending(path: target.rawValue)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("every corpus file of a target holds its invariants", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let inputs = try Self.inputs(of: target)
        #expect(!inputs.isEmpty, "Fuzz/corpus/\(target.rawValue) has no seeds")
        for input in inputs {
            let bytes = try [UInt8](Data(contentsOf: input))
            let broken = target.run(bytes)
            #expect(broken == nil, "\(target.rawValue)/\(input.lastPathComponent): \(broken ?? "")")
        }
    }
}
