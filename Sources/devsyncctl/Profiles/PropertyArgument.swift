// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DeviceRegistry
import FoundationEssentials
import Glibc

/// A device property from the command line: `KEY=VALUE` or `KEY:TYPE=VALUE`, typed as FDI types values.
struct PropertyArgument: ExpressibleByArgument {
    /// Keys whose values are lists; a comma-separated value for them is a strlist.
    static let strlistKeys: Set<String> = [
        PropertyKey.usbInterfaces, PropertyKey.usbInterfaceNames, PropertyKey.bluetoothUUIDs, PropertyKey.syncDatatypes,
    ]

    var key: String
    var value: PropertyValue

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "=") else { return nil }
        var key = String(argument[..<equals])
        let text = String(argument[argument.index(after: equals)...])
        if let colon = key.lastIndex(of: ":") {
            guard let type = PropertyType(rawValue: String(key[key.index(after: colon)...])),
                let value = PropertyValue(fdi: text, as: type)
            else { return nil }
            key = String(key[..<colon])
            self.init(key: key, value: value)
        } else {
            self.init(key: key, value: Self.inferred(key: key, text: text))
        }
        guard !key.isEmpty else { return nil }
    }

    init(key: String, value: PropertyValue) {
        self.key = key
        self.value = value
    }

    static func inferred(key: String, text: String) -> PropertyValue {
        if strlistKeys.contains(key), let list = PropertyValue(fdi: text, as: .strlist) { return list }
        if text == "true" || text == "false", let flag = PropertyValue(fdi: text, as: .bool) { return flag }
        if let int = PropertyValue(fdi: text, as: .int), text.first?.isWhitespace == false, text.last?.isWhitespace == false { return int }
        return .string(text)
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// Whether a path names a file or a directory, for `profiles check`.
enum FileKind {
    static func isRegularFile(_ path: String) -> Bool { mode(of: path).map { $0 & S_IFMT == S_IFREG } ?? false }

    static func isDirectory(_ path: String) -> Bool { mode(of: path).map { $0 & S_IFMT == S_IFDIR } ?? false }

    /// The file type and permission bits of `path`, following symbolic links; nil if it cannot be reached.
    private static func mode(of path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode : nil
    }
}
