// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Asks an administrator's executable who owns a device: the seed design's "run a script to identify who on
/// that computer owns the device".
///
/// The executable runs without a shell (`argv` is just its path), with a clean environment
/// (``CalloutEnvironment``), stdin from /dev/null and its stderr inherited (it reaches the daemon's journal). It
/// answers by printing a user name as the first line of stdout and exiting 0. Any failure — cannot run, non-zero
/// exit, killed after the timeout, a first line that is not an existing user — is logged at warning and means
/// no answer.
public final class CalloutOwnerResolver: Sendable {
    /// The absolute path of the executable.
    public let executable: String
    /// How long a run may take before the process group is killed.
    public let timeout: Duration
    private let logger: Logger
    /// Spawning, the pipe and pidfd sources, and the password database lookup run here, off the caller's executor.
    private let queue = DispatchQueue(label: "devsync.owner-callout")

    /// A resolver for `executable` (an absolute path), killing runs that take longer than `timeout`.
    public init(executable: String, timeout: Duration, logger: Logger) {
        self.executable = executable
        self.timeout = timeout
        self.logger = logger
    }

    /// Runs the callout for the device `uid` with `properties`; the user it names, or nil.
    public func owner(for properties: DeviceProperties, uid: String) async -> String? {
        let environment = CalloutEnvironment.entries(for: properties, uid: uid)
        let (executable, timeout, queue, logger) = (executable, timeout, queue, logger)
        return await withCheckedContinuation { continuation in
            queue.async {
                guard executable.hasPrefix("/") else {
                    Self.warn(logger, executable, uid, "the path is not absolute")
                    continuation.resume(returning: nil)
                    return
                }
                guard access(executable, X_OK) == 0 else {
                    Self.warn(logger, executable, uid, "not executable: \(CalloutProcess.errorText(errno))")
                    continuation.resume(returning: nil)
                    return
                }
                CalloutProcess.run(
                    executable, environment: environment, timeout: timeout, queue: queue, logger: logger
                ) { outcome in
                    // On `queue`: the user lookup may consult NSS, which must not stall a cooperative thread.
                    continuation.resume(returning: Self.owner(from: outcome, executable, uid, timeout, logger))
                }
            }
        }
    }

    private static func owner(
        from outcome: CalloutOutcome, _ executable: String, _ uid: String, _ timeout: Duration, _ logger: Logger
    ) -> String? {
        switch outcome {
        case .notStarted(let reason):
            warn(logger, executable, uid, reason)
        case .timedOut:
            warn(logger, executable, uid, "killed after running longer than \(timeout)")
        case .statusLost:
            warn(logger, executable, uid, "its exit status was collected elsewhere in the daemon")
        case .signalled(let signal):
            warn(logger, executable, uid, "ended by signal \(signal)")
        case .exited(let status, _) where status != 0:
            warn(logger, executable, uid, "exited with status \(status)")
        case .exited(_, let output):
            let firstLine = output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
            let name = String(decoding: firstLine, as: UTF8.self)
            // Quoted with its bad bytes shown harmlessly: the text came from a program we do not trust.
            let shown = "\"\(String(name.unicodeScalars.prefix(64).map { $0.value < 0x20 ? "?" : Character($0) }))\""
            guard UserName.isWellFormed(name) else {
                warn(logger, executable, uid, "printed \(shown), which is not a user name")
                return nil
            }
            guard UserName.exists(name) else {
                warn(logger, executable, uid, "printed \(shown), but there is no such user")
                return nil
            }
            logger.debug(
                "Owner callout named the owner", metadata: ["uid": "\(uid)", "callout": "\(executable)", "owner": "\(name)"])
            return name
        }
        return nil
    }

    private static func warn(_ logger: Logger, _ executable: String, _ uid: String, _ reason: String) {
        logger.warning(
            "Owner callout gave no answer: \(reason)", metadata: ["uid": "\(uid)", "callout": "\(executable)"])
    }
}
