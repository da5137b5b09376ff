// SPDX-License-Identifier: Apache-2.0

extension RandomAccessCollection where Index == Int {
    /// Where the element whose `key` is `target` is in this collection, sorted ascending by `key` with no key
    /// twice, or where one would be inserted to keep it so: a binary search. The property sets
    /// (``DeviceProperties``) and the udev source's property list keep their entries this way.
    @inlinable
    package func sortedPosition<Key: Comparable>(of target: Key, by key: (Element) -> Key) -> (index: Int, found: Bool) {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            let candidate = key(self[middle])
            if candidate == target { return (middle, true) }
            if candidate < target { low = middle + 1 } else { high = middle }
        }
        return (low, false)
    }
}
