// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DeviceRegistry

@Suite("Registry: sync actions")
struct RegistrySyncActionTests {
    @Test("one action per data type, in profile order, then sync-all")
    func palmActions() {
        let actions = SyncAction.actions(plugin: "palm-sync", datatypes: ["contacts", "calendar", "todo", "notes"])
        #expect(actions.map(\.id) == ["sync-contacts", "sync-calendar", "sync-todo", "sync-notes", "sync-all"])
        #expect(actions.map(\.label) == ["Sync contacts", "Sync calendar", "Sync to-dos", "Sync notes", "Sync all"])
        #expect(actions.first?.datatypes == ["contacts"])
        #expect(actions.last?.datatypes == ["contacts", "calendar", "todo", "notes"])
    }

    @Test("a device without a plugin offers nothing; a plugin without data types offers sync-all")
    func edgeCases() {
        #expect(SyncAction.actions(plugin: "", datatypes: ["contacts"]).isEmpty)
        #expect(SyncAction.actions(plugin: "mtp", datatypes: []) == [SyncAction(id: "sync-all", label: "Sync all", datatypes: [])])
    }

    @Test("repeated data types collapse, and odd names give safe ids")
    func safeIDs() {
        let actions = SyncAction.actions(plugin: "x", datatypes: ["photos", "photos", "Web Bookmarks", "all"])
        #expect(actions.map(\.id) == ["sync-photos", "sync-web-bookmarks", "sync-all"])
        #expect(actions.last?.datatypes == ["photos", "Web Bookmarks"])
    }

    @Test("a record offers the actions of its plugin and data types")
    func recordActions() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.phone()))
        let record = try #require(await harness.registry.devices().first)
        #expect(record.actions.map(\.id) == ["sync-contacts", "sync-calendar", "sync-all"])
    }
}
