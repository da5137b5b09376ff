// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The system's user database (NSS, through the reentrant `getpw*_r` calls).
public enum UserAccounts {
    /// The uid of the user called `name`, or nil if there is none.
    public static func uid(ofUser name: String) -> UInt32? {
        guard !name.isEmpty, !name.utf8.contains(0) else { return nil }
        return lookUp { entry, buffer, size, result in getpwnam_r(name, &entry, buffer, size, &result) }?.uid
    }

    /// The name of the user with `uid`, or nil if it has none.
    public static func userName(ofUID uid: UInt32) -> String? {
        lookUp { entry, buffer, size, result in getpwuid_r(uid_t(uid), &entry, buffer, size, &result) }?.name
    }

    /// Runs one `getpw*_r` call, growing the buffer while it reports ERANGE, and copies the answer out at once.
    private static func lookUp(
        _ call: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> (uid: UInt32, name: String)? {
        let suggested = sysconf(Int32(_SC_GETPW_R_SIZE_MAX))
        var size = suggested > 0 ? suggested : 1024
        while size <= 1 << 20 {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let status = call(&entry, buffer, size, &result)
            if status == ERANGE {
                size *= 2
                continue
            }
            guard status == 0, let found = result else { return nil }
            return (UInt32(found.pointee.pw_uid), String(cString: found.pointee.pw_name))
        }
        return nil
    }
}
