// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Synchronization
/// The udev properties a ``USBDeviceRecord`` keeps for as long as its device is present: name-value pairs sorted
/// by name.
///
/// A device has a dozen or two; a sorted array holds them in about half the memory of a `[String: String]`
/// (no empty buckets, no hash table), and a lookup is a binary search (docs/benchmarks.md, issue 17).
struct UdevPropertyList: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    private var pairs: [Pair] = []

    fileprivate struct Pair: Sendable, Hashable {
        var name: String
        var value: String
    }

    /// A list holding `elements`; a repeated name keeps its last value.
    init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { self[name] = value }
    }

    /// Where `name` is, or where it would be inserted.
    private func position(of name: String) -> (index: Int, found: Bool) {
        pairs.sortedPosition(of: name) { $0.name }
    }

    /// The value of `name`, or nil; setting nil removes it.
    subscript(name: String) -> String? {
        get {
            let (index, found) = position(of: name)
            return found ? pairs[index].value : nil
        }
        set {
            let (index, found) = position(of: name)
            switch (newValue, found) {
            case (let value?, true): pairs[index].value = value
            case (let value?, false):
                // Grown a few at a time: the list is built once per read of the device and kept as built.
                if pairs.count == pairs.capacity { pairs.reserveCapacity(pairs.count + 4) }
                pairs.insert(Pair(name: name, value: value), at: index)
            case (nil, true): pairs.remove(at: index)
            case (nil, false): break
            }
        }
    }

    /// The number of properties.
    var count: Int { pairs.count }

    /// The key a udev property is published under, `udev.<NAME>`: one string for every device, not one each.
    ///
    /// A key longer than 15 bytes is not stored inline in its `String`, and `ID_MEDIA_PLAYER`'s, `ID_MTP_DEVICE`'s
    /// and most others are: made anew for each device, they cost an allocation per key in every property set the
    /// registry keeps (docs/benchmarks.md, issue 17). The names are udev's (its rules and hwdb), a few dozen on a
    /// system; the table keeps the first 512.
    static func publishedKey(for name: String) -> String {
        if let known = publishedKeys.withLock({ $0[name] }) { return known }
        let key = PropertyKey.udevPrefix + name
        guard key.utf8.count > 15 else { return key }
        return publishedKeys.withLock { keys in
            if let known = keys[name] { return known }
            if keys.count < 512 { keys[name] = key }
            return key
        }
    }

    private static let publishedKeys = Mutex<[String: String]>([:])
}

extension UdevPropertyList: Sequence {
    /// Iterates over the name-value pairs in name order.
    func makeIterator() -> Iterator { Iterator(pairs: pairs.makeIterator()) }

    /// Iterates over the name-value pairs in name order.
    struct Iterator: IteratorProtocol {
        fileprivate var pairs: IndexingIterator<[Pair]>

        /// The next pair, or nil at the end.
        mutating func next() -> (name: String, value: String)? { pairs.next().map { ($0.name, $0.value) } }
    }

    /// The number of properties, so that collecting them allocates once.
    var underestimatedCount: Int { pairs.count }
}
