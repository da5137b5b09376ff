import DeviceRegistry

/// The udev rules file that tags the USB devices devsync may care about and starts the daemon for them.
///
/// The rules only preselect: a tagged device that no profile claims costs the daemon one lookup, while a device
/// the rules miss is never seen by a monitor that filters on the tag. So the file over-approximates the profiles:
/// a rule's vendor and product ids are kept and its other conditions (interfaces, serials…) dropped.
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

    /// One vendor/product selection taken from a profile rule.
    struct ProductMatch: Hashable {
        /// The USB vendor id.
        var vendor: Int
        /// The products of `vendor` it names.
        var products: Products
        /// Where the rule is, relative to its profile directory, for the comment.
        var source: String
        /// Vendor and model as the rule names them, for the comment.
        var label: String
        /// Whether the rule sets `sync.ignore`: such devices are listed in a comment and not tagged.
        var ignored: Bool

        /// The glob(s) for udev's `PRODUCT` ("%x/%x/%x": vendor/product/bcdDevice, lower-case hex, no zero padding).
        var productGlob: String {
            let vendorHex = String(vendor, radix: 16)
            switch products {
            case .any: return "\(vendorHex)/*"
            case .ids(let ids): return ids.map { "\(vendorHex)/\(String($0, radix: 16))/*" }.joined(separator: "|")
            case .range(let range):
                return HexGlob.patterns(range).map { "\(vendorHex)/\($0)/*" }.joined(separator: "|")
            }
        }
    }

    /// The selections, in profile order, without repeats of the same glob.
    var matches: [ProductMatch]

    /// The selections the `profiles` name; `relativeTo` are the profile directories, stripped from sources.
    init(_ profiles: ProfileSet, relativeTo directories: [String]) {
        var seen = Set<String>()
        matches = []
        for rule in profiles.rules {
            guard var match = Self.productMatch(rule) else { continue }
            guard seen.insert(match.productGlob).inserted else { continue }
            var file = rule.location.file
            for directory in directories {
                let prefix = directory.hasSuffix("/") ? directory : directory + "/"
                if file.hasPrefix(prefix) { file.removeFirst(prefix.count); break }
            }
            match.source = "\(file):\(rule.location.line)"
            matches.append(match)
        }
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
        // A rule naming several vendors is rare enough that its first one is kept only with a single vendor.
        guard vendors.count == 1, let vendor = vendors.first else { return nil }
        let products: Products
        if let ids {
            products = .ids(ids)
        } else if lower != nil || upper != nil {
            // An open-ended bound would expand to most of the id space: the vendor stands in for it.
            guard let lower, let upper else { return ProductMatch(vendor: vendor, products: .any, rule) }
            products = lower <= upper ? .range(lower...upper) : .ids([])
        } else {
            products = .any
        }
        if case .ids(let list) = products, list.isEmpty { return nil }
        return ProductMatch(vendor: vendor, products: products, rule)
    }

    /// The rules file, byte for byte as committed in `rules/85-devsync.rules`.
    var text: String {
        var lines = Self.header
        for match in matches where match.ignored {
            lines.append("# not tagged, the profile sets sync.ignore: \(match.productGlob) (\(match.source) \(match.label))")
        }
        lines.append("")
        lines.append("# Devices the profiles name by vendor and product id (\(matches.filter { !$0.ignored }.count) selections).")
        for match in matches where !match.ignored {
            lines.append("# \(match.source) \(match.label)")
            lines.append("ENV{PRODUCT}==\"\(match.productGlob)\", GOTO=\"devsync_candidate\"")
        }
        lines += Self.classBlock
        lines += Self.footer
        return lines.joined(separator: "\n") + "\n"
    }

    static let header = [
        "# do not edit: generated by devsyncctl profiles export-udev",
        "#",
        "# devsync: tag the USB devices devsyncd may offer as sync devices, and start devsyncd when one appears.",
        "# The tag is a preselection: devsyncd's monitor listens for tagged devices only and matches them against",
        "# the full profiles itself. Rules name a device by ENV{PRODUCT} (\"vendor/product/bcdDevice\" in lower-case",
        "# hex without leading zeros, from the kernel's uevent) rather than ATTR{idVendor}: the uevent's properties",
        "# are still there on remove, when sysfs attributes are gone, so add, change, bind and remove are all",
        "# tagged alike and devsyncd sees a device leave. Product ranges are written as hex globs ([0-9a-f]).",
        "# TAG+=\"systemd\" with SYSTEMD_WANTS starts devsyncd.service (Type=dbus) on plug-in; on remove it is inert.",
        "# Set ENV{ID_DEVSYNC_IGNORE}=\"1\" in a rule that runs earlier (a name before 85-) to hide a device.",
        "",
        "ENV{ID_DEVSYNC_IGNORE}==\"1\", GOTO=\"devsync_end\"",
        "ACTION!=\"add|change|remove|bind\", GOTO=\"devsync_end\"",
        "SUBSYSTEM!=\"usb\", GOTO=\"devsync_end\"",
        "ENV{DEVTYPE}!=\"usb_device\", GOTO=\"devsync_end\"",
        "",
    ]

    /// What `90-generic-classes.fdi` recognises, in udev's terms; fixed, because class rules test no ids.
    static let classBlock = [
        "",
        "# Device classes (90-generic-classes.fdi). ID_USB_INTERFACES is \":ccsspp:ccsspp:\", set by udev's usb_id",
        "# builtin for usb_device; on remove, udev reads ID_* back from its database, so these match then too.",
        "# MTP, as libmtp's 69-libmtp.hwdb and 69-libmtp.rules mark it.",
        "ENV{ID_MTP_DEVICE}==\"1\", GOTO=\"devsync_candidate\"",
        "# Mass storage media players, as media-player-info and libmtp mark them.",
        "ENV{ID_MEDIA_PLAYER}==\"?*\", GOTO=\"devsync_candidate\"",
        "# A PDA a local rule marked.",
        "ENV{ID_PDA}==\"?*\", GOTO=\"devsync_candidate\"",
        "# PTP still image (06/01/01): cameras, and MTP players, which present the same triple.",
        "ENV{ID_USB_INTERFACES}==\"*:060101:*\", GOTO=\"devsync_candidate\"",
        "# Apple usbmux (ff/fe/02): iPhone, iPad, iPod touch.",
        "ENV{ID_USB_INTERFACES}==\"*:fffe02:*\", GOTO=\"devsync_candidate\"",
        "# RNDIS (e0/01/03, and 02/02/ff as Windows Mobile presents it) and ActiveSync (ef/01/01).",
        "ENV{ID_USB_INTERFACES}==\"*:e00103:*\", GOTO=\"devsync_candidate\"",
        "ENV{ID_USB_INTERFACES}==\"*:0202ff:*\", GOTO=\"devsync_candidate\"",
        "ENV{ID_USB_INTERFACES}==\"*:ef0101:*\", GOTO=\"devsync_candidate\"",
        "# CDC OBEX (02/0b/00): phones with a SyncML agent.",
        "ENV{ID_USB_INTERFACES}==\"*:020b00:*\", GOTO=\"devsync_candidate\"",
        "# MTP found by interface name only (no udev property) is not covered: udev sees no name on usb_device.",
    ]

    static let footer = [
        "GOTO=\"devsync_end\"",
        "",
        "LABEL=\"devsync_candidate\"",
        "TAG+=\"devsync\", TAG+=\"systemd\", ENV{SYSTEMD_WANTS}+=\"devsyncd.service\"",
        "",
        "LABEL=\"devsync_end\"",
    ]
}

extension UdevRules.ProductMatch {
    /// The selection of `products` of `vendor` that `rule` makes.
    fileprivate init(vendor: Int, products: UdevRules.Products, _ rule: ProfileRule) {
        var vendorName: String?, model: String?, ignored = false
        for action in rule.actions {
            guard case .merge(let key, .value(let value)) = action else { continue }
            switch (key, value) {
            case (PropertyKey.syncVendor, .string(let text)): vendorName = text
            case (PropertyKey.syncModel, .string(let text)): model = text
            case (PropertyKey.syncIgnore, .bool(let flag)): ignored = flag
            default: break
            }
        }
        self.init(vendor: vendor, products: products, source: "", label: [vendorName, model].compactMap { $0 }.joined(separator: " "),
                  ignored: ignored)
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
