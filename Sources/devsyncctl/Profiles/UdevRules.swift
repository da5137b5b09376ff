// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// The udev rules file (`70-devsync.rules`) that recognises the USB devices the profiles offer a sync plugin for,
/// lets the seat's user open them and starts the daemon for them.
///
/// Every line comes from a profile rule that sets `sync.plugin` (or `sync.ignore`), translated condition by
/// condition into udev's terms: vendor and product ids into `ENV{PRODUCT}` globs, `usb.interfaces` into
/// `ENV{ID_USB_INTERFACES}`, `udev.NAME` and `hwdb.NAME` into `ENV{NAME}` (udev's hwdb builtin has imported every
/// hwdb key of a usb_device by then, in 50-udev-default.rules). A rule on a kernel driver (`kernel.drivers` or
/// `sysfs.interface.drivers` contains `ipaq`) becomes a line for the interfaces that driver binds and one for the
/// ttys it makes. A condition udev cannot test on a usb_device is dropped, which only widens the line (devsyncd
/// applies the full profile anyway); a rule left with nothing udev can test is listed as not covered. A rule that
/// merely describes a device (95-kinds.fdi's: a kind, no plugin) starts nothing.
struct UdevRules {
    /// Which products of a vendor a profile rule names.
    enum Products: Hashable {
        /// Every product of the vendor (no product condition, or an unbounded comparison).
        case any
        /// These product ids.
        case ids([Int])
        /// The product ids from `lowerBound` through `upperBound`, from a `compare_ge`/`compare_le` pair.
        case range(ClosedRange<Int>)
    }

    /// The vendor/product part of a profile rule.
    struct ProductMatch: Hashable {
        /// The USB vendor ids (usually one).
        var vendors: [Int]
        /// The products of `vendors` it names.
        var products: Products

        /// The glob(s) for udev's `PRODUCT` ("%x/%x/%x": vendor/product/bcdDevice, lower-case hex, no zero padding).
        var productGlob: String {
            vendors.map { vendor in
                let vendorHex = String(vendor, radix: 16)
                switch products {
                case .any: return "\(vendorHex)/*"
                case .ids(let ids): return ids.map { "\(vendorHex)/\(String($0, radix: 16))/*" }.joined(separator: "|")
                case .range(let range):
                    return HexGlob.patterns(range).map { "\(vendorHex)/\($0)/*" }.joined(separator: "|")
                }
            }.joined(separator: "|")
        }
    }

    /// One profile rule in udev's terms.
    struct Selection: Hashable {
        /// The udev match keys (`ENV{PRODUCT}=="…"`), all of which must hold.
        var matches: [String]
        /// Whether the rule names vendor ids (it goes to the product block, else to the class block).
        var namesVendor: Bool
        /// Where the rule is, relative to its profile directory.
        var source: String
        /// What the rule says the device is: vendor and model, else the plugin it offers.
        var label: String
        /// The rule's conditions udev cannot test on a usb_device, as the profile writes them.
        var dropped: [String]
    }

    /// A rule that offers a plugin but that udev cannot preselect.
    struct Uncovered: Hashable {
        /// Where the rule is.
        var source: String
        /// What it offers.
        var label: String
        /// Its conditions on the device (not those on what earlier rules decided).
        var conditions: [String]
    }

    /// Devices the profiles ignore (`sync.ignore`), in profile order: matched first and sent past every other line.
    var ignored: [Selection] = []
    /// `sync.ignore` rules with a condition udev cannot test: only listed, since dropping it would ignore too much.
    var ignoredUntranslated: [Selection] = []
    /// Devices that a rule offers a plugin for, in profile order, without repeats of the same matches.
    var selections: [Selection] = []
    /// Rules offering a plugin that no udev line stands for.
    var uncovered: [Uncovered] = []
    /// Kernel drivers whose binding to an interface a rule offers a plugin for, in profile order, each once.
    var interfaceDrivers: [String] = []
    /// The rules behind `interfaceDrivers`.
    var interfaceDriverSources: [String] = []

    /// The keys that name kernel drivers: those whose usb aliases match the device, and those bound to it.
    static let driverKeys: Set<String> = ["kernel.drivers", "sysfs.interface.drivers"]

