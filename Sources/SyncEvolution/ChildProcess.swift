// SPDX-License-Identifier: Apache-2.0
import CChildProcess
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How one run of a SyncEvolution command ended.
enum ChildOutcome: Sendable, Equatable {
    /// It exited with `status`.
    case exited(Int32)
    /// A signal it did not get from us ended it (a crash: SIGSEGV, SIGABRT …).
    case signalled(Int32)
    /// We stopped it: the task was cancelled (`true`) or the time bound passed (`false`).
    case stopped(cancelled: Bool)
    /// It could not be started; the sentence says why.
    case notStarted(String)
}

/// One run of a program, spawned without a shell, its stdout and stderr read line by line and its exit awaited,
/// all on one serial queue; nothing polls and nothing blocks a thread of Swift's cooperative pool.
///
/// The child leads its own process group, starts with every descriptor above stderr closed, default signal
/// handling and an empty signal mask, and gets SIGTERM from the kernel if the thread that spawned it ends
/// (`setpriv --pdeathsig TERM`, spawned from ``SpawnThread``, a thread that lives as long as the process): if the
/// engine dies, SyncEvolution aborts instead of syncing on unattended. Stopping it (cancellation, the time bound)
/// is SIGTERM, SyncEvolution's "abort immediately"; whatever still runs `killGrace` later gets SIGKILL, with its group.
/// `@unchecked Sendable`: every mutable field is touched only on `queue`.
final class ChildRun: @unchecked Sendable {
    /// util-linux's `setpriv` (Debian's essential util-linux), which sets the parent-death signal and executes the
    /// program in its place (same pid).
    static let setpriv = "/usr/bin/setpriv"
    /// How long a stopped child may take to abort before it is killed.
    static let killGrace: Duration = .seconds(5)
    /// The longest line kept; SyncEvolution's are short, a longer one is cut.
    static let lineLimit = 4096

    private let queue = DispatchQueue(label: "org.devsync.syncevolution.child")
    private var pid: pid_t = 0
    private var onLine: (@Sendable (Stream, String) -> Void)?
    private var completion: (@Sendable (ChildOutcome) -> Void)?
    private var pending: [Stream: [UInt8]] = [:]
    private var openStreams: Set<Stream> = []
    /// The output pipes still watched: each read end and its source.
    private var streams: [Stream: (fd: Int32, source: any DispatchSourceRead)] = [:]
    private var status: Int32?
    private var stopReason: Bool?  // cancelled?
    private var sources: [any DispatchSourceProtocol] = []
    /// The pidfd's source until it says the child exited (it is then cancelled, and its cancel handler reaps).
    private var exitSource: (any DispatchSourceRead)?
    private var killTimer: (any DispatchSourceTimer)?

    /// Which output a line came from.
    enum Stream: Sendable, Hashable { case stdout, stderr }

