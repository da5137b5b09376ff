// SPDX-License-Identifier: Apache-2.0
import DBus
import Foundation
import SyncEngine
import SyncMLWork
import Testing
@testable import SyncEvolution

/// devsync-engine's SyncML work, run as the engine runs it (a ``SyncRequest`` with the properties the broker
/// passes, a ``JobProgress``), with the real `syncevolution`: the phone is the sandbox's `@phone` context.
@Suite("devsync-engine's SyncML work through SyncEvolution")
struct SyncMLWorkTests {
    static func request(datatypes: [String], _ device: [String: DBusValue]) -> SyncRequest {
        SyncRequest(
            job: try! DBusObjectPath("/org/devsync/Broker1/jobs/3"), uid: "bt-00:11:22:33:44:55", datatypes: datatypes,
            device: ["sync.vendor": .string("Nokia"), "sync.model": .string("E61i")].merging(device) { $1 })
    }

    static func progress(_ log: ProgressLog) -> JobProgress { JobProgress { log.record($0, $1) } }

    @Test("contacts arrive from the phone; the summary names the device; data types SyncEvolution lacks are left out")
    func contactsArrive() async throws {
        let sandbox = try Sandbox()
        try await sandbox.setUpPhone()
        try sandbox.writeContact(sandbox.phone, file: "ada.vcf", name: "Ada Lovelace")
        try sandbox.writeContact(sandbox.phone, file: "grace.vcf", name: "Grace Hopper")
        let work = SyncMLWork(command: sandbox.command(), store: .files(directory: sandbox.computer.path), testContext: "phone")
        let log = ProgressLog()

        let summary = try await work.run(Self.request(datatypes: ["contacts", "photos"], [:]), progress: Self.progress(log))

        #expect(try sandbox.contactNames(sandbox.computer) == ["Ada Lovelace", "Grace Hopper"])
        #expect(summary == "Synced contacts with Nokia E61i (a first, full comparison): here 2 added.", "\(summary)")
        #expect(log.messages.first == "Connecting to Nokia E61i")
        #expect(log.messages.contains { $0.hasPrefix("contacts: ") }, "\(log.messages)")
        #expect(log.values.last == 1)
        #expect(zip(log.values, log.values.dropFirst()).allSatisfy { $0 <= $1 }, "\(log.values)")

        // The second run reuses the configuration: two-way, nothing new.
        try sandbox.writeContact(sandbox.phone, file: "alan.vcf", name: "Alan Turing")
        let second = try await work.run(Self.request(datatypes: ["contacts"], [:]), progress: Self.progress(ProgressLog()))
        #expect(second == "Synced contacts with Nokia E61i: here 1 added.", "\(second)")
        #expect(try sandbox.contactNames(sandbox.computer) == ["Ada Lovelace", "Alan Turing", "Grace Hopper"])
    }

