// SPDX-License-Identifier: Apache-2.0
/// The journal's `MESSAGE_ID=` of the events an operator looks for, set as the `message-id` metadata of the
/// line that reports each; devsyncd's journal handler turns it into the field (docs/logging.md,
/// data/devsyncd.catalog). Fixed for good: `journalctl MESSAGE_ID=…` and catalog entries depend on them.
public enum LogMessageID {
    /// A device became present (new or known), matched by a profile.
    public static let deviceArrived = "9463499f85884a36b7c3e5002067f28e"
    /// A device was approved for an owner.
    public static let deviceApproved = "9f168d681dd04d51b23b0594f713c89c"
    /// A device was rejected.
    public static let deviceRejected = "6c559ed33e204a0cae56d06901e0ac3f"
    /// A sync job ended (succeeded, failed or cancelled).
    public static let syncFinished = "e0e5829a973f4e129efe3b58bb9ae070"
}
