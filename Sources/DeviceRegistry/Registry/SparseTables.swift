// SPDX-License-Identifier: Apache-2.0

extension Dictionary {
    /// Gives back the storage of a table that emptied: a Swift dictionary keeps its capacity when entries are
    /// removed, so the per-device tables of a daemon that saw 2,600 devices at once kept their 4,096 slots (one
    /// heap block of about 0.7 MB each) after all of them left (docs/benchmarks.md, "Memory after floods"). Once
    /// fewer than an eighth of the slots are used, the table is copied into one twice the size of its contents;
    /// the margin keeps a table that goes up and down by a few entries from being copied each time.
    package mutating func releaseUnusedCapacity() {
        guard capacity > 64, count < capacity / 8 else { return }
        var smaller = Dictionary(minimumCapacity: count * 2)
        for (key, value) in self { smaller[key] = value }
        self = smaller
    }
}
