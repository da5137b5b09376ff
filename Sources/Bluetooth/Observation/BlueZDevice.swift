// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// The `org.bluez.Device1` properties devsync reads, as plain Swift values.
///
/// The BlueZ watcher fills this from the D-Bus `a{sv}` it receives; keeping the mapping on plain values lets it
/// be tested, and reasoned about, without a bus.
public struct BlueZDevice: Sendable, Hashable {
    /// `Address`: the device address as BlueZ spells it.
    public var address: String
    /// `Name`: the remote name the device announced, absent until name resolution succeeds.
    public var name: String?
    /// `Alias`: the user-settable name; BlueZ defaults it to the name, or to the address with dashes.
    public var alias: String?
    /// `Class`: the 24-bit Class of Device, absent for LE-only devices.
    public var deviceClass: UInt32?
    /// `UUIDs`: service UUIDs as BlueZ lists them (128-bit, but any spelling is accepted).
    public var uuids: [String]
    /// `Modalias`: the Device ID record, `bluetooth:v000Fp1200d1436`.
    public var modalias: String?
    /// `Paired`.
    public var paired: Bool
    /// `Connected`.
    public var connected: Bool
    /// `Trusted`.
    public var trusted: Bool
    /// `Blocked`.
    public var blocked: Bool
    /// `Adapter`: the object path of the adapter that knows the device, `/org/bluez/hci0`.
    public var adapter: String?

    /// A device with these properties; everything but the address is optional, as on the bus.
    public init(
        address: String, name: String? = nil, alias: String? = nil, deviceClass: UInt32? = nil,
        uuids: [String] = [], modalias: String? = nil, paired: Bool = false, connected: Bool = false,
        trusted: Bool = false, blocked: Bool = false, adapter: String? = nil
    ) {
        self.address = address
        self.name = name
        self.alias = alias
        self.deviceClass = deviceClass
        self.uuids = uuids
        self.modalias = modalias
        self.paired = paired
        self.connected = connected
        self.trusted = trusted
        self.blocked = blocked
        self.adapter = adapter
    }

    /// One `Device1` property as `PropertiesChanged` delivers it.
    public enum Property: Sendable, Hashable {
        case address(String)
        case name(String?)
        case alias(String?)
        case deviceClass(UInt32?)
        case uuids([String])
        case modalias(String?)
        case paired(Bool)
        case connected(Bool)
        case trusted(Bool)
        case blocked(Bool)
        case adapter(String?)
    }

    /// Applies one changed (or, with nil, invalidated) property.
    public mutating func apply(_ change: Property) {
        switch change {
        case .address(let value): address = value
        case .name(let value): name = value
        case .alias(let value): alias = value
        case .deviceClass(let value): deviceClass = value
        case .uuids(let value): uuids = value
        case .modalias(let value): modalias = value
        case .paired(let value): paired = value
        case .connected(let value): connected = value
        case .trusted(let value): trusted = value
        case .blocked(let value): blocked = value
        case .adapter(let value): adapter = value
        }
    }

    /// The raw properties devsync publishes for this device (see `docs/bluetooth.md` for the table).
    ///
    /// Strings pass through ``DeviceProperties``, which sanitizes them, so a hostile name is safe here.
    public var properties: DeviceProperties {
        var properties = DeviceProperties()
        properties[PropertyKey.infoSubsystem] = .string("bluetooth")
        if let address = BluetoothAddress(address) {
            properties[PropertyKey.bluetoothAddress] = .string(address.description)
        }
        // The alias is what the user sees in every Bluetooth dialog; the remote name is what the device calls itself.
        if let shown = alias ?? name { properties[PropertyKey.bluetoothName] = .string(shown) }
        if let alias { properties[PropertyKey.bluetoothAlias] = .string(alias) }
        if let name { properties[PropertyKey.infoProduct] = .string(name) }
        if let deviceClass {
            let decoded = BluetoothDeviceClass(rawValue: deviceClass)
            properties[PropertyKey.bluetoothClass] = .int(Int32(decoded.rawValue))
            // Class 0 means "not reported": no decoded keys, so profiles do not take it for "miscellaneous".
            if decoded.rawValue != 0, let major = decoded.majorClass {
                properties[PropertyKey.bluetoothMajorClass] = .string(major.rawValue)
                if BluetoothMinorDeviceClass.isPublished(for: major), let minor = decoded.minorClass {
                    properties[PropertyKey.bluetoothMinorClass] = .string(minor.rawValue)
                }
            }
        }
        if !uuids.isEmpty {
            // Unparseable entries are dropped rather than published in a form profiles could never match.
            properties[PropertyKey.bluetoothUUIDs] = .strlist(uuids.compactMap(BluetoothUUID.normalize))
        }
        if let modalias {
            properties[PropertyKey.bluetoothModalias] = .string(modalias)
            if let parsed = BluetoothModalias(modalias) {
                properties[PropertyKey.bluetoothVendorID] = .int(Int32(parsed.vendor))
                properties[PropertyKey.bluetoothProductID] = .int(Int32(parsed.product))
                properties[PropertyKey.bluetoothVersion] = .int(Int32(parsed.version))
                if let vendor = parsed.vendorName { properties[PropertyKey.infoVendor] = .string(vendor) }
            }
        }
        properties[PropertyKey.bluetoothPaired] = .bool(paired)
        properties[PropertyKey.bluetoothConnected] = .bool(connected)
        return properties
    }

    /// The observation of this device at its BlueZ object path (`/org/bluez/hci0/dev_00_1A_7D_DA_71_13`).
    public func observation(objectPath: String) -> DeviceObservation {
        DeviceObservation(transport: .bluetooth, sourceKey: objectPath, properties: properties)
    }
}
