// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import SyncEvolution

/// Real syncs by the real `syncevolution` between two of its own contexts with file datastores: `@devsync`, this
/// computer, and `@phone`, the phone's stand-in (`local://@phone`).
@Suite("SyncEvolution: syncing with a phone")
struct SyncTests {
    @Test("contacts move both ways on the first sync, which is slow")
    func contactsMoveBothWays() async throws {
        let sandbox = try Sandbox()
        let config = try await sandbox.pairedConfig()
        try sandbox.writeContact(sandbox.phone, file: "ada.vcf", name: "Ada Lovelace")
        try FileManager.default.createDirectory(
            at: sandbox.directory(sandbox.computer, .contacts), withIntermediateDirectories: true)
        try sandbox.writeContact(sandbox.computer, file: "alan.vcf", name: "Alan Turing", phoneNumber: "+4420")

        let summary = try await config.run(dataTypes: [.contacts]) { _, _ in }

        #expect(try sandbox.contactNames(sandbox.computer) == ["Ada Lovelace", "Alan Turing"])
        #expect(try sandbox.contactNames(sandbox.phone) == ["Ada Lovelace", "Alan Turing"])
        let contacts = try #require(summary.datastore(for: .contacts))
        #expect(contacts.name == "addressbook")
        #expect(contacts.mode == "slow")
        #expect(contacts.local.added == 1)
        #expect(contacts.phone.added == 1)
        #expect(summary.sentence(deviceName: "Test Local Phone")
            == "Synced contacts with Test Local Phone (a first, full comparison): here 1 added; on the phone 1 added.")
        #expect(summary.sessionDirectory?.hasPrefix(sandbox.root.path + "/cache/syncevolution/") == true)
    }

    @Test("a second sync is two-way and carries an edit and a delete")
    func editAndDeletePropagate() async throws {
        let sandbox = try Sandbox()
        let config = try await sandbox.pairedConfig()
        try sandbox.writeContact(sandbox.phone, file: "ada.vcf", name: "Ada Lovelace", phoneNumber: "+441111")
        try sandbox.writeContact(sandbox.phone, file: "grace.vcf", name: "Grace Hopper", phoneNumber: "+1555")
        let first = try await config.run(dataTypes: [.contacts]) { _, _ in }
        #expect(first.datastore(for: .contacts)?.mode == "slow")
        #expect(try sandbox.contactNames(sandbox.computer) == ["Ada Lovelace", "Grace Hopper"])

        // Edit on the phone, delete on the computer.
        try sandbox.writeContact(sandbox.phone, file: "ada.vcf", name: "Ada Lovelace", phoneNumber: "+442222")
        try sandbox.remove(sandbox.computer, .contacts) { $0.contains("FN:Grace Hopper") }
        let second = try await config.run(dataTypes: [.contacts]) { _, _ in }

        let contacts = try #require(second.datastore(for: .contacts))
        #expect(contacts.mode == "two-way")
        #expect(contacts.local.updated == 1)
        #expect(contacts.phone.deleted == 1)
        #expect(contacts.local.added == 0 && contacts.phone.added == 0)
        #expect(try sandbox.phoneNumbers(sandbox.computer, of: "Ada Lovelace") == ["+442222"])
        #expect(try sandbox.contactNames(sandbox.phone) == ["Ada Lovelace"])
        #expect(second.sentence(deviceName: "the phone") == "Synced contacts with the phone: here 1 updated; on the phone 1 deleted.")

        // And the other way round: an edit on the computer reaches the phone.
        let computerCard = try #require(try FileManager.default.contentsOfDirectory(
            atPath: sandbox.directory(sandbox.computer, .contacts).path).first)
        try sandbox.writeContact(sandbox.computer, file: computerCard, name: "Ada Lovelace", phoneNumber: "+443333")
        let third = try await config.run(dataTypes: [.contacts]) { _, _ in }
        #expect(third.datastore(for: .contacts)?.phone.updated == 1)
        #expect(try sandbox.phoneNumbers(sandbox.phone, of: "Ada Lovelace") == ["+443333"])
    }

    @Test("several data types in one run, each its own datastore; progress rises to 1")
    func severalDataTypes() async throws {
        let sandbox = try Sandbox()
        let config = try await sandbox.pairedConfig()
        try sandbox.writeContact(sandbox.phone, file: "ada.vcf", name: "Ada Lovelace")
        try sandbox.writeNote(sandbox.phone, file: "n1.txt", text: "buy milk\n")
        let progress = ProgressLog()

        let summary = try await config.run(dataTypes: [.notes, .contacts]) { progress.record($0, $1) }

        #expect(summary.datastores.map(\.name) == ["addressbook", "memo"])
        #expect(summary.datastore(for: .notes)?.local.added == 1)
        let notes = try sandbox.contents(sandbox.computer, .notes)
        #expect(notes.count == 1 && notes.first?.contains("buy milk") == true, "\(notes)")
        let values = progress.values
        #expect(values.count >= 3)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "progress never goes back: \(values)")
        #expect(values.last == 1)
        #expect(progress.messages.contains { $0.hasPrefix("contacts: ") })
        #expect(progress.messages.contains { $0.hasPrefix("notes: ") })
    }

    @Test("cancelling the task aborts the sync; the configuration still syncs afterwards")
    func cancelAbortsAndConfigStaysUsable() async throws {
        let sandbox = try Sandbox()
        let config = try await sandbox.pairedConfig()
        let count = 800
        for index in 0..<count {
            try sandbox.writeContact(sandbox.phone, file: "p\(index).vcf", name: "Person \(index)", phoneNumber: "+44\(index)")
        }
        let started = AsyncStream<Void>.makeStream()
        let task = Task {
            try await config.run(dataTypes: [.contacts]) { value, _ in
                if value > 0 { started.continuation.yield() }
            }
        }
        for await _ in started.stream { break }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result
        let stopTime = ContinuousClock.now - cancelledAt
        let error = try #require(result.failure as? SyncEvolutionError)
        #expect(error.code == .cancelled)
        #expect(stopTime < .seconds(20), "SIGTERM aborts at once; it took \(stopTime)")

        // Not every contact arrived, and the next run completes the pair (again as a slow sync).
        let again = try await config.run(dataTypes: [.contacts]) { _, _ in }
        #expect(again.datastore(for: .contacts)?.mode == "slow")
        // Every contact but at most the one SyncEvolution was storing when SIGTERM aborted it: under load this ended
        // twice in 20 runs with 799 of 800 (a cut item inside SyncEvolution's file backend, we think; not
        // established). What devsync needs holds either way: the abort is clean and the pair syncs again.
        let arrived = try sandbox.contactNames(sandbox.computer)
        #expect(arrived.count >= count - 1 && arrived.count <= count,
                "\(arrived.count) contacts after the second run, \(Set(arrived).count) distinct: \(again)")
    }

    @Test("a configuration is reused: the second lookup finds it and the pair stays two-way")
    func configurationIsReused() async throws {
        let sandbox = try Sandbox()
        let config = try await sandbox.pairedConfig()
        try sandbox.writeContact(sandbox.phone, file: "ada.vcf", name: "Ada Lovelace")
        _ = try await config.run(dataTypes: [.contacts]) { _, _ in }

        let again = try await sandbox.command().configuration(
            for: Sandbox.localPhone, store: .files(directory: sandbox.computer.path))
        #expect(again.name == config.name)
        let summary = try await again.run(dataTypes: [.contacts]) { _, _ in }
        #expect(summary.datastore(for: .contacts)?.mode == "two-way")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
