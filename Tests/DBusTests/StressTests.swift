import DBus
import Testing

@Suite("Event loop under load")
struct StressTests {
    @Test("hundreds of calls in a row and in parallel all get their replies")
    func manyCalls() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            for index in 0..<300 {
                let reply = try await client.call(
                    destination: fixture.serverName, path: TestObject.path, interface: TestObject.interfaceName,
                    member: "Echo", arguments: [.variant(.int32(Int32(index)))], timeout: .seconds(5))
                #expect(reply == [.variant(.int32(Int32(index)))])
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let reply = try await client.call(
                            destination: fixture.serverName, path: TestObject.path,
                            interface: TestObject.interfaceName, member: "Echo",
                            arguments: [.variant(.string(String(repeating: "x", count: index * 10)))],
                            timeout: .seconds(5))
                        #expect(reply.first?.string?.count == index * 10)
                    }
                }
                try await group.waitForAll()
            }
            await client.close()
        }
    }
}

@Suite("Connecting under load")
struct ConnectStressTests {
    @Test("many connections authenticate and register in parallel")
    func manyConnections() async throws {
        try await TestBus.with { bus in
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let connection = try await bus.connect("c\(index)")
                        let name = await connection.uniqueName
                        await connection.close()
                        return name
                    }
                }
                var names: Set<String> = []
                for try await name in group { names.insert(name) }
                #expect(names.count == 60)
            }
        }
    }
}
