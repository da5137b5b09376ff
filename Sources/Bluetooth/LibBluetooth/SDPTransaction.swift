// SPDX-License-Identifier: Apache-2.0
import CBluetooth
import Dispatch
import Glibc
import Logging

/// One SDP ServiceSearchAttribute transaction with one device, driven by DispatchSources on its own serial queue.
///
/// `sdp_connect` and `sdp_service_search_attr_req` block (for the page timeout, then up to 20 s per response), so
/// devsync never calls them. Instead: a non-blocking connect, a write source that fires once the connection is
/// made or has failed, the asynchronous request, a read source that hands each response PDU to `sdp_process`, and
/// a timer that bounds the whole exchange. Nothing blocks, nothing polls, and whichever comes first (answer,
/// error, deadline, task cancellation) finishes the transaction and closes the socket.
final class SDPTransaction: @unchecked Sendable {
    // @unchecked Sendable: every mutable property below is read and written only on `queue`.

    /// Where the session comes from.
    enum Endpoint {
        /// Page the device at this address.
        case device(BluetoothAddress)
        /// Speak SDP over an already connected socket (a local server, or a test's socketpair).
        case connectedSocket(Int32, address: BluetoothAddress)

        var address: BluetoothAddress {
            switch self {
            case .device(let address), .connectedSocket(_, let address): address
            }
        }
    }

    typealias Outcome = Result<[UInt8], SDPLookupError>

    private let endpoint: Endpoint
    private let timeout: Duration
    private let logger: Logger
    private let queue: DispatchQueue

    private var session: UnsafeMutablePointer<sdp_session_t>?
    private var socketSource: (any DispatchSourceProtocol)?
    private var timer: (any DispatchSourceTimer)?
    /// Sources created and not yet through their cancel handler: the socket may close only when this is 0.
    private var liveSources = 0
    private var continuation: CheckedContinuation<Outcome, Never>?
    private var outcome: Outcome?
    /// Set by the notify callback inside `sdp_process`.
    private var response: Outcome?

