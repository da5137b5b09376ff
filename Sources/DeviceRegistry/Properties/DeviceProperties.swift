// SPDX-License-Identifier: Apache-2.0
/// A device's typed property set, keyed by HAL-style names (`usb.vendor_id`, `sync.plugin` …).
///
/// Every string stored is sanitized on the way in (see ``DeviceText``), so a property set is always safe to
/// publish, whatever the device sent.
public struct DeviceProperties: Sendable, Hashable {
    /// One key and its value.
    fileprivate struct Entry: Sendable, Hashable {
        var key: String
        var value: PropertyValue
    }

    /// The entries sorted by key: a device has a few dozen properties, and a sorted array holds them in
    /// about half the memory of a dictionary (no empty buckets, no hash table to grow), found by binary search in
    /// as few string comparisons as a hash costs (docs/benchmarks.md, "Memory per device").
    private var entries: [Entry]

    /// An empty property set.
    public init() { entries = [] }

    /// A property set holding `values`, sanitized.
    public init(_ values: [String: PropertyValue]) {
        entries = []
        entries.reserveCapacity(values.count)
        for (key, value) in values { entries.append(Entry(key: key, value: Self.sanitized(value))) }
        entries.sort { $0.key < $1.key }
    }

    /// Where `key` is, or where it would be inserted.
    private func position(of key: String) -> (index: Int, found: Bool) {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = entries[middle].key
            if candidate == key { return (middle, true) }
            if candidate < key { low = middle + 1 } else { high = middle }
        }
        return (low, false)
    }

    /// The value of `key`, or nil. Setting a string or strlist sanitizes it; setting nil removes the key.
    public subscript(key: String) -> PropertyValue? {
        get {
            let (index, found) = position(of: key)
            return found ? entries[index].value : nil
        }
        set {
            let (index, found) = position(of: key)
            switch (newValue, found) {
            case (let value?, true): entries[index].value = Self.sanitized(value)
            case (let value?, false):
                // Grown a few entries at a time rather than doubled: a property set is built key by key and then
                // kept for as long as its device is present, and doubling left up to half of it empty.
                if entries.count == entries.capacity { entries.reserveCapacity(entries.count + 4) }
                entries.insert(Entry(key: key, value: Self.sanitized(value)), at: index)
            case (nil, true): entries.remove(at: index)
            case (nil, false): break
            }
        }
    }

    /// The number of properties.
    public var count: Int { entries.count }

    /// Whether there are no properties.
    public var isEmpty: Bool { entries.isEmpty }

    /// The keys, sorted, for stable output.
    public var sortedKeys: [String] { entries.map(\.key) }

    /// Key-value pairs sorted by key.
    public var sorted: [(key: String, value: PropertyValue)] {
        entries.map { ($0.key, $0.value) }
    }

    /// The properties as a dictionary.
    public var dictionary: [String: PropertyValue] {
        Dictionary(uniqueKeysWithValues: entries.lazy.map { ($0.key, $0.value) })
    }

    /// Whether `key` is set.
    public func contains(_ key: String) -> Bool { position(of: key).found }

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
        if entries.isEmpty {
            entries = other.entries
            return
        }
        // Both sorted: one merge pass, no insertion each.
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

extension DeviceProperties: ExpressibleByDictionaryLiteral {
    /// A property set from a literal, sanitized.
    public init(dictionaryLiteral elements: (String, PropertyValue)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, new in new }))
    }
}

extension DeviceProperties: Sequence {
    /// Iterates in key order.
    public func makeIterator() -> Iterator { Iterator(entries: entries.makeIterator()) }

    /// Iterates over the key-value pairs in key order.
    public struct Iterator: IteratorProtocol {
        fileprivate var entries: IndexingIterator<[Entry]>

        /// The next pair, or nil at the end.
        public mutating func next() -> (key: String, value: PropertyValue)? {
            entries.next().map { ($0.key, $0.value) }
        }
    }

    /// The number of properties, so that collecting them allocates once.
    public var underestimatedCount: Int { entries.count }
}
