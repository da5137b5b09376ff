// SPDX-License-Identifier: Apache-2.0
import DevsyncTestSupport
import Foundation
import Testing

/// Runs the built `devsyncctl` with `arguments` and `input` on its standard input.
private func devsyncctl(_ arguments: [String], input: String) async throws -> (status: Int32, output: String, error: String) {
    let executable = try binary()
    return try await onOwnThread {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let standardInput = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = standardInput
        process.standardOutput = output
        process.standardError = error
        try ChildProcess.run(process)
        standardInput.fileHandleForWriting.write(Data(input.utf8))
        try standardInput.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }
}

@Suite("devsyncctl profiles match --each-line")
struct EachLineTests {
    /// The `sync.plugin` of each JSON line of `output`, nil where none.
    func plugins(_ output: String) throws -> [String?] {
        try output.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let properties = try #require(object["properties"] as? [String: Any])
            return (properties["sync.plugin"] as? [String: Any])?["value"] as? String
        }
    }

    @Test("one device a line, tab-separated properties, one JSON line each, in order; an empty line is a device too")
    func devicesInOrder() async throws {
        let input = "info.subsystem=usb\tusb.vendor_id=0x0830\tusb.product_id=0x0060\n\n"
            + "info.subsystem=usb\tusb.vendor_id=0x1234\tusb.product_id=0x0001\tusb.interfaces=06/01/01\n"
        let result = try await devsyncctl(["profiles", "match", "--each-line", "--profiles", fixtures], input: input)
        #expect(result.status == 0, "\(result.error)")
        let single = try await devsyncctl(["profiles", "match", "--json", "--profiles", fixtures,
                                           "info.subsystem=usb", "usb.vendor_id=0x0830", "usb.product_id=0x0060"])
        let lines = result.output.split(separator: "\n")
        try #require(lines.count == 3, "\(result.output)")
        // The first line says what `match --json` says of the same device.
        let first = try plugins(String(lines[0]))
        #expect(first != [nil])
        #expect(try first == plugins(single.output.split(separator: "\n").joined()))
        #expect(try plugins(String(lines[1])) == [nil])
    }

    @Test("a line that is no property stops the run with its line number; arguments and --each-line exclude each other")
    func badInput() async throws {
        let result = try await devsyncctl(["profiles", "match", "--each-line", "--profiles", fixtures],
                                          input: "info.subsystem=usb\nnot-a-property\n")
        #expect(result.status == 1)
        #expect(result.error.contains("standard input:2: not a property"), "\(result.error)")
        #expect(result.output.split(separator: "\n").count == 1)
        let both = try await devsyncctl(["profiles", "match", "--each-line", "info.subsystem=usb"], input: "")
        #expect(both.status == 2, "\(both.error)")
        #expect(both.error.contains("--each-line"), "\(both.error)")
    }
}
