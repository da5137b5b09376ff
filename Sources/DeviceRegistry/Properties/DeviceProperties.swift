// SPDX-License-Identifier: Apache-2.0
/// A device's typed property set, keyed by HAL-style names (`usb.vendor_id`, `sync.plugin` …).
///
/// Every string stored is sanitized on the way in (see ``DeviceText``), so a property set is always safe to
/// publish, whatever the device sent.
public struct DeviceProperties: Sendable {
    /// One key and its value.
    fileprivate struct Entry: Sendable, Hashable {
        var key: String
        var value: PropertyValue
    }

    /// One key's change over the entries of a layered set: a new value, or nil where the key is removed.
    fileprivate struct Change: Sendable, Hashable {
        var key: String
        var value: PropertyValue?
    }

    /// The entries sorted by key: a device has a few dozen properties, and a sorted array holds them in
    /// about half the memory of a dictionary (no empty buckets, no hash table to grow), found by binary search in
    /// as few string comparisons as a hash costs (docs/benchmarks.md, "Memory per device").
    private var entries: [Entry]

    /// In a layered set (``init(overlaying:)``), what was changed over `entries`, sorted by key; nil in a flat set.
    ///
    /// The profiles' merges are made on a layered copy of the raw observation, so the merged set the registry keeps
    /// beside the raw one shares the raw one's entries and holds only the handful of keys the profiles set
    /// (`sync.*`, a refined `info.*`), instead of a second full copy (docs/benchmarks.md, issue 17).
    private var changes: [Change]?

    /// An empty property set.
    public init() { entries = [] }

    /// A property set holding `values`, sanitized.
    public init(_ values: [String: PropertyValue]) {
        entries = []
        entries.reserveCapacity(values.count)
        for (key, value) in values { entries.append(Entry(key: key, value: Self.sanitized(value))) }
        entries.sort { $0.key < $1.key }
    }

    /// The same properties as `base`, as a layer over it: changes are kept apart and `base`'s entries are shared,
    /// not copied. For a set derived from another and kept beside it, such as the profiles' merges over an
    /// observation.
    public init(overlaying base: DeviceProperties) {
        entries = base.changes == nil ? base.entries : base.flatEntries
        changes = []
    }

    /// Where `key` is in `entries`, or where it would be inserted.
    private static func position(of key: String, in entries: [Entry]) -> (index: Int, found: Bool) {
        entries.sortedPosition(of: key) { $0.key }
    }

    /// Where `key` is in `changes`, or where it would be inserted.
    private static func position(of key: String, in changes: [Change]) -> (index: Int, found: Bool) {
        changes.sortedPosition(of: key) { $0.key }
    }

    /// The value of `key`, or nil. Setting a string or strlist sanitizes it; setting nil removes the key.
    public subscript(key: String) -> PropertyValue? {
        get {
            if let changes {
                let (index, found) = Self.position(of: key, in: changes)
                if found { return changes[index].value }
            }
            let (index, found) = Self.position(of: key, in: entries)
            return found ? entries[index].value : nil
        }
        set { assign(key, newValue.map(Self.sanitized)) }
    }

    /// Sets or removes `key`, its value already sanitized.
    private mutating func assign(_ key: String, _ newValue: PropertyValue?) {
        guard changes != nil else {
            setEntry(key, newValue)
            return
        }
        let (index, found) = Self.position(of: key, in: entries)
        let original = found ? entries[index].value : nil
        let (changeIndex, changed) = Self.position(of: key, in: changes!)
        if newValue == original {
            if changed { changes!.remove(at: changeIndex) }
        } else if changed {
            changes![changeIndex].value = newValue
        } else {
            changes!.insert(Change(key: key, value: newValue), at: changeIndex)
        }
    }

    /// Sets or removes `key` in the entries of a flat set.
    private mutating func setEntry(_ key: String, _ newValue: PropertyValue?) {
        let (index, found) = Self.position(of: key, in: entries)
        switch (newValue, found) {
        case (let value?, true): entries[index].value = value
        case (let value?, false):
            // Grown a few entries at a time rather than doubled: a property set is built key by key and then
            // kept for as long as its device is present, and doubling left up to half of it empty.
            if entries.count == entries.capacity { entries.reserveCapacity(entries.count + 4) }
            entries.insert(Entry(key: key, value: value), at: index)
        case (nil, true): entries.remove(at: index)
        case (nil, false): break
        }
    }

    /// The entries with the changes applied, sorted by key.
    private var flatEntries: [Entry] {
        guard changes != nil else { return entries }
        var flat: [Entry] = []
        flat.reserveCapacity(count)
        var iterator = makeIterator()
        while let (key, value) = iterator.next() { flat.append(Entry(key: key, value: value)) }
        return flat
    }

