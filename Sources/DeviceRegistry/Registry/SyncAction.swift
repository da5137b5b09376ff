// SPDX-License-Identifier: Apache-2.0
/// One thing a user can ask a device to do: sync one data type, or all of them.
public struct SyncAction: Sendable, Hashable, Identifiable {
    /// `sync-<datatype>` or `sync-all`: ASCII letters, digits and `-`, safe in D-Bus names and command lines.
    public var id: String
    /// A short label for menus: "Sync contacts", "Sync all".
    public var label: String
    /// The data types the action syncs.
    public var datatypes: [String]

    /// An action with this id, label and data types.
    public init(id: String, label: String, datatypes: [String]) {
        self.id = id
        self.label = label
        self.datatypes = datatypes
    }

    /// The id of the action that syncs every data type.
    public static let allID = "sync-all"

    /// The actions a device with `plugin` and `datatypes` offers: one per data type, in the profile's order and
    /// without repeats, then `sync-all`. A device without a plugin offers none; with a plugin but no data
    /// types it offers only `sync-all`, leaving the choice to the plugin.
    public static func actions(plugin: String, datatypes: [String]) -> [SyncAction] {
        guard !plugin.isEmpty else { return [] }
        var seen: Set<String> = [allID]
        var actions: [SyncAction] = []
        var covered: [String] = []
        for datatype in datatypes where !datatype.isEmpty {
            let id = "sync-" + slug(datatype)
            guard seen.insert(id).inserted else { continue }
            covered.append(datatype)
            actions.append(SyncAction(id: id, label: label(for: datatype), datatypes: [datatype]))
        }
        actions.append(SyncAction(id: allID, label: "Sync all", datatypes: covered))
        return actions
    }

    /// The menu label for one data type; the ones `docs/profiles.md` names read naturally, others as given.
    static func label(for datatype: String) -> String {
        switch datatype {
        case "todo": "Sync to-dos"
        case "video": "Sync videos"
        default: "Sync \(datatype)"
        }
    }

    /// `datatype` lower-cased with every run of other characters than ASCII letters and digits as one `-`.
    static func slug(_ datatype: String) -> String {
        var result = ""
        var pendingDash = false
        for scalar in datatype.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash, !result.isEmpty { result += "-" }
                pendingDash = false
                result.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        return result.isEmpty ? "x" : result
    }
}
