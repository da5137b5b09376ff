// SPDX-License-Identifier: Apache-2.0
/// The type of a device property, as HAL typed them.
public enum PropertyType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case string, int, uint64, bool, double, strlist

    public var description: String { rawValue }
}

/// A typed device property value: HAL's six property types.
///
/// `int` is 32-bit signed as in HAL (`dbus_int32_t`); ids such as `usb.vendor_id` and `bluetooth.class` fit in it.
public enum PropertyValue: Sendable, Hashable {
    case string(String)
    case int(Int32)
    case uint64(UInt64)
    case bool(Bool)
    case double(Double)
    case strlist([String])

    /// The type of this value.
    public var type: PropertyType {
        switch self {
        case .string: .string
        case .int: .int
        case .uint64: .uint64
        case .bool: .bool
        case .double: .double
        case .strlist: .strlist
        }
    }

    /// The value as a string, if it is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as an `int`, if it is one.
    public var intValue: Int32? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The value as a `uint64`, if it is one.
    public var uint64Value: UInt64? {
        if case .uint64(let value) = self { return value }
        return nil
    }

    /// The value as a `bool`, if it is one.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The value as a `double`, if it is one.
    public var doubleValue: Double? {
        if case .double(let value) = self { return value }
        return nil
    }

    /// The value as a `strlist`, if it is one.
    public var strlistValue: [String]? {
        if case .strlist(let value) = self { return value }
        return nil
    }
}

extension PropertyValue: CustomStringConvertible {
    /// The value as FDI and `devsyncctl` write it: ints in hex when they look like ids is the caller's choice,
    /// so this is plain decimal; strlists are comma-separated.
    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .uint64(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .double(let value): String(value)
        case .strlist(let value): value.joined(separator: ",")
        }
    }
}
