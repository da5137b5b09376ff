// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// One media-player-info key file (`/usr/share/media-player-info/NAME.mpi`), as `mpi.*` properties.
///
/// The format is a freedesktop key file: `[Section]` headers, `Key=value` lines, `#` (and `;`) comments. Every
/// key becomes `mpi.<lowercase section>.<Key>`; the spec's list-valued keys are strlists, split at `;`.
package struct MediaPlayerInfo: Sendable, Hashable {
    /// The file's name without `.mpi`: the value udev's `ID_MEDIA_PLAYER` names it by.
    package var name: String
    /// Every key of the file as a property (`mpi.device.AccessProtocol` …), `mpi.name` included.
    package var properties: DeviceProperties
    /// The devices its `[Device] DeviceMatch` lists: vendor, and product (nil for `usb:vvvv:*`).
    package var deviceMatches: [(vendor: UInt16, product: UInt16?)] {
        (properties.strlist("mpi.device.DeviceMatch") ?? []).compactMap(Self.usbMatch)
    }

    /// The keys the media-player-info spec defines as `;`-separated lists.
    static let listKeys: Set<String> = [
        "AccessProtocol", "OutputFormats", "InputFormats", "Formats", "AudioFolders", "PlaylistPath", "DeviceMatch",
    ]

    /// Parses the bytes of `file`. A line that is neither a section, a `Key=value`, a comment nor blank is
    /// reported and skipped; so is a key before any section. Everything else is kept.
    package static func parse(_ bytes: [UInt8], name: String, file: String) -> (info: MediaPlayerInfo, errors: [DatabaseError]) {
        var properties = DeviceProperties()
        properties[PropertyKey.mediaPlayerInfoName] = .string(name)
        var errors: [DatabaseError] = []
        var section: String?
        var number = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let line = String(decoding: rawLine, as: UTF8.self).trimmingWhitespace
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    errors.append(DatabaseError(file: file, line: number, message: "expected a section header such as [Device], found \"\(line)\""))
                    section = nil  // its keys belong to no known section
                    continue
                }
                let name = String(line.dropFirst().dropLast())
                guard Self.isName(name, extra: " ") else {
                    errors.append(DatabaseError(file: file, line: number, message: "a section name of letters, digits, '-' and '_' expected, found \"\(DeviceText.sanitize(name))\""))
                    section = nil
                    continue
                }
                section = name.lowercased()
                continue
            }
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                errors.append(DatabaseError(file: file, line: number, message: "expected Key=value, a [section] or a # comment, found \"\(line)\""))
                continue
            }
            guard let section else {
                errors.append(DatabaseError(file: file, line: number, message: "a key outside any [section]"))
                continue
            }
            let key = String(line[..<equals]).trimmingWhitespace
            // Keys become property names, which are not sanitized as values are: plain ASCII only (a locale
            // suffix such as `Name[de_DE]` included).
            guard Self.isName(key, extra: "[]@.") else {
                errors.append(DatabaseError(file: file, line: number, message: "a key of letters, digits, '-' and '_' expected, found \"\(DeviceText.sanitize(key))\""))
                continue
            }
            let value = String(line[line.index(after: equals)...]).trimmingWhitespace
            let property = PropertyKey.mediaPlayerInfoPrefix + section + "." + key
            if listKeys.contains(key) {
                properties[property] = .strlist(value.split(separator: ";").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty })
            } else {
                properties[property] = .string(value)
            }
        }
        return (MediaPlayerInfo(name: name, properties: properties), errors)
    }

    /// Whether `text` is a non-empty ASCII name: letters, digits, `-`, `_` and the characters of `extra`.
    static func isName(_ text: String, extra: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128 && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_"
                || extra.unicodeScalars.contains(scalar))
        }
    }

    /// `usb:0781:7420` → (0x0781, 0x7420); `usb:05ac:*` → (0x05ac, nil); nil for anything else.
    static func usbMatch(_ text: String) -> (vendor: UInt16, product: UInt16?)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "usb", let vendor = UInt16(parts[1], radix: 16) else { return nil }
        if parts[2] == "*" { return (vendor, nil) }
        guard let product = UInt16(parts[2], radix: 16) else { return nil }
        return (vendor, product)
    }

    /// Whether `name` can be a file's name (no path, no hidden file): `ID_MEDIA_PLAYER` comes from udev's rules
    /// and databases, and must not lead the reader out of the directory.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && name.utf8.count <= 255
    }
}

