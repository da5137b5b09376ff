// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry
import Logging
import Synchronization

/// Suggests the user of the active session on a seat as a device's owner, following logind over D-Bus.
///
/// The person at the console is the best guess at who just plugged something in. ``run(on:)`` keeps the answer
/// current in the background — it re-reads the seat's `ActiveSession` whenever the seat reports a change and
/// whenever `org.freedesktop.login1` appears, restarts or goes away — so ``suggestedOwner(for:)`` only reads a
/// value under a lock and never waits. Without logind there is no suggestion.
public final class LogindOwnerTracker: OwnerSuggesting {
    /// What the tracker last learned from logind.
    public enum Status: Sendable, Hashable {
        /// Not asked yet.
        case unknown
        /// logind is not on the bus (or did not answer).
        case absent
        /// logind is there, but the seat is missing, has no active session, or its user has no name.
        case noActiveSession
        /// The seat's active session belongs to this user.
        case active(user: String)
    }

    /// logind's bus name.
    public static let busName = "org.freedesktop.login1"
    static let managerPath = try! DBusObjectPath("/org/freedesktop/login1")
    static let managerInterface = "org.freedesktop.login1.Manager"
    static let seatInterface = "org.freedesktop.login1.Seat"
    static let sessionInterface = "org.freedesktop.login1.Session"
    static let propertiesInterface = "org.freedesktop.DBus.Properties"

    /// The seat followed, `seat0` (the one with the console) unless told otherwise.
    public let seat: String
    private let logger: Logger
    private let current = Mutex<Status>(.unknown)
    /// Tasks waiting in ``waitForFirstAnswer()``; nil once logind has been asked (or ``run(on:)`` ended).
    private let firstAnswerWaiters = Mutex<[CheckedContinuation<Void, Never>]?>([])

    /// A tracker for `seat`; it knows nothing until ``run(on:)`` runs.
    public init(seat: String = "seat0", logger: Logger) {
        self.seat = seat
        self.logger = logger
    }

    /// What logind last said.
    public var status: Status { current.withLock { $0 } }

    /// The user of the seat's active session, if logind is present and a session is active.
    public var activeUser: String? {
        if case .active(let user) = status { return user }
        return nil
    }

    /// The active user, whatever the device: the registry asks this while it decides, so it must not wait.
    public func suggestedOwner(for device: DeviceRecord) -> String? { activeUser }

    /// Follows logind on `connection` until the connection closes or the task is cancelled.
    ///
    /// Throws only if the subscriptions cannot be made (the bus refused AddMatch); logind itself being absent or
    /// failing is not an error, just no suggestion.
    public func run(on connection: DBusConnection) async throws {
        defer { answerFirstWaiters() }
        let owners = try await connection.nameOwnerChanges(of: Self.busName)
        let seatChanges = try await connection.signals(
            matching: DBusMatchRule(
                sender: Self.busName, interface: Self.propertiesInterface, member: "PropertiesChanged",
                arg0: Self.seatInterface))
        // Every event just means "look again"; reads are sequential, so an older answer never overwrites a newer.
        let (lookAgain, trigger) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        trigger.yield()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in owners { trigger.yield() }
                trigger.finish()
            }
            group.addTask {
                for await message in seatChanges where Self.touchesActiveSession(message) { trigger.yield() }
                trigger.finish()
            }
            for await _ in lookAgain {
                update(await read(from: connection))
            }
            group.cancelAll()
        }
    }

    private static func touchesActiveSession(_ message: DBusMessage) -> Bool {
        guard message.arguments.count >= 3 else { return true }
        if message.arguments[1]["ActiveSession"] != nil { return true }
        return message.arguments[2].arrayElements?.contains { $0.string == "ActiveSession" } ?? true
    }

    /// Asks logind for the seat's active session and its user.
    private func read(from connection: DBusConnection) async -> Status {
        do {
            guard try await connection.nameOwner(of: Self.busName) != nil else { return .absent }
            let seatReply = try await connection.call(
                destination: Self.busName, path: Self.managerPath, interface: Self.managerInterface, member: "GetSeat",
                arguments: [.string(seat)], timeout: .seconds(5))
            guard let seatPath = seatReply.first?.objectPath else { return .noActiveSession }
            let active = try await property(Self.seatInterface, "ActiveSession", of: seatPath, on: connection)
            guard let sessionPath = active.structureFields?.last?.objectPath, sessionPath != .root else {
                return .noActiveSession
            }
            let name = try await property(Self.sessionInterface, "Name", of: sessionPath, on: connection).string
            if let name, !name.isEmpty { return .active(user: name) }
            // No name on the session (remote or odd sessions): the user's uid, through the password database.
            let user = try await property(Self.sessionInterface, "User", of: sessionPath, on: connection)
            if let uid = user.structureFields?.first?.uint32, let name = UserName.name(of: uid) {
                return .active(user: name)
            }
            return .noActiveSession
        } catch is CancellationError {
            return status
        } catch {
            // A headless machine has no seat0 (NoSuchSeat); a restarting logind announces itself and is read again.
            logger.debug("logind did not describe the seat", metadata: ["seat": "\(seat)", "error": "\(error)"])
            return .noActiveSession
        }
    }

    private func property(
        _ interface: String, _ name: String, of path: DBusObjectPath, on connection: DBusConnection
    ) async throws -> DBusValue {
        let reply = try await connection.call(
            destination: Self.busName, path: path, interface: Self.propertiesInterface, member: "Get",
            arguments: [.string(interface), .string(name)], timeout: .seconds(5))
        return reply.first?.unwrapped ?? .string("")
    }

    /// Returns once logind has been asked for the first time (whatever the answer), or ``run(on:)`` has ended,
    /// so that a device present at start-up is not approved for nobody just because the question was still open.
    public func waitForFirstAnswer() async {
        await withCheckedContinuation { continuation in
            let answered = firstAnswerWaiters.withLock { waiters in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if answered { continuation.resume() }
        }
    }

    private func answerFirstWaiters() {
        let waiters = firstAnswerWaiters.withLock { waiters in
            defer { waiters = nil }
            return waiters ?? []
        }
        waiters.forEach { $0.resume() }
    }

    /// Stores `status` and logs a change once, when it happens.
    private func update(_ status: Status) {
        let previous = current.withLock { value in
            defer { value = status }
            return value
        }
        answerFirstWaiters()
        guard previous != status else { return }
        switch status {
        case .unknown:
            break
        case .absent:
            logger.notice("logind is not available; devices get no suggested owner", metadata: ["seat": "\(seat)"])
        case .noActiveSession:
            logger.info("No active session on the seat; devices get no suggested owner", metadata: ["seat": "\(seat)"])
        case .active(let user):
            logger.info("Active session user changed", metadata: ["seat": "\(seat)", "user": "\(user)"])
        }
    }
}
