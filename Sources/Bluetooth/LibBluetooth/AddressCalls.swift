// SPDX-License-Identifier: Apache-2.0
import CBluetooth

// The address edge of libbluetooth in its two lower layers: raw calls that mirror the C functions one to one,
// and checked calls that refuse what C cannot see (embedded NULs) and turn a -1 into a typed error.

// MARK: Raw calls

enum RawAddressCalls {
    /// `bachk(3)`: 0 when `text` has the `XX:XX:XX:XX:XX:XX` shape, -1 otherwise.
    static func bachk(_ text: UnsafePointer<CChar>) -> Int32 {
        CBluetooth.bachk(text)
    }

    /// `str2ba(3)`: parses `text` into `address` (stored little-endian), -1 when it is malformed.
    static func str2ba(_ text: UnsafePointer<CChar>, _ address: UnsafeMutablePointer<bdaddr_t>) -> Int32 {
        CBluetooth.str2ba(text, address)
    }

    /// `ba2str(3)`: writes 17 upper-case characters and a NUL into `buffer` (at least 18 bytes).
    static func ba2str(_ address: UnsafePointer<bdaddr_t>, _ buffer: UnsafeMutablePointer<CChar>) -> Int32 {
        CBluetooth.ba2str(address, buffer)
    }
}

// MARK: Checked calls

enum CheckedAddressCalls {
    /// Parses `text` with `bachk` and `str2ba`, or throws naming the text.
    static func parse(_ text: String) throws(BluetoothAddressError) -> bdaddr_t {
        // C stops at the first NUL: "00:11:22:33:44:55\0junk" must not pass as the address before it.
        guard !text.utf8.contains(0), text.utf8.count == 17 else {
            throw BluetoothAddressError(text: text)
        }
        var address = bdaddr_t()
        let status = text.withCString { pointer -> Int32 in
            guard RawAddressCalls.bachk(pointer) == 0 else { return -1 }
            return RawAddressCalls.str2ba(pointer, &address)
        }
        guard status == 0 else { throw BluetoothAddressError(text: text) }
        return address
    }

    /// Formats `address` with `ba2str`: upper-case `XX:XX:XX:XX:XX:XX`.
    static func format(_ address: bdaddr_t) -> String {
        var address = address
        var buffer = [CChar](repeating: 0, count: 18)
        let written = buffer.withUnsafeMutableBufferPointer { out in
            RawAddressCalls.ba2str(&address, out.baseAddress!)
        }
        // ba2str is a sprintf of six fixed-width bytes; it cannot fail short of memory corruption.
        precondition(written == 17, "ba2str wrote \(written) characters")
        return String(decoding: buffer.prefix(17).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Converts between libbluetooth's little-endian `bdaddr_t` and a 48-bit value in display order.
    static func value(of address: bdaddr_t) -> UInt64 {
        let b = address.b
        return [b.5, b.4, b.3, b.2, b.1, b.0].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The `bdaddr_t` for a 48-bit value in display order.
    static func address(of value: UInt64) -> bdaddr_t {
        func byte(_ index: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: value >> (8 * index)) }
        return bdaddr_t(b: (byte(0), byte(1), byte(2), byte(3), byte(4), byte(5)))
    }
}