/// The media-player-info directory: which file describes a device, and the parsed files (each parsed once).
package struct MediaPlayerInfoCatalog {
    /// The directory, `/usr/share/media-player-info` by default.
    package let directory: String
    /// File names by `(vendor << 16) | product` from the files' `DeviceMatch` lists.
    private var byDevice: [UInt32: String] = [:]
    /// File names by vendor, for `DeviceMatch=usb:vvvv:*`.
    private var byVendor: [UInt16: String] = [:]
    /// The names of the `.mpi` files present.
    private var names: Set<String> = []
    /// The files parsed so far, by name.
    private var parsed: [String: MediaPlayerInfo] = [:]

    /// The largest `.mpi` file read; the real ones are under 1 KiB.
    static let fileLimit = 64 * 1024

    /// A catalog of `directory` with nothing read yet.
    package init(directory: String) { self.directory = directory }

    /// Lists the directory and indexes every file's `DeviceMatch`; returns the problems (a missing directory is
    /// one, a bad line of a file another). A file listing a device another file listed already loses: first
    /// by name wins, as in the directory's sorted order.
    package mutating func load() -> [DatabaseError] {
        byDevice = [:]
        byVendor = [:]
        names = []
        parsed = [:]
        var errors: [DatabaseError] = []
        let entries: [String]
        do throws(DatabaseError) { entries = try DatabaseFiles.names(in: directory) } catch {
            return [error]
        }
        for entry in entries where entry.hasSuffix(".mpi") && !entry.hasPrefix(".") {
            let name = String(entry.dropLast(4))
            names.insert(name)
            let path = directory + "/" + entry
            do throws(DatabaseError) {
                let bytes = try DatabaseFiles.contents(of: path, limit: Self.fileLimit)
                let (info, problems) = MediaPlayerInfo.parse(bytes, name: name, file: path)
                errors += problems
                for match in info.deviceMatches {
                    if let product = match.product {
                        byDevice[UInt32(match.vendor) << 16 | UInt32(product)] = byDevice[UInt32(match.vendor) << 16 | UInt32(product)] ?? name
                    } else {
                        byVendor[match.vendor] = byVendor[match.vendor] ?? name
                    }
                }
            } catch {
                errors.append(error)
            }
        }
        return errors
    }

    /// The file for a device: the one `mediaPlayer` (udev's or the hwdb's `ID_MEDIA_PLAYER`) names, else the one
    /// whose `DeviceMatch` lists vendor:product, else nil. `1` names no file (libmtp's "a media player").
    package func name(mediaPlayer: String?, vendor: UInt16, product: UInt16) -> String? {
        if let mediaPlayer, MediaPlayerInfo.isPlainName(mediaPlayer), names.contains(mediaPlayer) { return mediaPlayer }
        return byDevice[UInt32(vendor) << 16 | UInt32(product)] ?? byVendor[vendor]
    }

    /// The parsed file `name` (a name ``name(mediaPlayer:vendor:product:)`` returned), read once and kept.
    package mutating func info(named name: String) -> MediaPlayerInfo? {
        if let known = parsed[name] { return known }
        guard names.contains(name),
            let bytes = try? DatabaseFiles.contents(of: path(of: name), limit: Self.fileLimit)
        else { return nil }
        let info = MediaPlayerInfo.parse(bytes, name: name, file: path(of: name)).info
        parsed[name] = info
        return info
    }

    /// The path of the file `name`.
    package func path(of name: String) -> String { directory + "/" + name + ".mpi" }
}
