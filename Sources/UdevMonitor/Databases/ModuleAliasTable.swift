// SPDX-License-Identifier: Apache-2.0
/// The USB lines of the kernel's `modules.alias`: which module's id table lists a device.
///
/// depmod writes one line per id table entry, `alias usb:v0830p0060d*dc*dsc*dp*ic*isc*ip*in* visor`, the
/// pattern a shell glob over the modalias the kernel gives each interface. Parsed once (at start and at each
/// reload) into a compact, sorted form: most entries name one vendor and product and are found by binary search;
/// only the class-wide ones (`usb:v*p*…ic02isc02ip01in*`) are tried for every device.
package struct ModuleAliasTable: Sendable {
    /// One `alias usb:…` line: where to find its glob, its module and its line number.
    private struct Entry: Sendable {
        var key: UInt32  // vendor << 16 | product, or vendor alone for `p*` entries
        var pattern: UInt32  // the glob after `usb:vVVVVpPPPP` (exact ids) or the whole glob (generic)
        var module: UInt32
        var line: UInt32
    }

    /// The file read, for provenance and messages.
    package let file: String
    private var exact: [Entry] = []  // vendor and product given, sorted by key
    private var vendorOnly: [Entry] = []  // vendor given, product `*`, sorted by key (the vendor)
    private var generic: [Entry] = []  // anything else, in file order
    private var patterns: [[UInt8]] = []
    private var modules: [String] = []

    /// An empty table for `file` (what a missing `modules.alias` gives).
    package init(file: String) { self.file = file }

    /// The number of USB entries.
    package var count: Int { exact.count + vendorOnly.count + generic.count }

    /// The largest `modules.alias` read (a distribution kernel's is about 1.5 MB).
    static let fileLimit = 32 * 1024 * 1024

    /// Parses `modules.alias`. Comments, blank lines and the aliases of other buses are skipped; a line that
    /// is not `alias PATTERN MODULE` is reported (file:line) and skipped, the others kept.
    package static func parse(_ bytes: [UInt8], file: String) -> (table: ModuleAliasTable, errors: [DatabaseError]) {
        bytes.withUnsafeBufferPointer { parse($0, file: file) }
    }

    /// Parses `modules.alias` from memory (a mapped file). Lines are scanned in place: what is kept is the
    /// compact table, and nothing the size of the file is allocated on the way (the heap a parse leaves behind
    /// is heap the daemon keeps; docs/benchmarks.md).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String) -> (table: ModuleAliasTable, errors: [DatabaseError]) {
        var table = ModuleAliasTable(file: file)
        var errors: [DatabaseError] = []
        var patternIndex: [[UInt8]: UInt32] = [:]
        var moduleIndex: [String: UInt32] = [:]
        var previousModule: (range: Range<Int>, index: UInt32)? = nil
        var previousPattern: (bytes: Slice<UnsafeBufferPointer<UInt8>>, index: UInt32)? = nil
        func internCopy(_ pattern: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32 {
            let bytes = Array(pattern)
            if let known = patternIndex[bytes] { return known }
            let index = UInt32(table.patterns.count)
            table.patterns.append(bytes)
            patternIndex[bytes] = index
            return index
        }
        func intern(_ pattern: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32 {
            // Most entries end alike (`d*dc*dsc*dp*ic*isc*ip*in*`): the pattern before is checked without a copy.
            if let previous = previousPattern, previous.bytes.elementsEqual(pattern) { return previous.index }
            let index = internCopy(pattern)
            previousPattern = (pattern, index)
            return index
        }
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") }
        let alias = Array("alias".utf8), usb = Array("usb:".utf8)
        var number: UInt32 = 0
        var lineStart = 0
        while lineStart <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            number += 1
            // The first three fields, and whether there are more (then the line is malformed); no allocation.
            var fields = (0..<0, 0..<0, 0..<0)
            var fieldCount = 0
            var index = lineStart
            while index < lineEnd, fieldCount < 4 {
                while index < lineEnd, isBlank(bytes[index]) { index += 1 }
                guard index < lineEnd else { break }
                let fieldStart = index
                while index < lineEnd, !isBlank(bytes[index]) { index += 1 }
                switch fieldCount {
                case 0: fields.0 = fieldStart..<index
                case 1: fields.1 = fieldStart..<index
                case 2: fields.2 = fieldStart..<index
                default: break
                }
                fieldCount += 1
            }
            let first = fields.0
            guard fieldCount > 0, bytes[first.lowerBound] != UInt8(ascii: "#") else { continue }
            guard fieldCount == 3, bytes[first].elementsEqual(alias) else {
                let text = String(decoding: bytes[lineStart..<min(lineEnd, lineStart + 120)], as: UTF8.self)
                errors.append(DatabaseError(file: file, line: Int(number), message: "expected \"alias PATTERN MODULE\", found \"\(text)\""))
                continue
            }
            let pattern = bytes[fields.1]
            guard pattern.starts(with: usb) else { continue }
            // A module's aliases are consecutive lines: most lines name the module of the line before.
            let moduleRange = fields.2
            let module: UInt32
            if let previous = previousModule, bytes[previous.range].elementsEqual(bytes[moduleRange]) {
                module = previous.index
            } else {
                let moduleName = String(decoding: bytes[moduleRange], as: UTF8.self)
                if let known = moduleIndex[moduleName] {
                    module = known
                } else {
                    module = UInt32(table.modules.count)
                    table.modules.append(moduleName)
                    moduleIndex[moduleName] = module
                }
            }
            previousModule = (moduleRange, module)
            // `usb:vVVVVpPPPP…` with hex ids (modpost writes them upper-case) is filed by its ids.
            let start = pattern.startIndex, count = pattern.count
            let vendor = count >= 9 && pattern[start + 4] == UInt8(ascii: "v") ? hex4(pattern[(start + 5)..<(start + 9)]) : nil
            if let vendor, count >= 14, pattern[start + 9] == UInt8(ascii: "p"), let product = hex4(pattern[(start + 10)..<(start + 14)]) {
                table.exact.append(Entry(key: UInt32(vendor) << 16 | UInt32(product), pattern: intern(pattern[(start + 14)...]), module: module, line: number))
            } else if let vendor, count >= 11, pattern[start + 9] == UInt8(ascii: "p"), pattern[start + 10] == UInt8(ascii: "*") {
                table.vendorOnly.append(Entry(key: UInt32(vendor), pattern: intern(pattern[(start + 11)...]), module: module, line: number))
            } else {
                table.generic.append(Entry(key: 0, pattern: intern(pattern), module: module, line: number))
            }
        }
        // Entries of one key in file order (line numbers grow), so the first matching line is the one reported;
        // sorted in place and copied to their size, so no growth slack is kept.
        table.exact.sort { ($0.key, $0.line) < ($1.key, $1.line) }
        table.vendorOnly.sort { ($0.key, $0.line) < ($1.key, $1.line) }
        table.exact = fitted(table.exact)
        table.vendorOnly = fitted(table.vendorOnly)
        table.generic = fitted(table.generic)
        return (table, errors)
    }

    /// A copy of `entries` whose storage holds exactly them (an appended array keeps up to twice its count).
    private static func fitted(_ entries: [Entry]) -> [Entry] {
        var copy: [Entry] = []
        copy.reserveCapacity(entries.count)
        copy.append(contentsOf: entries)
        return copy
    }

    /// One interface's fields, as the kernel puts them in its modalias.
    package struct Interface: Sendable, Hashable {
        package var classCode: UInt8, subclass: UInt8, protocolCode: UInt8, number: UInt8
        package init(classCode: UInt8, subclass: UInt8, protocolCode: UInt8, number: UInt8) {
            (self.classCode, self.subclass, self.protocolCode, self.number) = (classCode, subclass, protocolCode, number)
        }
    }

    /// The modules whose entries match the device or one of its interfaces, each with the first line that
    /// matched. A device with no interface known is matched with empty interface fields, so that entries of
    /// vendor and product alone still apply.
    package func modules(
        vendor: UInt16, product: UInt16, revision: UInt16, deviceClass: UInt8, deviceSubclass: UInt8,
        deviceProtocol: UInt8, interfaces: [Interface]
    ) -> [String: Int] {
        // What follows `usb:vVVVVpPPPP` in each interface's modalias.
        let device = "d\(Self.hex(revision, 4))dc\(Self.hex(deviceClass))dsc\(Self.hex(deviceSubclass))dp\(Self.hex(deviceProtocol))"
        let tails: [[UInt8]] = interfaces.isEmpty
            ? [Array((device + "iciscipin").utf8)]
            : interfaces.map { Array((device + "ic\(Self.hex($0.classCode))isc\(Self.hex($0.subclass))ip\(Self.hex($0.protocolCode))in\(Self.hex($0.number))").utf8) }
        let prefix = Array("usb:v\(Self.hex(vendor, 4))p\(Self.hex(product, 4))".utf8)
        var found: [String: Int] = [:]
        func consider(_ entry: Entry, _ texts: [[UInt8]]) {
            let name = modules[Int(entry.module)]
            guard found[name] == nil else { return }
            if texts.contains(where: { Glob.matches(patterns[Int(entry.pattern)][...], $0[...]) }) { found[name] = Int(entry.line) }
        }
        for entry in Self.range(of: UInt32(vendor) << 16 | UInt32(product), in: exact) { consider(entry, tails) }
        for entry in Self.range(of: UInt32(vendor), in: vendorOnly) { consider(entry, tails) }
        if !generic.isEmpty {
            let whole = tails.map { prefix + $0 }
            for entry in generic { consider(entry, whole) }
        }
        return found
    }

    /// The entries with `key`, by binary search over entries sorted by key.
    private static func range(of key: UInt32, in entries: [Entry]) -> ArraySlice<Entry> {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].key < key { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < entries.count, entries[end].key == key { end += 1 }
        return entries[low..<end]
    }

    /// Four hex digits as a number, or nil (a glob character, a short field).
    private static func hex4<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt16? {
        var value: UInt16 = 0
        for byte in bytes {
            let digit: UInt16
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt16(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt16(byte - UInt8(ascii: "A") + 10)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt16(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    /// Upper-case hex, zero-padded to `width` digits, as the kernel writes modaliases.
    static func hex<T: BinaryInteger>(_ value: T, _ width: Int = 2) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// Shell-style globs (`*`, `?`, `[...]` with ranges and `!`/`^`), bytewise, as `fnmatch(3)` without flags
/// matches modalias patterns.
enum Glob {
    /// Whether `pattern` matches the whole of `text`.
    static func matches(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex, t = text.startIndex
        var starP: Int? = nil, starT = text.startIndex
        while t < text.endIndex {
            if p < pattern.endIndex {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    starP = p
                    starT = t
                    p += 1
                    continue
                case UInt8(ascii: "?"):
                    p += 1
                    t += 1
                    continue
                case UInt8(ascii: "["):
                    if let (matched, next) = bracket(pattern, at: p, byte: text[t]) {
                        if matched {
                            p = next
                            t += 1
                            continue
                        }
                    } else if text[t] == UInt8(ascii: "[") {  // an unclosed `[` is a literal
                        p += 1
                        t += 1
                        continue
                    }
                default:
                    if pattern[p] == text[t] {
                        p += 1
                        t += 1
                        continue
                    }
                }
            }
            guard let star = starP else { return false }
            p = star + 1
            starT += 1
            t = starT
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// Whether the bracket expression at `start` matches `byte`, and the index after it; nil if unclosed.
    private static func bracket(_ pattern: ArraySlice<UInt8>, at start: Int, byte: UInt8) -> (Bool, Int)? {
        var index = start + 1
        var negated = false
        if index < pattern.endIndex, pattern[index] == UInt8(ascii: "!") || pattern[index] == UInt8(ascii: "^") {
            negated = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.endIndex {
            let current = pattern[index]
            if current == UInt8(ascii: "]") && !first { return (matched != negated, index + 1) }
            first = false
            if index + 2 < pattern.endIndex, pattern[index + 1] == UInt8(ascii: "-"), pattern[index + 2] != UInt8(ascii: "]") {
                if current <= byte && byte <= pattern[index + 2] { matched = true }
                index += 3
            } else {
                if current == byte { matched = true }
                index += 1
            }
        }
        return nil
    }
}
