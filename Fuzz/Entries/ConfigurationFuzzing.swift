// SPDX-License-Identifier: Apache-2.0
import DevsyncDaemon

/// `devsyncd.conf`: any bytes give a configuration or an error located inside the text, never a crash.
enum ConfigurationFuzzing {
    static func run(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            _ = try DaemonConfiguration.parse(text, file: "fuzz.conf")
        } catch {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            if let line = error.line, !(1...lines).contains(line) {
                return "an error at line \(line) of a text of \(lines) lines: \(error)"
            }
        }
        return nil
    }
}
