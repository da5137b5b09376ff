// SPDX-License-Identifier: Apache-2.0
import CChildProcess
import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How one run of a callout ended.
enum CalloutOutcome: Sendable, Equatable {
    /// It exited with `status`, having written `output` (at most ``CalloutProcess/outputLimit`` bytes).
    case exited(status: Int32, output: [UInt8])
    /// A signal ended it (not ours).
    case signalled(Int32)
    /// It outlived the timeout and was killed, with its whole process group.
    case timedOut
    /// It exited, but something else in the process collected its status (a `waitpid(-1)` elsewhere).
    case statusLost
    /// It could not be started; the sentence says why.
    case notStarted(String)
}

/// One run of a callout executable: spawned without a shell, its stdout read and its exit awaited on `queue`.
///
/// Nothing polls: the stdout pipe and a pidfd (readable once the process has exited) are dispatch sources, the
/// timeout a dispatch timer. The child leads its own process group, so a timeout kills whatever it started too.
/// `@unchecked Sendable`: every mutable field is touched only on `queue`.
final class CalloutProcess: @unchecked Sendable {
    /// The most stdout kept; the answer is one short line.
    static let outputLimit = 4096

    private let queue: DispatchQueue
    private let pid: pid_t
    private let completion: @Sendable (CalloutOutcome) -> Void
    private var output: [UInt8] = []
    private var outputClosed = false
    private var waitStatus: Int32?
    private var timedOut = false
    private var lostStatus = false
    private var finished = false
    private var outputSource: (any DispatchSourceRead)?
    private var outputDescriptor: Int32?
    private var exitSource: (any DispatchSourceRead)?
    private var timer: (any DispatchSourceTimer)?

    private init(queue: DispatchQueue, pid: pid_t, completion: @escaping @Sendable (CalloutOutcome) -> Void) {
        self.queue = queue
        self.pid = pid
        self.completion = completion
    }

    /// How often a spawn refused with ETXTBSY is tried again, and the pauses between tries (doubling, at most
    /// a second; about 3.3 s in all, and never past the callout's timeout).
    ///
    /// ETXTBSY means some process holds the executable open for writing. Besides an editor or a package
    /// upgrade caught mid-write, that is any process of ours (or of whoever wrote the file) that forked while
    /// the file was open for writing: the child holds a copy of the descriptor until it execs or exits, even a
    /// close-on-exec one. That window is short, so the spawn is tried again instead of giving up at once.
    static let busyRetries = 10
    static let firstBusyPause: Duration = .milliseconds(5)
    static let longestBusyPause: Duration = .seconds(1)

    /// Starts `executable` with `environment`; `completion` runs on `queue` exactly once. Call on `queue`.
    static func run(
        _ executable: String, environment: [String], timeout: Duration, queue: DispatchQueue, logger: Logger,
        completion: @escaping @Sendable (CalloutOutcome) -> Void
    ) {
        run(executable, environment: environment, timeout: timeout, queue: queue, logger: logger, attempt: 0,
            waited: .zero, completion: completion)
    }

    private static func run(
        _ executable: String, environment: [String], timeout: Duration, queue: DispatchQueue, logger: Logger,
        attempt: Int, waited: Duration, completion: @escaping @Sendable (CalloutOutcome) -> Void
    ) {
        dispatchPrecondition(condition: .onQueue(queue))
        var pipeEnds: [Int32] = [-1, -1]
        guard devsync_cloexec_pipe(&pipeEnds) == 0 else {
            completion(.notStarted("cannot create a pipe: \(errorText(errno))"))
            return
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        let spawned = spawn(executable, environment: environment, stdout: writeEnd)
        // The daemon keeps its copy of the write end until the callout has exited and its output is read, so the
        // read end never hangs up while a source watches it (see `watch`).
        let pid: pid_t
        switch spawned {
        case .failure(let code, let reason):
            close(readEnd)
            close(writeEnd)
            let pause = min(firstBusyPause * (1 << min(attempt, 16)), longestBusyPause)
            if code == ETXTBSY, attempt < busyRetries, waited + pause < timeout {
                logger.debug(
                    "Owner callout is busy (open for writing somewhere); trying again",
                    metadata: ["callout": "\(executable)", "attempt": "\(attempt + 1)", "pause": "\(pause)"])
                let (seconds, attoseconds) = pause.components
                let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
                queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
                    run(executable, environment: environment, timeout: timeout, queue: queue, logger: logger,
                        attempt: attempt + 1, waited: waited + pause, completion: completion)
                }
                return
            }
            completion(.notStarted(attempt == 0 ? reason : "\(reason) (tried \(attempt + 1) times)"))
            return
        case .success(let child):
            pid = child
        }
        let pidfd = pidfd_open(pid, 0)
        guard pidfd >= 0 else {
            // Without a pidfd there is no way to wait without blocking; give up on this run, leaving no child.
            let reason = errorText(errno)
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            close(readEnd)
            close(writeEnd)
            completion(.notStarted("cannot watch the process (pidfd_open: \(reason))"))
            return
        }
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        let process = CalloutProcess(queue: queue, pid: pid, completion: completion)
        // The time spent waiting out ETXTBSY counts against the timeout.
        process.watch(output: readEnd, writeEnd: writeEnd, exit: pidfd, timeout: timeout - waited)
    }