    /// The rules for the `profiles`; `relativeTo` are the profile directories, stripped from sources.
    init(_ profiles: ProfileSet, relativeTo directories: [String]) {
        var seen = Set<[String]>()
        for rule in profiles.rules {
            let ignores = rule.actions.contains(.merge(key: PropertyKey.syncIgnore, .value(.bool(true))))
            let plugin = Self.plugin(rule)
            guard ignores || plugin != nil, Self.isUSB(rule) else { continue }
            var file = rule.location.file
            for directory in directories {
                let prefix = directory.hasSuffix("/") ? directory : directory + "/"
                if file.hasPrefix(prefix) { file.removeFirst(prefix.count); break }
            }
            let source = "\(file):\(rule.location.line)"
            let label = Self.label(rule, plugin: plugin)
            if !ignores, let driver = Self.driver(rule) {
                if !interfaceDrivers.contains(driver) { interfaceDrivers.append(driver) }
                interfaceDriverSources.append("\(source) \(label)")
                continue
            }
            guard let selection = Self.selection(rule, source: source, label: label) else {
                if !ignores {
                    let tested = rule.conditions.filter { $0.key != PropertyKey.infoSubsystem && !$0.key.hasPrefix("sync.") }
                    uncovered.append(Uncovered(source: source, label: label, conditions: tested.map(\.description)))
                }
                continue
            }
            if ignores {
                if selection.dropped.isEmpty { ignored.append(selection) } else { ignoredUntranslated.append(selection) }
            } else if seen.insert(selection.matches).inserted {
                selections.append(selection)
            }
        }
    }

    /// The plugin a rule offers: its `sync.plugin` merge ("" for one copied from another key), nil if none.
    static func plugin(_ rule: ProfileRule) -> String? {
        for case .merge(key: PropertyKey.syncPlugin, let value) in rule.actions {
            switch value {
            case .value(.string(let name)) where !name.isEmpty: return name
            case .copy: return ""
            default: continue
            }
        }
        return nil
    }

    /// The kernel driver a rule names (`kernel.drivers contains="ipaq"`), if that is all it tests of the device.
    static func driver(_ rule: ProfileRule) -> String? {
        var driver: String?
        for condition in rule.conditions where condition.key != PropertyKey.infoSubsystem && !condition.key.hasPrefix("sync.") {
            guard driverKeys.contains(condition.key), case .contains(let name) = condition.test, isPropertyName(name),
                driver == nil || driver == name
            else { return nil }
            driver = name
        }
        return driver
    }

    /// Whether a rule can hold for a USB device: no `info.subsystem` test names another subsystem, and some
    /// condition tests a USB or udev property (a rule testing neither would be every USB device, or none).
    static func isUSB(_ rule: ProfileRule) -> Bool {
        var usb = false
        for condition in rule.conditions {
            if condition.key == PropertyKey.infoSubsystem {
                guard case .string("usb") = condition.test else { return false }
                usb = true
            } else if condition.key.hasPrefix("usb.") || condition.key.hasPrefix(udevPrefix) || condition.key.hasPrefix(hwdbPrefix)
                || driverKeys.contains(condition.key)
            {
                usb = true
            }
        }
        return usb
    }

    /// Profile keys that mirror a udev property: `udev.NAME` is the usb_device's `NAME`.
    static let udevPrefix = "udev."
    /// Profile keys devsyncd reads from the hwdb itself: by rule 70, udev has imported the same keys into `ENV`.
    static let hwdbPrefix = "hwdb."

    /// Vendor and model as the rule names them, else the plugin it offers.
    static func label(_ rule: ProfileRule, plugin: String?) -> String {
        var vendorName: String?, model: String?
        for case .merge(key: let key, .value(.string(let text))) in rule.actions {
            if key == PropertyKey.syncVendor { vendorName = text }
            if key == PropertyKey.syncModel { model = text }
        }
        let named = [vendorName, model].compactMap { $0 }.joined(separator: " ")
        if !named.isEmpty { return named }
        if let plugin, !plugin.isEmpty { return "plugin \(plugin)" }
        return plugin == nil ? "ignored" : "a plugin"
    }