    init(endpoint: Endpoint, timeout: Duration, logger: Logger) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.logger = logger
        queue = DispatchQueue(label: "devsync.sdp.\(endpoint.address)")
    }

    /// Runs the transaction; returns the AttributeLists bytes of the response or why there are none.
    func run() async -> Outcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async { self.start(continuation) }
            }
        } onCancel: {
            queue.async {
                self.finish(.failure(SDPLookupError(.cancelled, address: self.endpoint.address, reason: "cancelled")))
            }
        }
    }

    // MARK: Steps, all on `queue`

    private func start(_ continuation: CheckedContinuation<Outcome, Never>) {
        self.continuation = continuation
        // Cancellation may have won the race to the queue.
        if outcome != nil { return resume() }
        armTimer()
        do {
            switch endpoint {
            case .device(let address):
                session = try CheckedSessionCalls.connect(to: address)
            case .connectedSocket(let socket, let address):
                session = try CheckedSessionCalls.adopt(socket: socket, address: address)
            }
        } catch {
            return finish(.failure(error))
        }
        watch(for: .write) { [unowned self] in connected() }
    }

    private func connected() {
        guard let session else { return }
        if let error = CheckedSessionCalls.pendingError(session) {
            return finish(.failure(SDPLookupError(errno: error, address: endpoint.address, during: "connecting")))
        }
        socketSource?.cancel()
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = RawSessionCalls.setNotify(session, { type, status, bytes, size, context in
            // Called synchronously from sdp_process, on `queue`, with the transaction still alive.
            let transaction = Unmanaged<SDPTransaction>.fromOpaque(context!).takeUnretainedValue()
            let copy = bytes.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            transaction.completed(type: type, status: status, bytes: copy)
        }, context)
        do {
            try CheckedSessionCalls.requestAllRecords(session, address: endpoint.address)
        } catch {
            return finish(.failure(error))
        }
        watch(for: .read) { [unowned self] in readable() }
    }

    private func readable() {
        guard let session else { return }
        // 0: a continuation request went out, wait for the next PDU. -1: done, the callback has run (or, if
        // libbluetooth failed before reaching it, has not, and sdp_get_error says why).
        guard RawSessionCalls.process(session) != 0 else { return }
        if let response { return finish(response) }
        let error = RawSessionCalls.error(session)
        finish(.failure(SDPLookupError(errno: error > 0 ? error : EPROTO, address: endpoint.address, during: "reading")))
    }

    private func completed(type: UInt8, status: UInt16, bytes: [UInt8]) {
        let address = endpoint.address
        switch (Int32(type), status) {
        case (SDP_SVC_SEARCH_ATTR_RSP, 0):
            response = .success(bytes)
        case (SDP_ERROR_RSP, let code):
            response = .failure(SDPLookupError(
                .refused, address: address,
                reason: "the device's SDP server answered with error 0x\(String(code, radix: 16, uppercase: true))"
            ))
        default:
            guard let session else { return }
            let error = RawSessionCalls.error(session)
            response = .failure(SDPLookupError(errno: error > 0 ? error : EPROTO, address: address, during: "reading"))
        }
    }

    private func armTimer() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = max(0, min(seconds, 86_400)) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        timer.schedule(deadline: .now() + .nanoseconds(Int(nanoseconds)))
        timer.setEventHandler { [unowned self] in
            finish(.failure(SDPLookupError(
                .timedOut, address: endpoint.address, reason: "no complete answer within \(timeout)"
            )))
        }
        track(timer)
        self.timer = timer
        timer.resume()
    }

    private enum Readiness { case read, write }

    /// Watches the session's socket for `readiness`. The read source watches a duplicate of the socket, not the
    /// socket itself: libdispatch on Linux keeps one epoll registration per descriptor number, shared by every
    /// source on it, and a hang-up that arrives while the write source of the connect step is being cancelled
    /// can go to that source and be lost to the new one (swift-corelibs-libdispatch #833) — the lookup then sat
    /// until its bound instead of failing at once. A new descriptor is a new registration, and epoll reports
    /// on registration whatever the socket already has to say.
    private func watch(for readiness: Readiness, handler: @escaping @Sendable () -> Void) {
        guard let session else { return }
        let socket = RawSessionCalls.socket(session)
        let source: any DispatchSourceProtocol
        var duplicate: Int32?
        switch readiness {
        case .write:
            source = DispatchSource.makeWriteSource(fileDescriptor: socket, queue: queue)
        case .read:
            let copy = fcntl(socket, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else {
                return finish(.failure(SDPLookupError(errno: errno, address: endpoint.address, during: "watching the socket")))
            }
            duplicate = copy
            source = DispatchSource.makeReadSource(fileDescriptor: copy, queue: queue)
        }
        source.setEventHandler(handler: handler)
        track(source, closing: duplicate)
        socketSource = source
        source.resume()
    }

    /// Counts `source` until its cancel handler runs, which closes `descriptor` (a duplicate only that source
    /// watched); the last one out closes the socket.
    private func track(_ source: any DispatchSourceProtocol, closing descriptor: Int32? = nil) {
        liveSources += 1
        source.setCancelHandler { [self] in
            if let descriptor { Glibc.close(descriptor) }
            liveSources -= 1
            if liveSources == 0, outcome != nil { closeSession() }
        }
    }

    private func finish(_ result: Outcome) {
        guard outcome == nil else { return }
        outcome = result
        switch result {
        case .success(let bytes):
            logger.debug("SDP lookup answered", metadata: ["address": "\(endpoint.address)", "bytes": "\(bytes.count)"])
        case .failure(let error):
            logger.debug("SDP lookup failed", metadata: ["address": "\(endpoint.address)", "error": "\(error.code)"])
        }
        timer?.cancel()
        socketSource?.cancel()
        timer = nil
        socketSource = nil
        if liveSources == 0 { closeSession() }
        resume()
    }

    private func closeSession() {
        guard let session else { return }
        self.session = nil
        RawSessionCalls.close(session)
    }

    private func resume() {
        guard let continuation, let outcome else { return }
        self.continuation = nil
        continuation.resume(returning: outcome)
    }
}
