// SPDX-License-Identifier: Apache-2.0
/// What one sync changed, per data type and side, from SyncEvolution's session report (`status.ini`).
public struct SyncSummary: Sendable, Equatable {
    /// Items added, updated and deleted on one side.
    public struct Changes: Sendable, Equatable {
        public var added = 0
        public var updated = 0
        public var deleted = 0
        /// Items SyncEvolution could not apply (rejected by the side's datastore).
        public var rejected = 0

        public init(added: Int = 0, updated: Int = 0, deleted: Int = 0, rejected: Int = 0) {
            self.added = added
            self.updated = updated
            self.deleted = deleted
            self.rejected = rejected
        }
    }

    /// One datastore's result.
    public struct Datastore: Sendable, Equatable {
        /// SyncEvolution's datastore: `addressbook`, `calendar+todo` …
        public var name: String
        /// The data types it carried.
        public var dataTypes: [SyncDataType]
        /// How it was synced, as SyncEvolution says: `slow`, `two-way` …
        public var mode: String
        /// Changes made on this computer (the `@devsync` datastores).
        public var local: Changes
        /// Changes made on the phone.
        public var phone: Changes
    }

    /// One entry per datastore synced, in data type order.
    public var datastores: [Datastore]
    /// SyncEvolution's session directory (its log and the before/after backups), if found.
    public var sessionDirectory: String?

    /// The datastore that carried `type`.
    public func datastore(for type: SyncDataType) -> Datastore? {
        datastores.first { $0.dataTypes.contains(type) }
    }
}

/// SyncEvolution's `status.ini`: `key = value` lines, per datastore `source-<name>-<field>`.
struct SessionStatus {
    var values: [String: String] = [:]

    init(text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: " \t")
            let value = line[line.index(after: equals)...].trimmingCharacters(in: " \t")
            values[key] = value
        }
    }

    /// The session's overall status: 200 or 0 for success, a SyncML or SyncEvolution code otherwise.
    var status: Int? { values["status"].flatMap { Int($0) } }

    func int(_ datastore: String, _ field: String) -> Int {
        values["source-\(Self.escape(datastore))-\(field)"].flatMap { Int($0) } ?? 0
    }

    func mode(_ datastore: String) -> String? { values["source-\(Self.escape(datastore))-mode"] }

    /// SyncEvolution escapes characters other than letters, digits and `-` in keys as `!xx` (hex).
    static func escape(_ name: String) -> String {
        var result = ""
        for byte in name.utf8 {
            let scalar = Unicode.Scalar(byte)
            if ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-" {
                result.unicodeScalars.append(scalar)
            } else {
                result += "!" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        return result
    }

    func changes(_ datastore: String, side: String) -> SyncSummary.Changes {
        SyncSummary.Changes(
            added: int(datastore, "stat-\(side)-added-total"),
            updated: int(datastore, "stat-\(side)-updated-total"),
            deleted: int(datastore, "stat-\(side)-removed-total"),
            rejected: int(datastore, "stat-\(side)-any-reject"))
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
