// SPDX-License-Identifier: Apache-2.0
import DBus
import DesktopAgent
import Testing

private let palmPath = try! DBusObjectPath("/org/devsync/Broker1/devices/usb_2d0830_2d0060_2dP1")
private let jobPath = try! DBusObjectPath("/org/devsync/Broker1/jobs/1")

/// The Palm of the demo testbed as the broker publishes it.
private func palm(status: String = "pending", owner: String = "", suggested: String = "anna", present: Bool = true,
                  available: Bool = false) -> [String: DBusValue] {
    [
        "Uid": .string("usb-0830-0060-P1"), "Vendor": .string("Palm"), "Model": .string("Tungsten T"),
        "Kind": .string("pda"), "Plugin": .string("palm-sync"), "DataTypes": .strings(["contacts", "calendar"]),
        "Owner": .string(owner), "SuggestedOwner": .string(suggested), "Status": .string(status),
        "Present": .bool(present),
        "Actions": .array(.structure([.string, .string, .array(.string), .boolean]), [
            .structure([.string("sync-contacts"), .string("Sync contacts"), .strings(["contacts"]), .bool(available)]),
            .structure([.string("sync-all"), .string("Sync everything"), .strings(["contacts", "calendar"]), .bool(available)]),
        ]),
    ]
}

/// A model for anna with a server showing buttons and a broker listing `devices`.
private func running(_ devices: [String: DBusValue]..., actions: Bool = true) -> (AgentModel, [AgentCommand]) {
    var model = AgentModel(user: "anna")
    _ = model.serverAppeared(capabilities: actions ? ["body", "actions"] : ["body"])
    let commands = model.brokerAppeared(devices: devices.map { BrokerDevice(path: palmPath, properties: $0) })
    return (model, commands)
}

private func shown(_ commands: [AgentCommand]) -> NotificationContent? {
    for case .show(_, let content) in commands { return content }
    return nil
}

@Suite("What the agent shows and does")
struct AgentModelTests {
    @Test("a pending device suggested to this user is a resident prompt with Approve and Reject; another's is not shown")
    func prompt() {
        let (_, commands) = running(palm())
        let content = shown(commands)
        #expect(content?.summary == "Palm Tungsten T connected")
        #expect(content?.actions == ["approve", "Approve", "reject", "Reject"])
        #expect(content?.category == "device.added")
        #expect(content?.icon == "pda")
        #expect(content?.resident == true)
        #expect(content?.body.contains("devsyncctl") == false)

        #expect(running(palm(suggested: "bob")).1.isEmpty)
        #expect(running(palm(present: false)).1.isEmpty)
    }

    @Test("a click on Approve approves as the owner; the decision withdraws the prompt, and with an engine the offer follows")
    func approveThenOffer() {
        var (model, _) = running(palm())
        #expect(model.actionInvoked(palmPath, key: "approve") == [.approve(device: palmPath)])
        // A second click while the decision travels does nothing.
        #expect(model.actionInvoked(palmPath, key: "approve").isEmpty)
        let decided = model.deviceChanged(palmPath, ["Status": .string("approved"), "Owner": .string("anna"), "SuggestedOwner": .string("")])
        #expect(decided == [.withdraw(device: palmPath)])
        let engine = model.deviceChanged(palmPath, palm(status: "approved", owner: "anna", suggested: "", available: true))
        let offer = shown(engine)
        #expect(offer?.summary == "Palm Tungsten T is ready to sync")
        #expect(offer?.actions == ["default", "Sync now", "sync-contacts", "Sync contacts"])
    }

    @Test("Reject rejects; a prompt that no longer applies (approved elsewhere, unplugged, another owner) is withdrawn")
    func withdrawals() {
        var (model, _) = running(palm())
        #expect(model.actionInvoked(palmPath, key: "reject") == [.reject(device: palmPath)])
        #expect(model.deviceChanged(palmPath, ["Status": .string("rejected")]) == [.withdraw(device: palmPath)])

        for change: [String: DBusValue] in [
            ["Status": .string("approved"), "Owner": .string("anna")], ["Present": .bool(false)],
            ["SuggestedOwner": .string("bob")],
        ] {
            var (model, _) = running(palm())
            #expect(model.deviceChanged(palmPath, change) == [.withdraw(device: palmPath)], "\(change)")
        }
        var (removed, _) = running(palm())
        #expect(removed.deviceRemoved(palmPath) == [.withdraw(device: palmPath)])
        var (gone, _) = running(palm())
        #expect(gone.brokerVanished() == [.withdraw(device: palmPath)])
    }

