// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// The environment an owner callout runs with: a fixed `PATH` and the device as `DEVSYNC_*` variables.
///
/// Nothing of the daemon's own environment is passed on, so a callout behaves the same whoever started devsyncd.
public enum CalloutEnvironment {
    /// The search path the callout gets; it runs without a shell, but a script's own commands need one.
    public static let path = "PATH=/usr/bin:/bin"

    /// The longest value passed on; longer values are cut (device strings are short, the limit stops abuse).
    public static let maximumValueLength = 1024

    /// `NAME=value` entries, sorted: `PATH`, `DEVSYNC_UID` and one `DEVSYNC_<KEY>` per property.
    ///
    /// A key becomes its upper-case form with every character but ASCII letters and digits turned into `_`
    /// (`usb.vendor_id` → `DEVSYNC_USB_VENDOR_ID`). Ints whose key ends in `_id` or `_bcd` are written as
    /// `0x%04x`, as lsusb and the profiles write ids; other ints, uint64s and doubles in decimal; bools as
    /// `true`/`false`; strlists comma-separated. Control characters in values become spaces.
    public static func entries(for properties: DeviceProperties, uid: String) -> [String] {
        var variables: [String: String] = ["DEVSYNC_UID": sanitized(uid)]
        for (key, value) in properties.sorted {
            let name = variableName(for: key)
            guard name != "DEVSYNC_UID" else { continue }  // the uid is the registry's, not a property's
            variables[name] = sanitized(text(of: value, key: key))
        }
        return [path] + variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// `DEVSYNC_` and the key upper-cased, non-alphanumerics as `_`.
    public static func variableName(for key: String) -> String {
        var name = "DEVSYNC_"
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32)!)
            case "A"..."Z", "0"..."9": name.unicodeScalars.append(scalar)
            default: name.append("_")
            }
        }
        return name
    }

    private static func text(of value: PropertyValue, key: String) -> String {
        switch value {
        case .int(let number) where key.hasSuffix("_id") || key.hasSuffix("_bcd"):
            let digits = String(UInt32(bitPattern: number), radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        default:
            return value.description
        }
    }

    private static func sanitized(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(maximumValueLength) {
            // NUL cannot be passed at all; newlines and escapes would confuse a shell script reading the value.
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                result.append(" ")
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