    /// The rule in udev's terms, or nil if udev can test none of its conditions.
    static func selection(_ rule: ProfileRule, source: String, label: String) -> Selection? {
        var matches: [String] = []
        var dropped: [String] = []
        let product = productMatch(rule)
        if let product {
            // An empty id list (a range whose bounds cross) selects nothing.
            if case .ids(let ids) = product.products, ids.isEmpty { return nil }
            matches.append("ENV{PRODUCT}==\"\(product.productGlob)\"")
        }
        for condition in rule.conditions {
            switch condition.key {
            case PropertyKey.usbVendorID where product == nil:
                // "Any vendor but this one": the vendor is PRODUCT's first field.
                if case .compare(.notEqual, let operand) = condition.test, let vendor = operand.integer {
                    matches.append("ENV{PRODUCT}!=\"\(String(vendor, radix: 16))/*\"")
                } else {
                    dropped.append(condition.description)
                }
            case PropertyKey.usbVendorID, PropertyKey.usbProductID:
                if product == nil { dropped.append(condition.description) }
            case PropertyKey.infoSubsystem:
                continue  // isUSB checked it; SUBSYSTEM=="usb" is the file's own condition
            case let key where key.hasPrefix("sync."):
                continue  // what earlier rules decided (sync.plugin exists="false"…): only ever narrows
            case PropertyKey.usbInterfaces:
                let triples: [String]? = switch condition.test {
                case .contains(let triple): [triple]
                case .containsOutOf(let list): list
                default: nil
                }
                if let globs = triples?.map(interfaceGlob), globs.allSatisfy({ $0 != nil }) {
                    matches.append("ENV{ID_USB_INTERFACES}==\"\(globs.compactMap { $0 }.joined(separator: "|"))\"")
                } else {
                    dropped.append(condition.description)
                }
            case let key where key.hasPrefix(udevPrefix) || key.hasPrefix(hwdbPrefix):
                let name = String(key.dropFirst(key.hasPrefix(udevPrefix) ? udevPrefix.count : hwdbPrefix.count))
                if let glob = propertyGlob(condition.test), isPropertyName(name) {
                    matches.append("ENV{\(name)}==\"\(glob)\"")
                } else {
                    dropped.append(condition.description)
                }
            default:
                dropped.append(condition.description)
            }
        }
        // Only exclusions ("any vendor but Nokia") would select nearly every device.
        guard matches.contains(where: { !$0.contains("!=") }) else { return nil }
        return Selection(matches: matches, namesVendor: product != nil, source: source, label: label, dropped: dropped)
    }

    /// The vendor/product selection of `rule`, or nil if it tests no `usb.vendor_id` for equality.
    static func productMatch(_ rule: ProfileRule) -> ProductMatch? {
        var vendors: [Int] = []
        var ids: [Int]?
        var lower: Int?, upper: Int?
        for condition in rule.conditions {
            switch (condition.key, condition.test) {
            case (PropertyKey.usbVendorID, .int(let value)): vendors = [Int(value)]
            case (PropertyKey.usbVendorID, .intOutOf(let values)): vendors = values.map(Int.init)
            case (PropertyKey.usbProductID, .int(let value)): ids = [Int(value)]
            case (PropertyKey.usbProductID, .intOutOf(let values)): ids = values.map(Int.init)
            case (PropertyKey.usbProductID, .compare(let comparison, let operand)):
                guard let bound = operand.integer.map(Int.init) else { continue }
                switch comparison {
                case .greaterOrEqual: lower = max(lower ?? bound, bound)
                case .greaterThan: lower = max(lower ?? bound + 1, bound + 1)
                case .lessOrEqual: upper = min(upper ?? bound, bound)
                case .lessThan: upper = min(upper ?? bound - 1, bound - 1)
                case .notEqual: break
                }
            default: continue
            }
        }
        guard !vendors.isEmpty else { return nil }
        if let ids { return ProductMatch(vendors: vendors, products: .ids(ids)) }
        // An open-ended bound would expand to most of the id space: the vendor stands in for it.
        guard let lower, let upper else { return ProductMatch(vendors: vendors, products: .any) }
        return ProductMatch(vendors: vendors, products: lower <= upper ? .range(lower...upper) : .ids([]))
    }

    /// `ff/fe/02` as its entry in udev's `ID_USB_INTERFACES` (":fffe02:ff4201:", usb_id's "%02x%02x%02x" per
    /// distinct interface), or nil if it is not three hex bytes.
    static func interfaceGlob(_ triple: String) -> String? {
        let parts = triple.lowercased().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else { return nil }
        return "*:\(parts.joined()):*"
    }

    /// A glob for a `udev.NAME` test that udev's `ENV{NAME}==` can make exactly, or nil.
    static func propertyGlob(_ test: MatchTest) -> String? {
        switch test {
        case .exists(true): return "?*"
        case .string(let value): return isLiteral(value) ? value : nil
        case .stringOutOf(let values): return values.allSatisfy(isLiteral) ? values.joined(separator: "|") : nil
        default: return nil
        }
    }

    /// Whether a value means itself in a udev glob and a quoted rules value.
    static func isLiteral(_ value: String) -> Bool {
        !value.isEmpty && !value.contains { "*?[]|\"\\\n".contains($0) }
    }

