// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc

/// A scripted SDP server on one end of a SOCK_SEQPACKET socketpair (which keeps PDU boundaries as L2CAP does),
/// so a lookup's whole exchange runs without a Bluetooth adapter. It runs on its own thread and blocks there,
/// which is fine for a test double. The thread starts in `init`, not in a task: a task waits for a thread of the
/// cooperative pool, which busy tests can hold for longer than the lookup's bound while the lookup's timer,
/// on its own queue, runs.
final class FakeSDPServer: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is guarded by `lock`.

    enum Script: Sendable {
        /// Answers with `attributeLists`, split into `fragments` continuation PDUs.
        case answer(attributeLists: [UInt8], fragments: Int)
        /// Answers with an SDP error response carrying `status`.
        case error(status: UInt16)
        /// Reads the request and never answers.
        case silent
        /// Reads the request and hangs up.
        case hangUp
        /// Answers with a PDU whose transaction id does not match.
        case wrongTransaction
    }

    /// The socket the lookup takes over.
    let clientSocket: Int32
    /// Every request PDU the server received, in order.
    var requests: [[UInt8]] { lock.withLock { received } }
    /// Whether the server saw the client close its end after the exchange.
    var sawClientClose: Bool { lock.withLock { clientClosed } }
    /// Yields once when the first request arrives.
    let firstRequest: AsyncStream<Void>

    private let lock = NSLock()
    private var received: [[UInt8]] = []
    private var clientClosed = false
    private let firstRequestContinuation: AsyncStream<Void>.Continuation

    private let serverSocket: Int32
    private let script: Script
    private let finished: AsyncStream<Void>

    init(script: Script) {
        var fds: [Int32] = [0, 0]
        // Close-on-exec from creation: tests running beside this one spawn dbus-daemon and dbusmock, and a child that
        // inherited an end (Foundation's Process closes only the descriptors open when it scanned them) would hold
        // the socket open, so a hang-up would never reach the lookup and `served` would never see the client close.
        precondition(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        clientSocket = fds[0]
        serverSocket = fds[1]
        self.script = script
        (firstRequest, firstRequestContinuation) = AsyncStream.makeStream()
        let (finished, finishedContinuation) = AsyncStream<Void>.makeStream()
        self.finished = finished
        // A send to a closed socketpair raises SIGPIPE; the test process must survive it, as devsyncd does.
        signal(SIGPIPE, SIG_IGN)
        Thread.detachNewThread {
            self.run()
            close(self.serverSocket)
            finishedContinuation.finish()
        }
    }

    /// Returns once the script, running on its own thread since `init`, has ended: the client closed its end.
    func serve() async {
        for await _ in finished {}
    }

    private func run() {
        guard let request = receive() else { return }
        lock.withLock { received.append(request) }
        firstRequestContinuation.yield()
        firstRequestContinuation.finish()
        let tid = Array(request[1..<3])
        switch script {
        case .answer(let lists, let fragments):
            let size = (lists.count + fragments - 1) / max(fragments, 1)
            var chunks = stride(from: 0, to: lists.count, by: max(size, 1)).map {
                Array(lists[$0..<min($0 + size, lists.count)])
            }
            var currentTID = tid
            while !chunks.isEmpty {
                let chunk = chunks.removeFirst()
                let continuation: [UInt8] = chunks.isEmpty ? [0x00] : [0x02, 0xC0, UInt8(chunks.count)]
                send(pdu: 0x07, tid: currentTID, parameters: be16(chunk.count) + chunk + continuation)
                if chunks.isEmpty { break }
                guard let next = receive() else { return }
                lock.withLock { received.append(next) }
                currentTID = Array(next[1..<3])
            }
        case .error(let status):
            send(pdu: 0x01, tid: tid, parameters: be16(Int(status)))
        case .silent:
            break
        case .hangUp:
            return
        case .wrongTransaction:
            send(pdu: 0x07, tid: [tid[0] ^ 0xFF, tid[1]], parameters: be16(2) + [0x35, 0x00, 0x00])
        }
        // Wait for the client to close (or time out and close) its end.
        var byte: UInt8 = 0
        while true {
            let n = recv(serverSocket, &byte, 1, 0)
            if n == 0 { return lock.withLock { clientClosed = true } }
            if n < 0 && errno != EINTR { return }
        }
    }

    private func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = recv(serverSocket, &buffer, buffer.count, 0)
        guard n >= 5 else { return nil }
        return Array(buffer[0..<n])
    }

    private func send(pdu: UInt8, tid: [UInt8], parameters: [UInt8]) {
        let bytes = [pdu] + tid + be16(parameters.count) + parameters
        _ = Glibc.send(serverSocket, bytes, bytes.count, Int32(MSG_NOSIGNAL))
    }

    private func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
}
