// SPDX-License-Identifier: Apache-2.0
/// A device's typed property set, keyed by HAL-style names (`usb.vendor_id`, `sync.plugin` …).
///
/// Every string stored is sanitized on the way in (see ``DeviceText``), so a property set is always safe to
/// publish, whatever the device sent.
public struct DeviceProperties: Sendable, Hashable {
    private var values: [String: PropertyValue]

    /// An empty property set.
    public init() { values = [:] }

    /// A property set holding `values`, sanitized.
    public init(_ values: [String: PropertyValue]) {
        self.values = [:]
        self.values.reserveCapacity(values.count)
        for (key, value) in values { self[key] = value }
    }

    /// The value of `key`, or nil. Setting a string or strlist sanitizes it; setting nil removes the key.
    public subscript(key: String) -> PropertyValue? {
        get { values[key] }
        set { values[key] = newValue.map(Self.sanitized) }
    }

    /// The number of properties.
    public var count: Int { values.count }

    /// Whether there are no properties.
    public var isEmpty: Bool { values.isEmpty }

    /// The keys, sorted, for stable output.
    public var sortedKeys: [String] { values.keys.sorted() }

    /// Key-value pairs sorted by key.
    public var sorted: [(key: String, value: PropertyValue)] {
        values.sorted { $0.key < $1.key }
    }

    /// The raw dictionary.
    public var dictionary: [String: PropertyValue] { values }

    /// Whether `key` is set.
    public func contains(_ key: String) -> Bool { values[key] != nil }

    /// The string value of `key`, if it is a string.
    public func string(_ key: String) -> String? { values[key]?.stringValue }

    /// The int value of `key`, if it is an int.
    public func int(_ key: String) -> Int32? { values[key]?.intValue }

    /// The bool value of `key`, if it is a bool.
    public func bool(_ key: String) -> Bool? { values[key]?.boolValue }

    /// The strlist value of `key`, if it is a strlist.
    public func strlist(_ key: String) -> [String]? { values[key]?.strlistValue }

    /// Sets every property of `other` over this set.
    public mutating func merge(_ other: DeviceProperties) {
        values.merge(other.values) { _, new in new }
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
    /// Iterates in unspecified order; use ``sorted`` for stable output.
    public func makeIterator() -> Dictionary<String, PropertyValue>.Iterator { values.makeIterator() }
}
