// SPDX-License-Identifier: Apache-2.0
import CSystemd

#if canImport(Glibc)
import Glibc
#endif

// The three layers for the hardware database: sd-hwdb's C calls, the checked open below that turns a negative
// return into a `DatabaseError`, and plain Swift pairs that leave this file. `sd_hwdb` is libudev's own
// database code (libudev's `udev_hwdb_new` is `sd_hwdb_new` in a wrapper); it is used here rather than
// `udev_hwdb_*` because only it can open a given file (`sd_hwdb_new_from_path`), which is how tests point it at
// the small database they build with `systemd-hwdb --root=DIR update`. Not thread-safe: `DeviceDatabases` and
// its owner keep it on one queue.

/// Owns one opened `hwdb.bin` (memory-mapped by sd-hwdb).
final class HardwareDatabase {
    private let pointer: OpaquePointer
    /// The file opened, or nil for the one libudev would open (`/etc/udev/hwdb.bin`, `/usr/lib/udev/hwdb.bin` …).
    let path: String?

    /// Opens the database at `path`, or the system's when nil; throws if there is none or it is not a database.
    init(path: String?) throws(DatabaseError) {
        var handle: OpaquePointer?
        let result = if let path { sd_hwdb_new_from_path(path, &handle) } else { sd_hwdb_new(&handle) }
        guard result >= 0, let handle else {
            throw DatabaseError(
                file: path ?? "hwdb.bin",
                message: "cannot open the hardware database: \(String(cString: strerror(-result)))")
        }
        self.pointer = handle
        self.path = path
    }

    deinit { sd_hwdb_unref(pointer) }

    /// Every key and value the database holds for `modalias` (its entries whose glob matches), in its order.
    func properties(modalias: String) -> [(key: String, value: String)] {
        guard sd_hwdb_seek(pointer, modalias) >= 0 else { return [] }
        var found: [(key: String, value: String)] = []
        var key: UnsafePointer<CChar>?
        var value: UnsafePointer<CChar>?
        while sd_hwdb_enumerate(pointer, &key, &value) > 0 {
            guard let key, let value else { continue }
            found.append((String(cString: key), String(cString: value)))
        }
        return found
    }
}
