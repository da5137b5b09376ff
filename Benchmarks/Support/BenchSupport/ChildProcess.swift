// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Starts a benchmark's helper processes (dbus-daemon, dbusmock, devsyncd) so that they die with the benchmark,
/// however it ends: a crash, a `precondition`, SIGKILL. (The same as Tests/DevsyncTestSupport's; the benchmark
/// package cannot use the main package's test support.)
///
/// Foundation puts every child in a process group of its own, so neither a crash of the benchmark nor the
/// terminal's Ctrl-C reaches them; left running, they disturb the next run. Each child is therefore started
/// through `setpriv --pdeathsig KILL`, which has the kernel send it SIGKILL when its parent goes and then
/// executes the program in its place (same pid). The kernel's "parent" is the *thread* that started the child,
/// and the threads of Swift's global executor end when idle, so every child is started from one thread that
/// lives as long as the process.
public enum ChildProcess {
    /// util-linux's `setpriv`, present wherever the tests run (Debian's essential util-linux).
    static let setpriv = "/usr/bin/setpriv"

    /// Starts `process` tied to this process's life: `setpriv --pdeathsig KILL -- executable arguments…`,
    /// started from the spawning thread. The pid is the program's own.
    public static func run(_ process: Process) throws {
        tie(process)
        try spawner.perform { try process.run() }
    }

    /// Rewrites `process` to start through `setpriv --pdeathsig KILL`; done by ``run(_:)``.
    static func tie(_ process: Process) {
        guard let executable = process.executableURL?.path else { return }
        if executable == setpriv {
            // Already a setpriv command line (a client run as another user): it takes the option too.
            process.arguments = ["--pdeathsig", "KILL"] + (process.arguments ?? [])
        } else {
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + (process.arguments ?? [])
            process.executableURL = URL(fileURLWithPath: setpriv)
        }
    }

    private static let spawner = SpawnerThread()
}

/// One thread that never ends, on which children are started (see ``ChildProcess``).
final class SpawnerThread: @unchecked Sendable {  // `pending` is guarded by `condition`
    private let condition = NSCondition()
    private var pending: [() -> Void] = []

    init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while pending.isEmpty { condition.wait() }
                let next = pending.removeFirst()
                condition.unlock()
                next()
            }
        }
        thread.name = "child-spawner"
        thread.start()
    }

    /// Runs `body` on the spawning thread and returns its result; the caller waits (a spawn takes milliseconds).
    func perform<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error>?
        condition.lock()
        pending.append {
            result = Result { try body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return try result!.get()
    }
}
