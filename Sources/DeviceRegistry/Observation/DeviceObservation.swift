// SPDX-License-Identifier: Apache-2.0
/// How a device reaches this computer.
public enum Transport: String, Sendable, Hashable, CaseIterable, Codable {
    case usb
    case bluetooth
}

/// One physical device as a source (udev, BlueZ) currently sees it, before any profile is applied.
public struct DeviceObservation: Sendable, Hashable {
    /// The transport the device came through.
    public var transport: Transport
    /// The source's own stable handle for this attachment: the sysfs devpath of the USB device
    /// (`/devices/pci0000:00/…/1-2`) or the BlueZ object path. Used to pair a departure with its arrival;
    /// never part of the device's unique id.
    public var sourceKey: String
    /// The raw properties in the vocabulary of `docs/profiles.md`.
    public var properties: DeviceProperties

    /// An observation of the device at `sourceKey` with `properties`.
    public init(transport: Transport, sourceKey: String, properties: DeviceProperties) {
        self.transport = transport
        self.sourceKey = sourceKey
        self.properties = properties
    }
}

/// What a source reports: one logical event per physical arrival, change or departure.
public enum SourceEvent: Sendable, Hashable {
    /// A device appeared (plugged in, paired).
    case arrived(DeviceObservation)
    /// A present device's raw properties changed (a child such as its tty appeared, it connected).
    case changed(DeviceObservation)
    /// The device at this source key went away (unplugged, unpaired, removed).
    case departed(transport: Transport, sourceKey: String)
}