    /// Runs `arguments` (the program first) with `environment`, calls `onLine` for every output line and returns how
    /// it ended. Cancelling the task stops the child (SIGTERM); so does `timeout`.
    static func run(
        _ arguments: [String], environment: [String: String], timeout: Duration,
        onLine: @escaping @Sendable (Stream, String) -> Void
    ) async -> ChildOutcome {
        let run = ChildRun()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ChildOutcome, Never>) in
                run.queue.async {
                    run.start(arguments, environment: environment, timeout: timeout, onLine: onLine) {
                        continuation.resume(returning: $0)
                    }
                }
            }
        } onCancel: {
            run.queue.async { run.stop(cancelled: true) }
        }
    }

    private func start(
        _ arguments: [String], environment: [String: String], timeout: Duration,
        onLine: @escaping @Sendable (Stream, String) -> Void, completion: @escaping @Sendable (ChildOutcome) -> Void
    ) {
        self.onLine = onLine
        self.completion = completion
        if stopReason != nil {  // cancelled before it started
            finish(.stopped(cancelled: true))
            return
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard devsync_cloexec_pipe(&outPipe) == 0 else { return finish(.notStarted("cannot create a pipe: \(Self.errorText(errno))")) }
        guard devsync_cloexec_pipe(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            return finish(.notStarted("cannot create a pipe: \(Self.errorText(errno))"))
        }
        let argv = [Self.setpriv, "--pdeathsig", "TERM", "--"] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        let (outWrite, errWrite) = (outPipe[1], errPipe[1])
        let spawned = SpawnThread.shared.perform { Self.spawn(argv, environment: envp, stdout: outWrite, stderr: errWrite) }
        // The write ends stay open here until the child has exited and its output is read, so that the read ends
        // never hang up while sources watch them (see `watch`).
        switch spawned {
        case .failure(let reason):
            close(outPipe[0]); close(errPipe[0]); close(outWrite); close(errWrite)
            return finish(.notStarted(reason))
        case .success(let child):
            pid = child
        }
        let pidfd = pidfd_open(pid, 0)
        guard pidfd >= 0 else {
            let reason = Self.errorText(errno)
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            close(outPipe[0]); close(errPipe[0]); close(outWrite); close(errWrite)
            return finish(.notStarted("cannot watch the process (pidfd_open: \(reason))"))
        }
        watch(outPipe[0], writeEnd: outWrite, as: .stdout)
        watch(errPipe[0], writeEnd: errWrite, as: .stderr)
        let exit = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: queue)
        // Reaped only once the source is unregistered: a reaped process's pidfd reports a hang-up (see `watch`).
        exit.setEventHandler { [self] in
            guard status == nil, let exitSource else { return }
            // Still a zombie, so its group id cannot have been reused: clear out whatever it left running (the
            // local sync's child). Nothing writes to the pipes after that: read what is in them and stop watching.
            kill(-pid, SIGKILL)
            for (stream, watched) in streams {
                _ = drain(watched.fd, stream)
                flush(stream)
                watched.source.cancel()
                openStreams.remove(stream)
            }
            streams = [:]
            self.exitSource = nil
            exitSource.cancel()
        }
        exit.setCancelHandler { [self] in
            reap()
            close(pidfd)
        }
        exitSource = exit
        exit.resume()
        sources.append(exit)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + Self.dispatchInterval(timeout))
        timer.setEventHandler { [self] in stop(cancelled: false) }
        timer.resume()
        sources.append(timer)
    }

    /// Watches one output pipe without its read end ever hanging up while watched: libdispatch's epoll back end
    /// can free a source's registration on the source's own queue after a hang-up (EPOLLHUP) while its manager
    /// thread still reads it, and the process crashes (swift-corelibs-libdispatch #949). A pipe's read end hangs
    /// up when its last writer closes, so this process keeps `writeEnd` open until the source is cancelled, and
    /// the output ends when the child has exited (the pidfd's handler drains both pipes then).
    private func watch(_ fd: Int32, writeEnd: Int32, as stream: Stream) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        openStreams.insert(stream)
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [self] in
            if !drain(fd, stream), let watched = streams.removeValue(forKey: stream) {
                watched.source.cancel()
                openStreams.remove(stream)
                finishIfDone()
            }
        }
        source.setCancelHandler {
            close(fd)
            close(writeEnd)
        }
        streams[stream] = (fd, source)
        source.resume()
        sources.append(source)
    }

    /// Reads what is there; false at end of file.
    private func drain(_ fd: Int32, _ stream: Stream) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                split(chunk[..<count], stream)
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return true }
            flush(stream)
            return false
        }
    }

    /// Emits the stream's unterminated last line, if any: its output has ended.
    private func flush(_ stream: Stream) {
        if let rest = pending[stream], !rest.isEmpty { emit(rest, stream) }
        pending[stream] = nil
    }

    private func split(_ bytes: ArraySlice<UInt8>, _ stream: Stream) {
        var buffer = pending[stream] ?? []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                emit(buffer, stream)
                buffer.removeAll(keepingCapacity: true)
            } else if buffer.count < Self.lineLimit {
                buffer.append(byte)
            }
        }
        pending[stream] = buffer
    }

    private func emit(_ line: [UInt8], _ stream: Stream) {
        onLine?(stream, String(decoding: line, as: UTF8.self))
    }

    /// Reaps the child once its pidfd's source is gone. The source is also cancelled by `finish` (the work's end
    /// or a failure): the child is then killed first, so that the wait ends.
    private func reap() {
        guard status == nil else { return }
        var raw: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &raw, WNOHANG) } while result < 0 && errno == EINTR
        if result == 0 {
            kill(-pid, SIGKILL)
            repeat { result = waitpid(pid, &raw, 0) } while result < 0 && errno == EINTR
        }
        status = result == pid ? raw : 0
        finishIfDone()
    }

    /// SIGTERM (SyncEvolution aborts at once), then SIGKILL for the group after the grace period.
    private func stop(cancelled: Bool) {
        guard stopReason == nil, status == nil else { return }
        stopReason = cancelled
        guard pid > 0 else { return }  // not started yet: start() sees stopReason
        kill(pid, SIGTERM)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + Self.dispatchInterval(Self.killGrace))
        timer.setEventHandler { [self] in
            if status == nil { kill(-pid, SIGKILL) }
        }
        timer.resume()
        killTimer = timer
    }

    private func finishIfDone() {
        guard let status, openStreams.isEmpty else { return }
        let outcome: ChildOutcome
        if let cancelled = stopReason {
            outcome = .stopped(cancelled: cancelled)
        } else if status & 0x7F == 0 {
            outcome = .exited((status >> 8) & 0xFF)
        } else {
            outcome = .signalled(status & 0x7F)
        }
        finish(outcome)
    }

    private func finish(_ outcome: ChildOutcome) {
        for source in sources { source.cancel() }
        sources.removeAll()
        killTimer?.cancel()
        killTimer = nil
        onLine = nil
        let completion = self.completion
        self.completion = nil
        completion?(outcome)
    }

    private enum Spawned: Sendable {
        case success(pid_t)
        case failure(String)
    }

    /// posix_spawn with stdin from /dev/null, stdout and stderr to the pipes, no other descriptor, default signal
    /// handling, an empty mask and a new process group.
    private static func spawn(_ argv: [String], environment: [String], stdout: Int32, stderr: Int32) -> Spawned {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        devsync_spawn_setup(&actions, &attributes, stdout, stderr)
        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard code == 0 else { return .failure("cannot run \(argv[0]): \(errorText(code))") }
        return .success(pid)
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(Int(clamping: seconds) &* 1_000_000_000 &+ Int(attoseconds / 1_000_000_000))
    }
}
