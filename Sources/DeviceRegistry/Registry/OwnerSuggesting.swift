// SPDX-License-Identifier: Apache-2.0
/// Suggests who a newly seen device belongs to, for the approval request (logind's active session user, later).
///
/// Synchronous on purpose: the registry asks while it decides, and must not be suspended mid-decision. An
/// implementation answers from state it keeps current itself (a cached seat owner), and never blocks.
public protocol OwnerSuggesting: Sendable {
    /// The user name to suggest as owner of `device`, or nil for no suggestion.
    func suggestedOwner(for device: DeviceRecord) -> String?
}
