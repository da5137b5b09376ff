// SPDX-License-Identifier: Apache-2.0
import Glibc
import Logging
import Testing
@testable import Bluetooth

@Suite("SDP lookup")
struct ServiceDiscoveryTests {
    static let address = BluetoothAddress("00:1A:7D:DA:71:13")!
    static let logger = Logger(label: "devsync.test.sdp")

    /// The lookup over the fake server's connected socket.
    static func lookup(_ server: FakeSDPServer, timeout: Duration = .seconds(30)) async throws(SDPLookupError) -> [ServiceRecord] {
        try await ServiceDiscovery.records(
            overConnectedSocket: server.clientSocket, address: address, timeout: timeout, logger: logger)
    }

    @Test("a lookup on a machine without a Bluetooth adapter fails as noAdapter, not by running into its bound")
    func noAdapter() async {
        do {
            let records = try await ServiceDiscovery.records(at: Self.address, timeout: .seconds(10), logger: Self.logger)
            Issue.record("found \(records.count) records without an adapter")
        } catch {
            #expect(error.code == .noAdapter, "\(error)")
            #expect(error.address == Self.address)
            #expect(error.systemError != nil)
            #expect(error.description.contains("00:1A:7D:DA:71:13"))
        }
    }

    @Test("the sync-services lookup fails the same way")
    func noAdapterSyncServices() async {
        await #expect(throws: SDPLookupError.self) {
            try await ServiceDiscovery.syncServices(at: Self.address, timeout: .seconds(10), logger: Self.logger)
        }
    }

    @Test("a full exchange returns every record; the request asks for all attributes of every L2CAP record")
    func fullExchange() async throws {
        let server = FakeSDPServer(script: .answer(attributeLists: SampleRecords.attributeLists, fragments: 1))
        async let served: Void = server.serve()
        let records = try await Self.lookup(server)
        await served
        #expect(records.count == 5)
        #expect(SyncService.services(in: records).map(\.rfcommChannel) == [11, 10, 9])
        let request = try #require(server.requests.first)
        #expect(request[0] == 0x06, "ServiceSearchAttributeRequest")
        #expect(request.contains(subsequence: [0x35, 0x03, 0x19, 0x01, 0x00]), "search pattern: L2CAP")
        #expect(request.contains(subsequence: [0x35, 0x05, 0x0A, 0x00, 0x00, 0xFF, 0xFF]), "attributes 0x0000-0xFFFF")
        #expect(server.sawClientClose, "the lookup closes its socket when done")
    }

    @Test("a response split over continuation PDUs is reassembled")
    func continuation() async throws {
        let server = FakeSDPServer(script: .answer(attributeLists: SampleRecords.attributeLists, fragments: 3))
        async let served: Void = server.serve()
        let records = try await Self.lookup(server)
        await served
        #expect(server.requests.count == 3)
        #expect(server.requests.last?.suffix(3) == [0x02, 0xC0, 0x01], "the continuation state is sent back")
        #expect(records.map(\.handle) == [0x0001_0001, 0x0001_0002, 0x0001_0003, 0x0001_0004, 0x0001_0005])
    }

    @Test("a device that never answers fails as timedOut at the bound, and the socket is closed")
    func silentDevice() async {
        let server = FakeSDPServer(script: .silent)
        async let served: Void = server.serve()
        await #expect {
            try await Self.lookup(server, timeout: .milliseconds(200))
        } throws: { ($0 as? SDPLookupError)?.code == .timedOut }
        await served
        #expect(server.sawClientClose)
    }

    @Test("an SDP error response fails as refused, naming the status")
    func errorResponse() async {
        let server = FakeSDPServer(script: .error(status: 0x0003))
        async let served: Void = server.serve()
        do {
            _ = try await Self.lookup(server)
            Issue.record("succeeded")
        } catch {
            #expect(error.code == .refused)
            #expect(error.reason.contains("0x3"))
        }
        await served
    }

    @Test("a hang-up, an answer to another transaction or malformed records fail as a protocol error")
    func protocolErrors() async {
        let truncated = Array(SampleRecords.attributeLists.dropLast(4))
        for script in [FakeSDPServer.Script.hangUp, .wrongTransaction, .answer(attributeLists: truncated, fragments: 1)] {
            let server = FakeSDPServer(script: script)
            async let served: Void = server.serve()
            await #expect { try await Self.lookup(server) } throws: { ($0 as? SDPLookupError)?.code == .protocolError }
            await served
        }
    }

    @Test("a hang-up is seen at once however it interleaves with the lookup's switch from connecting to reading")
    func hangUpRace() async {
        // The peer closes right after the request, while the lookup trades its write source for a read source on
        // the same socket. libdispatch (Linux) keeps one epoll registration per descriptor and may hand a hang-up
        // to the source being cancelled; the lookup then waited for its bound instead of failing at once. Many
        // rounds, several at a time, make that interleaving likely; each must end as a protocol error.
        let rounds = 400
        let timedOut = await withTaskGroup(of: Bool.self) { group in
            var timedOut = 0
            for round in 0..<rounds {
                if round >= 8, let result = await group.next(), result { timedOut += 1 }
                group.addTask {
                    let server = FakeSDPServer(script: .hangUp)
                    do {
                        _ = try await Self.lookup(server, timeout: .seconds(2))
                    } catch let error as SDPLookupError {
                        await server.serve()
                        return error.code == .timedOut
                    } catch {
                        await server.serve()
                        return false
                    }
                    await server.serve()
                    return false
                }
            }
            for await result in group where result { timedOut += 1 }
            return timedOut
        }
        #expect(timedOut == 0, "\(timedOut) of \(rounds) hang-ups were missed until the lookup's bound")
    }

    @Test("cancelling the awaiting task ends the lookup as cancelled and closes the socket")
    func cancellation() async {
        let server = FakeSDPServer(script: .silent)
        async let served: Void = server.serve()
        let lookup = Task {
            try await Self.lookup(server, timeout: .seconds(60))
        }
        for await _ in server.firstRequest {}
        lookup.cancel()
        let result = await lookup.result
        #expect(throws: SDPLookupError.self) { try result.get() }
        if case .failure(let error as SDPLookupError) = result { #expect(error.code == .cancelled) }
        await served
        #expect(server.sawClientClose)
    }

    @Test("errno values map to the failure an operator can act on")
    func errnoMapping() {
        func code(_ error: Int32) -> SDPLookupError.Code {
            SDPLookupError(errno: error, address: Self.address, during: "connecting").code
        }
        #expect(code(EAFNOSUPPORT) == .noAdapter)
        #expect(code(EHOSTUNREACH) == .noAdapter)
        #expect(code(EHOSTDOWN) == .unreachable)
        #expect(code(ECONNREFUSED) == .unreachable)
        #expect(code(EBUSY) == .busy)
        #expect(code(EACCES) == .permissionDenied)
        #expect(code(EPROTO) == .protocolError)
        #expect(code(EIO) == .failed)
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
