// SPDX-License-Identifier: Apache-2.0
/// A kind of personal data a SyncML phone syncs, under the name devsync's profiles use (`sync.datatypes`).
public enum SyncDataType: String, Sendable, Hashable, CaseIterable, Comparable {
    /// vCards, SyncEvolution's `addressbook`.
    case contacts
    /// Events, `calendar`.
    case calendar
    /// Tasks, `todo`.
    case todo
    /// Plain-text notes, `memo`.
    case notes

    /// The data type devsync calls `name`, or nil for one SyncEvolution does not sync (photos, music …).
    public init?(devsyncName name: String) {
        self.init(rawValue: name.lowercased())
    }

    /// SyncEvolution's datastore (source) for this data type in its phone templates.
    public var datastore: String {
        switch self {
        case .contacts: "addressbook"
        case .calendar: "calendar"
        case .todo: "todo"
        case .notes: "memo"
        }
    }

    /// The format a `file` backend keeps the items in (`databaseFormat`).
    var fileFormat: String {
        switch self {
        case .contacts: "text/vcard"
        case .calendar, .todo: "text/calendar"
        case .notes: "text/plain"
        }
    }

    /// In the order of the cases: contacts, calendar, to-dos, notes.
    public static func < (lhs: SyncDataType, rhs: SyncDataType) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
