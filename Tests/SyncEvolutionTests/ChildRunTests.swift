// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import SyncEvolution

@Suite("SyncEvolution: how its process is run")
struct ChildRunTests {
    @Test("the child gets no descriptor but stdin, stdout and stderr, nothing blocked or ignored, its own group")
    func cleanStart() async throws {
        // Opened without close-on-exec in this process: closefrom must keep it from the child anyway.
        let leaked = open("/dev/null", O_RDONLY)
        defer { close(leaked) }
        let lines = LineCollector()
        let outcome = await ChildRun.run(
            ["/bin/sh", "-c", "ls /proc/$$/fd; echo pgid=$(ps -o pgid= -p $$ | tr -d ' ') pid=$$"],
            environment: ["PATH": "/usr/bin:/bin"], timeout: .seconds(30)
        ) { stream, line in if stream == .stdout { lines.append(line) } }
        #expect(outcome == .exited(0))
        let output = lines.lines
        #expect(Array(output.prefix(3)) == ["0", "1", "2"] && output.count == 4, "\(output)")
        // ps pads the group id to a width: the shell strips it, so a short pid compares too.
        let ids = try #require(output.last).split(separator: " ").map { $0.split(separator: "=").last.map(String.init) ?? "" }
        #expect(ids.count == 2 && ids[0] == ids[1], "the child leads its own process group: \(output)")

        // The signal state of the program itself (no shell between, which masks signals while it forks).
        let status = LineCollector()
        _ = await ChildRun.run(["/bin/grep", "-E", "^(SigBlk|SigIgn)", "/proc/self/status"], environment: [:], timeout: .seconds(30)) {
            stream, line in if stream == .stdout { status.append(line) }
        }
        let masks = Dictionary(uniqueKeysWithValues: status.lines.compactMap { line -> (String, UInt64)? in
            let parts = line.split(separator: "\t")
            guard parts.count == 2, let value = UInt64(parts[1], radix: 16) else { return nil }
            return (String(parts[0]), value)
        })
        // Of the standard signals (1–31) none is blocked or ignored (glibc keeps 32 and 33 for itself, out of
        // sigfillset's reach): SIGTERM and SIGINT must reach SyncEvolution.
        #expect(masks["SigBlk:"].map { $0 & 0x7FFF_FFFF } == 0, "\(status.lines)")
        #expect(masks["SigIgn:"].map { $0 & 0x7FFF_FFFF } == 0, "\(status.lines)")
    }

    @Test("stderr and stdout are read line by line, a last line without newline too")
    func lines() async {
        let lines = LineCollector()
        let outcome = await ChildRun.run(
            ["/bin/sh", "-c", "echo one; echo two >&2; printf three"], environment: [:], timeout: .seconds(30)
        ) { stream, line in lines.append("\(stream):\(line)") }
        #expect(outcome == .exited(0))
        #expect(Set(lines.lines) == ["stdout:one", "stderr:two", "stdout:three"])
    }

    @Test("a program that does not exist is not started, with a sentence")
    func missingProgram() async {
        let outcome = await ChildRun.run(["/nonexistent/syncevolution"], environment: [:], timeout: .seconds(30)) { _, _ in }
        // setpriv starts, then cannot execute it: exit 127 from setpriv, or a spawn failure.
        switch outcome {
        case .exited(let status): #expect(status != 0)
        case .notStarted: break
        default: Issue.record("unexpected \(outcome)")
        }
    }
}
