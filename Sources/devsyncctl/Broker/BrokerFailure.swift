// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DBus

/// The exit statuses scripts can rely on; `devsyncctl --help` and devsyncctl(1) list them.
enum ExitStatus {
    /// The broker refused the call (an error reply), or another error.
    static let refused: Int32 = 1
    /// The command line was wrong.
    static let usage: Int32 = 2
    /// No device has that uid, or the prefix matches several.
    static let noSuchDevice: Int32 = 3
    /// The caller may not do this (neither the owner nor authorized by polkit).
    static let notAuthorized: Int32 = 4
    /// The sync ran and failed.
    static let syncFailed: Int32 = 5
    /// The sync was cancelled.
    static let syncCancelled: Int32 = 6
    /// The broker is not running or the bus cannot be reached (EX_UNAVAILABLE).
    static let unavailable: Int32 = 69

    /// The table printed in `--help` and kept in step with devsyncctl(1).
    static let discussion = """
        Exit status:
          0   success
          1   the broker refused the request (its sentence is printed), or another error
          2   usage error
          3   no such device, or the uid prefix matches several devices
          4   not authorized: you are not the owner and polkit said no
          5   sync: the sync failed
          6   sync: the sync was cancelled
          69  the broker is not running, or the bus cannot be reached
        """
}

/// A failure `devsyncctl` reports as one sentence on standard error and an exit status.
struct BrokerFailure: Error, CustomStringConvertible {
    /// What went wrong, as a sentence.
    var message: String
    /// The process's exit status.
    var status: Int32

    var description: String { message }

    /// The broker names its refusals `org.devsync.Broker1.Error.*`; the bus names its own.
    init(_ error: DBusError) {
        message = error.message.isEmpty ? error.name : error.message
        switch error.name {
        case "org.devsync.Broker1.Error.NoSuchDevice": status = ExitStatus.noSuchDevice
        case "org.devsync.Broker1.Error.NotAuthorized", DBusError.Name.accessDenied: status = ExitStatus.notAuthorized
        case "org.freedesktop.DBus.Error.ServiceUnknown", DBusError.Name.nameHasNoOwner:
            status = ExitStatus.unavailable
            message = "the devsync broker (\(Broker.busName)) is not running"
        case DBusError.Name.noReply, DBusError.Name.disconnected:
            status = ExitStatus.unavailable
            message = "the devsync broker did not answer: \(message)"
        case let name where name.hasPrefix("org.freedesktop.DBus.Error.Spawn."):
            // D-Bus activation (data/org.devsync.Broker1.service.in) tried to start the broker and failed.
            status = ExitStatus.unavailable
            message = "the devsync broker could not be started: \(message)"
        default: status = ExitStatus.refused
        }
    }

    init(_ message: String, status: Int32 = ExitStatus.refused) {
        self.message = message
        self.status = status
    }
}

/// Runs a verb's body; prints any failure as "devsyncctl: sentence" and exits with its status.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as BrokerFailure {
        Output.error("devsyncctl: \(failure.message)")
        throw ExitCode(failure.status)
    } catch let error as DBusError {
        let failure = BrokerFailure(error)
        Output.error("devsyncctl: \(failure.message)")
        throw ExitCode(failure.status)
    }
}