    @Test("an unreachable phone (a Bluetooth address, no channel) fails with SyncEvolution's sentence")
    func unreachablePhone() async throws {
        let sandbox = try Sandbox()
        let work = SyncMLWork(command: sandbox.command(), store: .files(directory: sandbox.computer.path))
        let request = Self.request(datatypes: ["contacts"], ["bluetooth.address": .string("00:11:22:33:44:55")])

        let failure = try #require(await #expect(throws: SyncFailure.self) {
            try await work.run(request, progress: Self.progress(ProgressLog()))
        })
        #expect(failure.sentence.hasPrefix("Nokia E61i (00:11:22:33:44:55) could not be reached over Bluetooth: SyncEvolution says “"),
                "\(failure.sentence)")
        #expect(failure.sentence.contains("ObexTransport") || failure.sentence.contains("Bluetooth"))
    }

    @Test("the SDP channel the broker passes reaches SyncEvolution's syncURL; no address, a malformed one: sentences")
    func addressAndChannel() async throws {
        let sandbox = try Sandbox()
        let work = SyncMLWork(command: sandbox.command(), store: .files(directory: sandbox.computer.path))
        let noAddress = await #expect(throws: SyncFailure.self) {
            try await work.run(Self.request(datatypes: ["contacts"], [:]), progress: Self.progress(ProgressLog()))
        }
        #expect(noAddress?.sentence
            == "Nokia E61i has no Bluetooth address; SyncEvolution reaches SyncML phones over Bluetooth only.")
        let malformed = await #expect(throws: SyncFailure.self) {
            try await work.run(
                Self.request(datatypes: ["contacts"], ["bluetooth.address": .string("00:11:22")]), progress: Self.progress(ProgressLog()))
        }
        #expect(malformed?.sentence == "“00:11:22” is not a Bluetooth address (six hex pairs separated by colons).")
        let outOfRange = await #expect(throws: SyncFailure.self) {
            try await work.run(
                Self.request(datatypes: ["contacts"], [
                    "bluetooth.address": .string("00:11:22:33:44:55"), "bluetooth.channel.syncml-client": .int32(31),
                ]), progress: Self.progress(ProgressLog()))
        }
        #expect(outOfRange?.sentence == "RFCOMM channel 31 of Nokia E61i is out of range (1–30).")

        // A valid channel becomes the configuration's syncURL (the run itself fails without hardware).
        _ = try? await work.run(
            Self.request(datatypes: ["contacts"], [
                "bluetooth.address": .string("00:11:22:33:44:55"), "bluetooth.channel.syncml-client": .int32(7),
            ]), progress: Self.progress(ProgressLog()))
        let peer = ConfigName.peer(
            for: SyncEvolutionDevice(vendor: "Nokia", model: "E61i", bluetoothAddress: "00:11:22:33:44:55", channel: 7))
        let ini = "\(sandbox.command().configDirectory)/\(ConfigName.context)/peers/\(peer)/config.ini"
        #expect(try String(contentsOfFile: ini, encoding: .utf8)
            .contains("syncURL = obex-bt://00:11:22:33:44:55+7\n"))
    }

    @Test("a Bluetooth phone without a profile's vendor and model is named as BlueZ names it (info.vendor, info.product)")
    func nameFromTheDevice() async throws {
        let sandbox = try Sandbox()
        let work = SyncMLWork(command: sandbox.command(), store: .files(directory: sandbox.computer.path))
        let request = SyncRequest(
            job: try DBusObjectPath("/org/devsync/Broker1/jobs/4"), uid: "bt-00:16:20:AB:CD:EF", datatypes: ["contacts"],
            device: ["info.vendor": .string("Nokia"), "info.product": .string("Nokia 6021")])
        let failure = await #expect(throws: SyncFailure.self) { try await work.run(request, progress: Self.progress(ProgressLog())) }
        #expect(failure?.sentence == "Nokia 6021 has no Bluetooth address; SyncEvolution reaches SyncML phones over Bluetooth only.")
        let bare = SyncRequest(
            job: try DBusObjectPath("/org/devsync/Broker1/jobs/5"), uid: "bt-00:16:20:AB:CD:EF", datatypes: ["contacts"], device: [:])
        let unnamed = await #expect(throws: SyncFailure.self) { try await work.run(bare, progress: Self.progress(ProgressLog())) }
        #expect(unnamed?.sentence.hasPrefix("bt-00:16:20:AB:CD:EF has no Bluetooth address") == true)
    }

    @Test("cancelling the job's task aborts SyncEvolution and throws CancellationError")
    func cancelIsCancellation() async throws {
        let sandbox = try Sandbox()
        try await sandbox.setUpPhone()
        for index in 0..<800 {
            try sandbox.writeContact(sandbox.phone, file: "p\(index).vcf", name: "Person \(index)", phoneNumber: "+44\(index)")
        }
        let work = SyncMLWork(command: sandbox.command(), store: .files(directory: sandbox.computer.path), testContext: "phone")
        let started = AsyncStream<Void>.makeStream()
        let progress = JobProgress { value, _ in if value > 0 { started.continuation.yield() } }
        let task = Task { try await work.run(Self.request(datatypes: ["contacts"], [:]), progress: progress) }
        for await _ in started.stream { break }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(result.failure is CancellationError, "\(result)")
        #expect(ContinuousClock.now - cancelledAt < .seconds(20))
    }
}