    /// The number of properties.
    public var count: Int {
        guard let changes else { return entries.count }
        var count = entries.count
        for change in changes {
            let inEntries = Self.position(of: change.key, in: entries).found
            if change.value == nil, inEntries { count -= 1 }
            if change.value != nil, !inEntries { count += 1 }
        }
        return count
    }

    /// Whether there are no properties.
    public var isEmpty: Bool { count == 0 }

    /// The keys, sorted, for stable output.
    public var sortedKeys: [String] { map(\.key) }

    /// Key-value pairs sorted by key.
    public var sorted: [(key: String, value: PropertyValue)] { map { ($0.key, $0.value) } }

    /// The properties as a dictionary.
    public var dictionary: [String: PropertyValue] {
        Dictionary(uniqueKeysWithValues: lazy.map { ($0.key, $0.value) })
    }

    /// Whether `key` is set.
    public func contains(_ key: String) -> Bool { self[key] != nil }

    /// The string value of `key`, if it is a string.
    public func string(_ key: String) -> String? { self[key]?.stringValue }

    /// The int value of `key`, if it is an int.
    public func int(_ key: String) -> Int32? { self[key]?.intValue }

    /// The bool value of `key`, if it is a bool.
    public func bool(_ key: String) -> Bool? { self[key]?.boolValue }

    /// The strlist value of `key`, if it is a strlist.
    public func strlist(_ key: String) -> [String]? { self[key]?.strlistValue }

    /// Sets every property of `other` over this set.
    public mutating func merge(_ other: DeviceProperties) {
        if changes == nil, entries.isEmpty {
            self = other
            return
        }
        guard changes == nil, other.changes == nil else {
            for (key, value) in other { assign(key, value) }
            return
        }
        // Both flat and sorted: one merge pass, no insertion each.
        var merged: [Entry] = []
        merged.reserveCapacity(entries.count + other.entries.count)
        var mine = 0
        var theirs = 0
        while mine < entries.count, theirs < other.entries.count {
            let left = entries[mine].key
            let right = other.entries[theirs].key
            if left < right {
                merged.append(entries[mine])
                mine += 1
            } else {
                merged.append(other.entries[theirs])
                theirs += 1
                if left == right { mine += 1 }
            }
        }
        merged.append(contentsOf: entries[mine...])
        merged.append(contentsOf: other.entries[theirs...])
        entries = merged
    }

    private static func sanitized(_ value: PropertyValue) -> PropertyValue {
        switch value {
        case .string(let text): .string(DeviceText.sanitize(text))
        case .strlist(let list): .strlist(DeviceText.sanitize(list))
        default: value
        }
    }
}

extension DeviceProperties: Hashable {
    /// Equal when they hold the same keys and values, however each is laid out.
    public static func == (lhs: DeviceProperties, rhs: DeviceProperties) -> Bool {
        if lhs.changes == nil, rhs.changes == nil { return lhs.entries == rhs.entries }
        var left = lhs.makeIterator()
        var right = rhs.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let l?, let r?) where l.key == r.key && l.value == r.value: continue
            default: return false
            }
        }
    }

    /// Hashes the keys and values in key order, as `==` compares them.
    public func hash(into hasher: inout Hasher) {
        var count = 0
        for (key, value) in self {
            hasher.combine(key)
            hasher.combine(value)
            count += 1
        }
        hasher.combine(count)
    }
}

extension DeviceProperties: ExpressibleByDictionaryLiteral {
    /// A property set from a literal, sanitized.
    public init(dictionaryLiteral elements: (String, PropertyValue)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, new in new }))
    }
}

extension DeviceProperties: Sequence {
    /// Iterates in key order.
    public func makeIterator() -> Iterator {
        Iterator(entries: entries, changes: changes ?? [], entryIndex: 0, changeIndex: 0)
    }

    /// Iterates over the key-value pairs in key order.
    public struct Iterator: IteratorProtocol {
        fileprivate let entries: [Entry]
        fileprivate let changes: [Change]
        fileprivate var entryIndex: Int
        fileprivate var changeIndex: Int

        /// The next pair, or nil at the end.
        public mutating func next() -> (key: String, value: PropertyValue)? {
            while true {
                let entry = entryIndex < entries.count ? entries[entryIndex] : nil
                let change = changeIndex < changes.count ? changes[changeIndex] : nil
                switch (entry, change) {
                case (nil, nil):
                    return nil
                case (let entry?, nil):
                    entryIndex += 1
                    return (entry.key, entry.value)
                case (let entry?, let change?) where entry.key < change.key:
                    entryIndex += 1
                    return (entry.key, entry.value)
                case (let entry, let change?):
                    // A change replaces the entry of its key, or removes it.
                    if let entry, entry.key == change.key { entryIndex += 1 }
                    changeIndex += 1
                    if let value = change.value { return (change.key, value) }
                }
            }
        }
    }

    /// The number of properties, so that collecting them allocates once.
    public var underestimatedCount: Int { changes == nil ? entries.count : count }
}