    @Test("without the actions capability the notification names the devsyncctl commands and has no buttons")
    func plainServer() {
        let (_, commands) = running(palm(), actions: false)
        let content = shown(commands)
        #expect(content?.actions == [])
        #expect(content?.body.contains("devsyncctl approve usb-0830-0060-P1") == true)
        let (_, offer) = running(palm(status: "approved", owner: "anna", suggested: "", available: true), actions: false)
        #expect(shown(offer)?.body.contains("devsyncctl sync usb-0830-0060-P1") == true)
    }

    @Test("a device that arrived before the server is shown when one appears; a server restart shows it again")
    func serverLater() {
        var model = AgentModel(user: "anna")
        #expect(model.brokerAppeared(devices: [BrokerDevice(path: palmPath, properties: palm())]).isEmpty)
        #expect(shown(model.serverAppeared(capabilities: ["actions"]))?.summary == "Palm Tungsten T connected")
        model.serverVanished()
        #expect(shown(model.serverAppeared(capabilities: ["actions"]))?.summary == "Palm Tungsten T connected")
    }

    @Test("a prompt the user closed is not shown again until the device is plugged in again")
    func closedStaysClosed() {
        var (model, _) = running(palm())
        _ = model.notificationClosed(palmPath)
        #expect(model.deviceChanged(palmPath, ["Model": .string("Tungsten T3")]).isEmpty)
        _ = model.deviceChanged(palmPath, ["Present": .bool(false)])
        #expect(shown(model.deviceChanged(palmPath, ["Present": .bool(true)]))?.summary == "Palm Tungsten T3 connected")
    }

    @Test("Sync now invokes sync-all; progress is throttled and ends in Synced, or in the engine's sentence")
    func sync() {
        var (model, _) = running(palm(status: "approved", owner: "anna", suggested: "", available: true))
        #expect(model.actionInvoked(palmPath, key: "default") == [.invoke(device: palmPath, action: "sync-all")])
        let first = shown(model.jobStarted(jobPath, device: palmPath, action: "sync-all", now: .zero))
        #expect(first?.progress == 0)
        #expect(first?.summary == "Syncing Palm Tungsten T")
        // Within the interval: nothing; after it: the new percentage, once.
        #expect(model.jobProgress(jobPath, fraction: 0.3, now: .milliseconds(200)).isEmpty)
        #expect(shown(model.jobProgress(jobPath, fraction: 0.5, now: .milliseconds(1200)))?.progress == 50)
        #expect(model.jobProgress(jobPath, fraction: 0.5, now: .milliseconds(2500)).isEmpty)
        let done = shown(model.jobFinished(jobPath, state: "succeeded", error: ""))
        #expect(done?.summary == "Synced Palm Tungsten T")
        #expect(done?.category == "transfer.complete")
        // Taken once per presence: not offered again at once.
        #expect(model.deviceChanged(palmPath, ["LastSeen": .uint64(2)]).isEmpty)

        var (failing, _) = running(palm(status: "approved", owner: "anna", suggested: "", available: true))
        _ = failing.actionInvoked(palmPath, key: "sync-contacts")
        _ = failing.jobStarted(jobPath, device: palmPath, action: "sync-contacts", now: .zero)
        let failed = shown(failing.jobFinished(jobPath, state: "failed", error: "The PDA did not answer."))
        #expect(failed?.body == "The PDA did not answer.")
        #expect(failed?.category == "transfer.error")
    }

    @Test("an approved device of another user, or one no engine can sync, is offered nothing")
    func noOffer() {
        #expect(running(palm(status: "approved", owner: "bob", suggested: "", available: true)).1.isEmpty)
        #expect(running(palm(status: "approved", owner: "anna", suggested: "", available: false)).1.isEmpty)
    }
}

@Suite("What the agent shows when a device changes")
struct AgentModelChangeTests {
    @Test("a prompt follows the device's later changes in place (a Bluetooth phone identified after it was announced)")
    func promptFollowsChanges() {
        var (model, _) = running(palm())
        let renamed = model.deviceChanged(palmPath, ["Vendor": .string("Nokia"), "Model": .string("6021"), "Kind": .string("phone")])
        #expect(shown(renamed)?.summary == "Nokia 6021 connected")
        #expect(shown(renamed)?.icon == "phone")
        // A change that does not alter what is shown sends nothing.
        #expect(model.deviceChanged(palmPath, ["LastSeen": .uint64(5)]).isEmpty)
    }
}
