// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import DevsyncDaemon
import Foundation
import Logging
import Testing

/// A fallback that always suggests one user, standing in for the logind tracker.
private struct FixedOwner: OwnerSuggesting {
    var user: String?
    func suggestedOwner(for device: DeviceRecord) -> String? { user }
}

private func record(_ uid: String) -> DeviceRecord {
    DeviceRecord(
        uid: uid, vendor: "Palm", model: "Treo", kind: "pda", transport: .usb, plugin: "palm-sync", datatypes: [],
        owner: nil, status: .pending, present: true, stableId: true, firstSeen: 0, lastSeen: 0, profile: nil,
        properties: ["usb.vendor_id": .int(0x0830)], sourceKeys: [])
}

/// Writes an executable `/bin/sh` script through a close-on-exec descriptor (see ScriptDirectory).
private func script(_ body: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-owner-\(UUID().uuidString)").path
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    let bytes = Array("#!/bin/sh\n\(body)\n".utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    return path
}

private func configuration(callout: String?) -> DaemonConfiguration {
    DaemonConfiguration(ownerCallout: callout, ownerCalloutTimeout: .seconds(10))
}

/// Silent unless DEVSYNC_TEST_LOG is set (as in CalloutOwnerResolverTests): then why a callout gave no answer shows.
private let quiet: Logger = {
    var logger = Logger(label: "test.owner")
    logger.logLevel = ProcessInfo.processInfo.environment["DEVSYNC_TEST_LOG"] == nil ? .critical : .trace
    return logger
}()

@Suite("Owner resolution")
struct OwnerResolutionTests {
    @Test("the callout's answer wins over the active user, and is remembered for the device")
    func calloutFirst() async throws {
        let path = try script("[ \"$DEVSYNC_USB_VENDOR_ID\" = 0x0830 ] && echo nobody")
        defer { unlink(path) }
        let resolution = OwnerResolution(
            configuration: configuration(callout: path), fallback: FixedOwner(user: "root"), logger: quiet)
        #expect(resolution.suggestedOwner(for: record("a")) == "root", "before the callout ran, the active user")
        #expect(await resolution.resolveOwner(for: record("a")) == "nobody")
        #expect(resolution.suggestedOwner(for: record("a")) == "nobody")
        #expect(resolution.suggestedOwner(for: record("b")) == "root", "answers are per device")
        resolution.forget(uid: "a")
        #expect(resolution.suggestedOwner(for: record("a")) == "root")
    }

    @Test("a callout without an answer falls back to the active user")
    func calloutFails() async throws {
        let path = try script("exit 1")
        defer { unlink(path) }
        let resolution = OwnerResolution(
            configuration: configuration(callout: path), fallback: FixedOwner(user: "root"), logger: quiet)
        #expect(await resolution.resolveOwner(for: record("a")) == "root")
    }

    @Test("without a callout the active user is suggested; without either, nobody is")
    func noCallout() async {
        let withLogind = OwnerResolution(configuration: configuration(callout: nil), fallback: FixedOwner(user: "root"), logger: quiet)
        #expect(await withLogind.resolveOwner(for: record("a")) == "root")
        let bare = OwnerResolution(callout: nil, fallback: nil)
        #expect(await bare.resolveOwner(for: record("a")) == nil)
        #expect(bare.suggestedOwner(for: record("a")) == nil)
    }
}
