// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Logging
import Synchronization

/// devsync's owner policy: the administrator's callout if one is configured and it answers, else the fallback
/// (the active user from ``LogindOwnerTracker``).
///
/// The registry asks ``suggestedOwner(for:)`` synchronously while it decides, and a callout takes up to its
/// timeout, so the two meet through a small cache: the composition root calls ``resolveOwner(for:)`` when the
/// registry requests approval for a device, publishes (or, with `ApprovalPolicy=auto`, approves for) the owner
/// it returns, and the callout's answer is remembered by device uid so that later synchronous questions about
/// the same device get the same answer.
public final class OwnerResolution: OwnerSuggesting {
    /// Callout answers kept at most; more pending devices than this at once is not a real desk.
    static let cacheLimit = 256

    private let callout: CalloutOwnerResolver?
    private let fallback: (any OwnerSuggesting)?
    private let answers = Mutex<[String: String]>([:])

    /// A policy asking `callout` first (nil: none configured), then `fallback` (nil: no fallback).
    public init(callout: CalloutOwnerResolver?, fallback: (any OwnerSuggesting)?) {
        self.callout = callout
        self.fallback = fallback
    }

    /// The policy `configuration` describes: its `OwnerCallout` (if any) with its timeout, then `fallback`.
    public convenience init(configuration: DaemonConfiguration, fallback: (any OwnerSuggesting)?, logger: Logger) {
        let callout = configuration.ownerCallout.map {
            CalloutOwnerResolver(executable: $0, timeout: configuration.ownerCalloutTimeout, logger: logger)
        }
        self.init(callout: callout, fallback: fallback)
    }

    /// The callout's remembered answer for `device`, else the fallback's suggestion; never waits.
    public func suggestedOwner(for device: DeviceRecord) -> String? {
        if let answer = answers.withLock({ $0[device.uid] }) { return answer }
        return fallback?.suggestedOwner(for: device)
    }

    /// Runs the callout for `device` (if configured), remembers its answer, and returns the owner to suggest.
    public func resolveOwner(for device: DeviceRecord) async -> String? {
        if let callout, let owner = await callout.owner(for: device.properties, uid: device.uid) {
            answers.withLock { answers in
                if answers.count >= Self.cacheLimit { answers.removeAll() }
                answers[device.uid] = owner
            }
            return owner
        }
        answers.withLock { _ = $0.removeValue(forKey: device.uid) }
        return fallback?.suggestedOwner(for: device)
    }

    /// Drops the remembered answer for `uid`, once the device is decided or forgotten.
    public func forget(uid: String) {
        answers.withLock { _ = $0.removeValue(forKey: uid) }
    }
}