    /// Watches the callout's output and its pidfd without either reporting a hang-up while watched: libdispatch's
    /// epoll back end can free a source's registration on the source's own queue after a hang-up (EPOLLHUP) while
    /// its manager thread still reads it, and the process crashes (swift-corelibs-libdispatch #949; it crashed the
    /// test process about once in twenty-five runs). A pipe's read end hangs up when its last writer closes, so the
    /// daemon holds a writer (`writeEnd`) until the output source is cancelled; a pidfd hangs up once its process is
    /// reaped, so the process is reaped in the pidfd source's cancel handler. The output is complete when the
    /// callout has exited (its group is killed then, so nothing else writes) and the pipe is drained.
    private func watch(output fd: Int32, writeEnd: Int32, exit pidfd: Int32, timeout: Duration) {
        let outputSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        outputSource.setEventHandler { [self] in readOutput(fd) }
        outputSource.setCancelHandler {
            close(fd)
            close(writeEnd)
        }
        self.outputDescriptor = fd
        let exitSource = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: queue)
        exitSource.setEventHandler { [self] in exited() }
        exitSource.setCancelHandler { [self] in
            reap()
            close(pidfd)
        }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(clamping: seconds) &* 1_000_000_000 &+ Int(attoseconds / 1_000_000_000)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds))
        timer.setEventHandler { [self] in expire() }
        self.outputSource = outputSource
        self.exitSource = exitSource
        self.timer = timer
        outputSource.resume()
        exitSource.resume()
        timer.resume()
    }

    private func readOutput(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(contentsOf: chunk[..<min(count, Self.outputLimit - output.count)])
                if output.count >= Self.outputLimit { break }  // enough: stop listening, the rest is noise
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            break  // EOF or a read error: the output is complete
        }
        outputClosed = true
        outputSource?.cancel()
        outputSource = nil
        finishIfDone()
    }

    /// The pidfd is readable: the callout exited and is a zombie until `reap`, so its group id cannot have been
    /// reused. Clears out anything it left behind, which would otherwise hold the pipe open, and stops watching
    /// the pidfd; the cancel handler reaps.
    private func exited() {
        kill(-pid, SIGKILL)
        if !outputClosed, let outputDescriptor {
            readOutput(outputDescriptor)  // what it wrote before exiting; nothing else can write now
            outputClosed = true
            outputSource?.cancel()
            outputSource = nil
        }
        exitSource?.cancel()
        exitSource = nil
    }

    private func reap() {
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, WNOHANG) } while result < 0 && errno == EINTR
        if result < 0 {
            // ECHILD: another part of the process reaped it. Finish, rather than let the readable pidfd fire forever.
            lostStatus = true
            waitStatus = 0
        } else if result == pid {
            waitStatus = status
        } else {
            // Not reapable yet: cannot happen once the pidfd was readable. Wait rather than leave a zombie.
            repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
            waitStatus = result == pid ? status : 0
            lostStatus = result != pid
        }
        finishIfDone()
    }

    private func expire() {
        timedOut = true
        kill(-pid, SIGKILL)
        timer?.cancel()
        timer = nil
        finishIfDone()
    }

    /// Completes once the process is reaped and its output is read, or, after a timeout, once it is reaped.
    private func finishIfDone() {
        guard !finished, let status = waitStatus, outputClosed || timedOut else { return }
        finished = true
        outputSource?.cancel()
        outputSource = nil
        timer?.cancel()
        timer = nil
        if timedOut {
            completion(.timedOut)
        } else if lostStatus {
            completion(.statusLost)
        } else if status & 0x7F == 0 {
            completion(.exited(status: (status >> 8) & 0xFF, output: output))
        } else {
            completion(.signalled(status & 0x7F))
        }
    }

    private enum Spawned {
        case success(pid_t)
        /// posix_spawn's error number (the exec's, such as ETXTBSY or ENOEXEC) and a sentence.
        case failure(Int32, String)
    }

    /// posix_spawn with stdin from /dev/null, stdout to the pipe, no other descriptor but stderr, default signal
    /// handling, and a new process group.
    private static func spawn(_ executable: String, environment: [String], stdout: Int32) -> Spawned {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        devsync_spawn_setup(&actions, &attributes, stdout, -1)  // stderr stays the daemon's (its log)

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard code == 0 else { return .failure(code, "cannot run \(executable): \(errorText(code))") }
        return .success(pid)
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
