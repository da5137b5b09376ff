// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Checks that text names a real local user before devsync proposes it as an owner.
enum UserName {
    /// Whether `text` is a portable POSIX user name: `[A-Za-z_][A-Za-z0-9_.-]*`, at most 32 characters.
    static func isWellFormed(_ text: String) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= 32 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        guard isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return text.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    /// Whether the password database knows `name` (getpwnam_r; may consult NSS, so call it off the event loop).
    static func exists(_ name: String) -> Bool {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var size = 4096
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            let code = getpwnam_r(name, &entry, &buffer, size, &result)
            if code == ERANGE {
                size *= 4
                continue
            }
            return code == 0 && result != nil
        }
        return false
    }

    /// The name of the user with `uid`, if the password database knows it.
    static func name(of uid: UInt32) -> String? {
        var size = 4096
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            // The strings in `entry` point into `buffer`: copy the name out while the buffer is pinned.
            let (code, name): (Int32, String?) = buffer.withUnsafeMutableBufferPointer { storage in
                var entry = passwd()
                var result: UnsafeMutablePointer<passwd>?
                let code = getpwuid_r(uid, &entry, storage.baseAddress!, storage.count, &result)
                guard code == 0, let found = result, let name = found.pointee.pw_name else {
                    return (code, nil)
                }
                return (code, String(cString: name))
            }
            if code == ERANGE {
                size *= 4
                continue
            }
            return name
        }
        return nil
    }
}
