// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import SyncEvolution

@Suite("SyncEvolution: sync modes and its output")
struct RetryAndOutputTests {
    /// A fake `syncevolution` that logs its arguments, refuses two-way syncs as SyncEvolution does when a pair's
    /// change tracking is gone, and completes slow ones with a report.
    static let refusingTwoWay = """
        echo "$*" >> "$HOME/calls"
        for argument in "$@"; do case "$argument" in *@devsync) name=$argument;; esac; done
        case "$*" in
        *addressbook/sync=two-way*)
            echo '[ERROR] error code from SyncEvolution unexpected slow sync (local, status 22000): failure on target side @phone of local sync' >&2
            exit 1;;
        *addressbook/sync=slow*)
            session="$XDG_CACHE_HOME/syncevolution/$(echo "$name" | /bin/sed 's/-/_+/g')-2026-12-07-00-00"
            /bin/mkdir -p "$session"
            printf 'status = 200\\nsource-addressbook-mode = slow\\nsource-addressbook-stat-local-added-total = 3\\n' > "$session/status.ini"
            exit 0;;
        esac
        exit 2
        """

    @Test("a pair that lost its change tracking is synced again once, slow")
    func refusedTwoWayIsRetriedSlow() async throws {
        let sandbox = try Sandbox()
        let config = try await sandbox.pairedConfig()
        config.rememberSynced(["addressbook"])  // as after an earlier complete sync
        let fake = try sandbox.fakeProgram(Self.refusingTwoWay)
        let faked = SyncEvolutionConfig(command: sandbox.command(path: fake), device: config.device, peer: config.peer)

        let summary = try await faked.run(dataTypes: [.contacts]) { _, _ in }

        let calls = try String(contentsOfFile: sandbox.root.path + "/calls", encoding: .utf8).split(separator: "\n")
        #expect(calls.count == 2)
        #expect(calls.first?.contains("addressbook/sync=two-way") == true)
        #expect(calls.last?.contains("addressbook/sync=slow") == true)
        #expect(summary.datastore(for: .contacts)?.mode == "slow")
        #expect(summary.datastore(for: .contacts)?.local.added == 3)
    }

    @Test("a first sync that is refused is not repeated: the refusal is the error")
    func refusedSlowIsNotRetried() async throws {
        let sandbox = try Sandbox()
        let config = try await sandbox.pairedConfig()
        let fake = try sandbox.fakeProgram("""
            echo "$*" >> "$HOME/calls"
            echo '[INFO] @devsync/addressbook: starting first time sync' >&2
            echo '[ERROR] @devsync/addressbook: local, status 20048' >&2
            echo '[ERROR] error code from SyncEvolution unexpected slow sync (local, status 22000): failure on target side @phone of local sync' >&2
            echo 'Synchronization failed, see /tmp/x/syncevolution-log.html for details.'
            echo 'First ERROR encountered: local, status 20048'
            exit 1
            """)
        let faked = SyncEvolutionConfig(command: sandbox.command(path: fake), device: config.device, peer: config.peer)

        let error = try #require(await failure { () async throws(SyncEvolutionError) in try await faked.run(dataTypes: [.contacts]) { _, _ in } })

        #expect(try String(contentsOfFile: sandbox.root.path + "/calls", encoding: .utf8).split(separator: "\n").count == 1)
        #expect(error.code == .syncFailed)
        // The bare status says nothing; the first sentence that does is the one shown.
        #expect(error.message == "SyncEvolution could not sync Test Local Phone: error code from SyncEvolution unexpected slow sync (local, status 22000): failure on target side @phone of local sync")
        #expect(error.logFile == "/tmp/x/syncevolution-log.html")
    }

    @Test("progress comes from each datastore's steps, in equal shares, and never goes back")
    func progressFromLines() {
        var parser = OutputParser(datastores: ["addressbook": "contacts", "memo": "notes"])
        let lines = [
            "[INFO @phone] @phone/addressbook: starting normal sync, two-way (peer is server)",
            "[INFO] @devsync/addressbook: starting normal sync, two-way (peer is client)",
            "[INFO] @devsync/memo: starting normal sync, two-way (peer is client)",
            "[INFO] @devsync/addressbook: started",
            "[INFO] @devsync/addressbook: adding \"Person 1\"",
            "[INFO] @devsync/addressbook: received 693",
            "[INFO] @devsync/addressbook: received 1397/1499",
            "[INFO] creating complete data backup after sync (enabled with dumpData and needed for printChanges)",
            "[INFO] @devsync/addressbook: normal sync done successfully",
            "[INFO] memo: sent 1/2",
            "[INFO] memo: normal sync done successfully",
        ]
        let steps = lines.compactMap { parser.take($0) }
        #expect(steps.map(\.1) == [
            "contacts: starting normal sync, two-way (peer is client)",
            "notes: starting normal sync, two-way (peer is client)",
            "contacts: started",
            "contacts: received 693",  // no total: the share stays, the message is news
            "contacts: received 1397/1499",
            "contacts: normal sync done successfully",
            "notes: sent 1/2",
            "notes: normal sync done successfully",
        ])
        let values = steps.map(\.0)
        #expect(values.first == 0.025)
        #expect(values[3] == values[2])
        #expect(abs(values[4] - (0.1 + 0.8 * 1397 / 1499 + 0.05) / 2) < 1e-9)
        #expect(values.last == 1)
        #expect(parser.errors.isEmpty)
    }

    @Test("the summary reads SyncEvolution's status.ini, datastore names as they are")
    func statusFile() {
        let status = SessionStatus(text: """
            status = 200
            source-addressbook-mode = two-way
            source-addressbook-stat-local-updated-total = 2
            source-addressbook-stat-remote-removed-total = 1
            source-addressbook-stat-remote-added-total = 4
            source-calendar+todo-mode = slow
            source-calendar+todo-stat-local-added-total = 5
            source-calendar+todo-stat-remote-added-reject = 1
            source-calendar+todo-stat-remote-updated-reject = 2
            """)
        #expect(status.status == 200)
        #expect(status.changes("addressbook", side: "local") == SyncSummary.Changes(updated: 2))
        #expect(status.changes("addressbook", side: "remote") == SyncSummary.Changes(added: 4, deleted: 1))
        #expect(status.mode("calendar+todo") == "slow")
        #expect(status.changes("calendar+todo", side: "local").added == 5)
        #expect(status.changes("calendar+todo", side: "remote").rejected == 3)
    }
}