    /// Whether udev would take `name` as a property name.
    static func isPropertyName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }

    /// The rules file, byte for byte as committed in `rules/70-devsync.rules`.
    var text: String {
        var lines = Self.header
        if !interfaceDrivers.isEmpty {
            // Before the usb_device line below: a tty those drivers made, in the same plug-in, is added before its
            // interface's bind event tags the interface.
            lines.append("# A tty the kernel's \(interfaceDrivers.joined(separator: " or ")) driver made (a Pocket PC's or a Palm's sync port), "
                + "whatever the id: the seat's user too.")
            lines.append("SUBSYSTEM==\"tty\", DRIVERS==\"\(interfaceDrivers.joined(separator: "|"))\", TAG+=\"uaccess\", GOTO=\"devsync_end\"")
        }
        lines.append("SUBSYSTEM!=\"usb\", GOTO=\"devsync_end\"")
        if !interfaceDrivers.isEmpty {
            lines.append("# An interface that a kernel driver the profiles name binds (kernel.drivers, sysfs.interface.drivers): the")
            lines.append("# ids of its table need no line of their own, and devsyncd starts when the driver binds.")
            for source in interfaceDriverSources { lines.append("# \(source)") }
            lines.append("ENV{DEVTYPE}==\"usb_interface\", ACTION==\"bind\", DRIVER==\"\(interfaceDrivers.joined(separator: "|"))\", "
                + "TAG+=\"devsync\", TAG+=\"systemd\", ENV{SYSTEMD_WANTS}+=\"devsyncd.service\", GOTO=\"devsync_end\"")
        }
        lines.append("ENV{DEVTYPE}!=\"usb_device\", GOTO=\"devsync_end\"")
        if !ignored.isEmpty || !ignoredUntranslated.isEmpty {
            lines.append("")
            lines.append("# Devices the profiles ignore (sync.ignore): never recognised, whatever a line below says.")
        }
        for selection in ignored {
            lines.append("# \(selection.source) \(selection.label)")
            lines.append(selection.line(goto: "devsync_end"))
        }
        for selection in ignoredUntranslated {
            lines.append("# not excluded here, udev cannot test \(selection.dropped.joined(separator: ", ")): \(selection.source)")
        }
        let products = selections.filter(\.namesVendor), classes = selections.filter { !$0.namesVendor }
        lines.append("")
        lines.append("# Devices the profiles name by vendor and product id (\(products.count) selections).")
        for selection in products { lines += selection.lines }
        lines += Self.classIntroduction
        lines.append("# Device classes: rules that offer a plugin by interface class or udev property (\(classes.count) selections).")
        for selection in classes { lines += selection.lines }
        for rule in uncovered {
            lines.append("# not covered, udev cannot test \(rule.conditions.joined(separator: " && ")): \(rule.source) \(rule.label)")
        }
        lines += Self.footer
        return lines.joined(separator: "\n") + "\n"
    }

    static let header = [
        "# do not edit: generated by devsyncctl profiles export-udev",
        "#",
        "# devsync: recognise the USB devices devsync's profiles offer a sync plugin for, let the user at the seat",
        "# open them, and start devsyncd when one appears. Each line stands for one profile rule that sets",
        "# sync.plugin, with the conditions udev can test on a usb_device; the others are left to devsyncd, which",
        "# applies the full profiles to every USB device it sees. A recognised device gets three tags:",
        "#   devsync   marks it for administrators (udevadm info, udevadm trigger --tag-match=devsync). devsyncd does",
        "#             not filter on it: it watches every USB device, so profiles added at run time take effect at once.",
        "#   uaccess   before 71-seat.rules and 73-seat-late.rules, which give the active seat's user an ACL on its",
        "#             device node (/dev/bus/usb/…), as libmtp's 69-libmtp.rules does; its ttys below get it too.",
        "#   systemd   with SYSTEMD_WANTS, starts devsyncd.service (Type=dbus) on plug-in; on remove it is inert.",
        "# Rules name a device by ENV{PRODUCT} (\"vendor/product/bcdDevice\" in lower-case hex without leading",
        "# zeros, from the kernel's uevent) rather than ATTR{idVendor}: the uevent's properties are still there on",
        "# remove, when sysfs attributes are gone. Product ranges are written as hex globs ([0-9a-f]).",
        "# Set ENV{ID_DEVSYNC_IGNORE}=\"1\" in a rule that runs earlier (a file name sorting before 70-devsync) to",
        "# hide a device. After adding profiles, regenerate this file into /etc/udev/rules.d (docs/install.md).",
        "",
        "ENV{ID_DEVSYNC_IGNORE}==\"1\", GOTO=\"devsync_end\"",
        "ACTION!=\"add|change|remove|bind\", GOTO=\"devsync_end\"",
        "# A tty below a recognised device (a Palm's HotSync port ttyUSB1, a phone's ttyACM0): the seat's user too.",
        "SUBSYSTEM==\"tty\", TAGS==\"devsync\", TAG+=\"uaccess\", GOTO=\"devsync_end\"",
    ]

    static let classIntroduction = [
        "",
        "# ID_USB_INTERFACES is \":ccsspp:ccsspp:\", set by udev's usb_id builtin for usb_device (50-udev-default.rules);",
        "# ID_MTP_DEVICE comes from libmtp's hwdb and 69-libmtp.rules, ID_MEDIA_PLAYER from media-player-info, libmtp",
        "# and libgphoto2, GPHOTO2_DRIVER from libgphoto2, USBMUX_SUPPORTED from usbmuxd; udev's hwdb builtin has",
        "# imported every hwdb key by now (50-udev-default.rules), so a profile's hwdb.NAME is ENV{NAME} here. On",
        "# remove, udev reads ID_* back from its database, so these match then too.",
    ]

    static let footer = [
        "GOTO=\"devsync_end\"",
        "",
        "LABEL=\"devsync_candidate\"",
        "TAG+=\"devsync\", TAG+=\"uaccess\", TAG+=\"systemd\", ENV{SYSTEMD_WANTS}+=\"devsyncd.service\"",
        "",
        "LABEL=\"devsync_end\"",
    ]
}

