// SPDX-License-Identifier: Apache-2.0
import CLibMTP

#if canImport(Glibc)
import Glibc
#endif

// libmtp's device table: the makers' and devices' names of every MTP device libmtp knows, the same table its
// hwdb (69-libmtp.hwdb, `ID_MTP_DEVICE=1`) is generated from, but with the names, which the hwdb leaves out.
// The library is opened at run time with dlopen and read through its own call,
// `LIBMTP_Get_Supported_Devices_List`, which hands out a pointer to its static table and needs no
// `LIBMTP_Init`. Not linked: devsyncd runs without libmtp9 installed (no names, then), and builds without
// libmtp-dev. The C pointers stay in this file; names leave it as Swift strings.

/// One opened copy of libmtp, with its device table.
final class MTPDeviceList {
    /// What libmtp's table says about one device.
    struct Entry: Sendable, Hashable {
        /// The maker's name (`Lenovo`).
        var vendor: String
        /// The device's name (`IdeaTab A3000`).
        var product: String
    }

    /// The library opened: a soname (`libmtp.so.9`, found where the dynamic loader looks) or a path.
    let library: String
    private let handle: UnsafeMutableRawPointer
    private let table: UnsafeBufferPointer<devsync_libmtp_device_entry>

    /// libmtp's soname: the library a distribution's libmtp9 (or libmtp-1.1's) package installs.
    static let defaultLibrary = "libmtp.so.9"
    /// Tables longer than this are not believed (libmtp 1.1.20 lists 1,407 entries).
    static let entryLimit = 1 << 16

    /// Opens `library` and finds its table; throws if it cannot be opened or is not libmtp.
    init(library: String) throws(DatabaseError) {
        // RTLD_LOCAL: libmtp's symbols (and those of the libgcrypt it brings) are not added to the process's.
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            throw DatabaseError(file: library, message: "cannot open libmtp: \(Self.loaderError())")
        }
        guard let symbol = dlsym(handle, "LIBMTP_Get_Supported_Devices_List") else {
            dlclose(handle)
            throw DatabaseError(file: library, message: "not libmtp: it has no LIBMTP_Get_Supported_Devices_List")
        }
        let list = unsafeBitCast(symbol, to: devsync_libmtp_supported_devices.self)
        var entries: UnsafeMutablePointer<devsync_libmtp_device_entry>?
        var count: Int32 = 0
        let result = list(&entries, &count)
        guard result == 0, let entries, count >= 0, count <= Self.entryLimit else {
            dlclose(handle)
            throw DatabaseError(file: library, message: "libmtp gave no device table (result \(result), \(count) entries)")
        }
        self.library = library
        self.handle = handle
        self.table = UnsafeBufferPointer(start: entries, count: Int(count))
    }

    deinit { dlclose(handle) }

    /// How many entries the table has (an id listed twice counts twice).
    var count: Int { table.count }

    /// The first entry for `vendor`:`product`, or nil when libmtp does not list it. A linear walk: about 1,400
    /// entries of 32 bytes, looked up once per kind of device (``DeviceDatabases`` keeps what it found).
    func entry(vendor: UInt16, product: UInt16) -> Entry? {
        for entry in table where entry.vendor_id == vendor && entry.product_id == product {
            return Entry(vendor: Self.string(entry.vendor), product: Self.string(entry.product))
        }
        return nil
    }

    /// A C string of the table as Swift text: invalid UTF-8 repaired, at most 255 bytes read, nil as empty.
    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        let length = strnlen(pointer, 255)
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    private static func loaderError() -> String {
        guard let message = dlerror() else { return "unknown error" }
        return String(cString: message)
    }
}
