// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import UdevMonitor

/// A media-player-info `.mpi` file and a `modules.alias`, the same bytes read as each. Root-owned files, but
/// written by packages devsync does not control: every bad line must be an error with a line inside the file,
/// and whatever is kept must be clean device text.
enum DatabaseFuzzing {
    static func run(_ bytes: [UInt8]) -> String? {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
        let (info, mpiErrors) = MediaPlayerInfo.parse(bytes, name: "fuzz", file: "fuzz.mpi")
        for error in mpiErrors where !(1...lines).contains(error.line ?? 0) {
            return "an .mpi error outside the file's \(lines) lines: \(error)"
        }
        for (key, value) in info.properties {
            guard key.hasPrefix(PropertyKey.mediaPlayerInfoPrefix) else { return "an .mpi key outside mpi.*: \(key)" }
            guard key.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                return "an .mpi property name that is not printable ASCII: \(key.debugDescription)"
            }
            switch value {
            case .string(let text) where !DeviceText.isClean(text): return "an unclean .mpi value for \(key)"
            case .strlist(let list) where list.count > DeviceText.maximumListCount || !list.allSatisfy(DeviceText.isClean):
                return "an unbounded or unclean .mpi list for \(key)"
            default: continue
            }
        }
        let (table, aliasErrors) = ModuleAliasTable.parse(bytes, file: "modules.alias")
        for error in aliasErrors where !(1...lines).contains(error.line ?? 0) {
            return "a modules.alias error outside the file's \(lines) lines: \(error)"
        }
        // Every entry kept is asked once, with an interface and without; a match must name a line of the file.
        for interfaces in [[], [ModuleAliasTable.Interface(classCode: 2, subclass: 2, protocolCode: 1, number: 0)]] {
            let found = table.modules(vendor: 0x0830, product: 0x0060, revision: 0x0100, deviceClass: 0, deviceSubclass: 0,
                                      deviceProtocol: 0, interfaces: interfaces)
            for (module, line) in found where !(1...lines).contains(line) {
                return "module \(module) matched at line \(line), outside the file's \(lines) lines"
            }
        }
        return nil
    }
}