extension UdevRules.Selection {
    /// The rules line: every match, then a jump to `label`.
    func line(goto label: String) -> String {
        (matches + ["GOTO=\"\(label)\""]).joined(separator: ", ")
    }

    /// The comment and the line of a selection that recognises a device.
    var lines: [String] {
        let left = dropped.isEmpty ? "" : " (devsyncd tests \(dropped.joined(separator: ", ")))"
        return ["# \(source) \(label)\(left)", line(goto: "devsync_candidate")]
    }
}

/// Hexadecimal number ranges as shell globs, the way udev matches them (fnmatch).
enum HexGlob {
    /// Globs that together match exactly the numbers in `range`, written as `%x` writes them (no leading zeros).
    static func patterns(_ range: ClosedRange<Int>) -> [String] {
        var result: [String] = []
        var digits = 1
        while true {
            let low = digits == 1 ? 0 : 1 << (4 * (digits - 1)), high = (1 << (4 * digits)) - 1
            if low > range.upperBound { break }
            let from = max(low, range.lowerBound), through = min(high, range.upperBound)
            if from <= through {
                result += patterns(padded(from, digits), padded(through, digits))
            }
            digits += 1
        }
        return result
    }

    /// Globs for the same-length hex strings from `low` through `high`.
    private static func patterns(_ low: [Character], _ high: [Character]) -> [String] {
        guard let first = low.first, let last = high.first else { return [""] }
        let lowRest = Array(low.dropFirst()), highRest = Array(high.dropFirst())
        if first == last { return patterns(lowRest, highRest).map { String(first) + $0 } }
        let lowFull = lowRest.allSatisfy { $0 == "0" }, highFull = highRest.allSatisfy { $0 == "f" }
        var result: [String] = []
        var middleFrom = value(first), middleThrough = value(last)
        if !lowFull {
            result += patterns(lowRest, Array(repeating: "f", count: lowRest.count)).map { String(first) + $0 }
            middleFrom += 1
        }
        if !highFull { middleThrough -= 1 }
        if middleFrom <= middleThrough {
            result.append(characterClass(middleFrom...middleThrough) + String(repeating: "[0-9a-f]", count: lowRest.count))
        }
        if !highFull {
            result += patterns(Array(repeating: "0", count: highRest.count), highRest).map { String(last) + $0 }
        }
        return result
    }

    /// A glob bracket for hex digits `digits` (0-9 and a-f are not adjacent in ASCII, so each is its own span).
    static func characterClass(_ digits: ClosedRange<Int>) -> String {
        if digits.count == 1 { return String(digits.lowerBound, radix: 16) }
        var spans: [String] = []
        for span in [digits.clamped(to: 0...9), digits.clamped(to: 10...15)] where !span.isEmpty && digits.overlaps(span) {
            let from = String(span.lowerBound, radix: 16), through = String(span.upperBound, radix: 16)
            spans.append(span.count == 1 ? from : "\(from)-\(through)")
        }
        return "[" + spans.joined() + "]"
    }

    private static func padded(_ number: Int, _ digits: Int) -> [Character] {
        let hex = String(number, radix: 16)
        return Array(String(repeating: "0", count: digits - hex.count) + hex)
    }

    private static func value(_ digit: Character) -> Int { digit.hexDigitValue ?? 0 }
}
