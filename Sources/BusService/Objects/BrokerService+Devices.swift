// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry

/// The Manager's queries and the Device methods that decide about a device.
extension BrokerService {
    func listDevices() -> [DBusValue] {
        [.array(.objectPath, devices.keys.sorted().map { .objectPath(BrokerContract.devicePath(uid: $0)) })]
    }

    /// The device with exactly `text` as uid, else the only one whose uid starts with it.
    func deviceByUID(_ text: String) throws(BrokerError) -> [DBusValue] {
        [.objectPath(BrokerContract.devicePath(uid: try record(matching: text).uid))]
    }

    func record(matching text: String) throws(BrokerError) -> DeviceRecord {
        if let record = devices[text] { return record }
        let candidates = text.isEmpty ? [] : devices.values.filter { $0.uid.hasPrefix(text) }
        switch candidates.count {
        case 1: return candidates[0]
        case 0: throw BrokerError(.noSuchDevice, "No device has a uid starting with \"\(text)\".")
        default:
            throw BrokerError(
                .noSuchDevice, "\(candidates.count) devices have a uid starting with \"\(text)\"; give more of it.")
        }
    }

    /// The device `uid` as now published; it may have been forgotten while the caller waited.
    func current(_ uid: String) throws(BrokerError) -> DeviceRecord {
        guard let record = devices[uid] else {
            throw BrokerError(.noSuchDevice, "Device \(uid) is no longer known to the broker.")
        }
        return record
    }

    func reloadProfiles(_ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        let caller = try await authorizer.caller(of: call)
        try await authorizer.authorize(
            caller, owner: nil, action: BrokerContract.manageDevicesAction, operation: "reload the device profiles",
            standing: "that is for root and administrators", options: options(of: call))
        guard let reloadProfiles else {
            throw BrokerError(.failed, "This broker cannot reload profiles; restart devsyncd instead.")
        }
        let (rules, errors) = await reloadProfiles()
        logger.info("Profiles reloaded on request", metadata: ["uid": "\(caller.uid)", "rules": "\(rules)"])
        return [.uint32(UInt32(clamping: rules)), .strings(errors)]
    }

    /// Whose a device is for authorization, and how a refusal says the caller is not that user: a pending
    /// device has no owner yet, but the user the resolver suggested may decide about it.
    private func standing(of record: DeviceRecord) -> (owner: String?, standing: String) {
        guard record.status == .pending else { return (record.owner, "you are not its owner") }
        guard let suggested = suggestedOwners[record.uid] else {
            return (nil, "it is waiting for approval and no owner was suggested for it")
        }
        return (suggested, "you are not the user suggested as its owner")
    }

    func approve(uid: String, _ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        let requested = call.arguments[0].string ?? ""
        let caller = try await authorizer.caller(of: call)
        let (currentOwner, standing) = standing(of: try current(uid))
        // Authorized before the owner's name is looked up: a refusal must not tell which user names exist.
        try await authorizer.authorize(
            caller, owner: currentOwner, action: BrokerContract.manageDevicesAction, operation: "approve device \(uid)",
            standing: standing, options: options(of: call))
        let owner: String
        if requested.isEmpty {
            guard let name = UserAccounts.userName(ofUID: caller.uid) else {
                throw BrokerError(.invalidArgs, "Your uid \(caller.uid) has no user name here; name the owner instead.")
            }
            owner = name
        } else {
            guard UserAccounts.uid(ofUser: requested) != nil else {
                throw BrokerError(.invalidArgs, "There is no user \"\(requested)\" on this system; name an existing user.")
            }
            owner = requested
        }
        do throws(RegistryError) {
            await publishDecision(try await registry.approve(uid: uid, owner: owner))
        } catch {
            throw BrokerError(error)
        }
        logger.info("Device approved over D-Bus", metadata: ["uid": "\(uid)", "owner": "\(owner)", "by": "\(caller.uid)"])
        return []
    }

    func reject(uid: String, _ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        let caller = try await authorizer.caller(of: call)
        let (currentOwner, standing) = standing(of: try current(uid))
        try await authorizer.authorize(
            caller, owner: currentOwner, action: BrokerContract.manageDevicesAction, operation: "reject device \(uid)",
            standing: standing, options: options(of: call))
        do throws(RegistryError) {
            await publishDecision(try await registry.reject(uid: uid))
        } catch {
            throw BrokerError(error)
        }
        logger.info("Device rejected over D-Bus", metadata: ["uid": "\(uid)", "by": "\(caller.uid)"])
        return []
    }

    func forget(uid: String, _ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        let caller = try await authorizer.caller(of: call)
        let record = try current(uid)
        try await authorizer.authorize(
            caller, owner: record.owner, action: BrokerContract.manageDevicesAction, operation: "forget device \(uid)",
            standing: record.owner == nil ? "it has no owner yet" : "you are not its owner", options: options(of: call))
        do throws(RegistryError) {
            if let record = try await registry.forget(uid: uid) {
                await publishDecision(record)
            } else {
                await publishRemoval(uid: uid)
            }
        } catch {
            throw BrokerError(error)
        }
        logger.info("Device forgotten over D-Bus", metadata: ["uid": "\(uid)", "by": "\(caller.uid)"])
        return []
    }
}
