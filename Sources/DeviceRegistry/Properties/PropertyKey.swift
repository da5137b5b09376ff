// SPDX-License-Identifier: Apache-2.0
/// The property keys devsync speaks, HAL-style and namespaced. `docs/profiles.md` is the reference.
///
/// Keys are plain strings so that profiles can use any key; these constants name the ones the code relies on.
public enum PropertyKey {
    // info.*: what every device has
    /// The source subsystem: `usb` or `bluetooth`.
    public static let infoSubsystem = "info.subsystem"
    /// The vendor name as the device or a database reports it.
    public static let infoVendor = "info.vendor"
    /// The product name as the device or a database reports it.
    public static let infoProduct = "info.product"

    // usb.*: from sysfs, udev and the descriptors
    /// `int`: idVendor.
    public static let usbVendorID = "usb.vendor_id"
    /// `int`: idProduct.
    public static let usbProductID = "usb.product_id"
    /// `int`: bcdDevice.
    public static let usbDeviceRevision = "usb.device_revision_bcd"
    /// `string`: the iSerialNumber string.
    public static let usbSerial = "usb.serial"
    /// `string`: the iProduct string, the device's own name for itself (an Android device's model).
    public static let usbProduct = "usb.product"
    /// `int`: bDeviceClass.
    public static let usbDeviceClass = "usb.device_class"
    /// `int`: bDeviceSubClass.
    public static let usbDeviceSubclass = "usb.device_subclass"
    /// `int`: bDeviceProtocol.
    public static let usbDeviceProtocol = "usb.device_protocol"
    /// `strlist`: one `cc/ss/pp` lowercase hex triple per interface, in interface order.
    public static let usbInterfaces = "usb.interfaces"
    /// `strlist`: the interface strings (iInterface), in interface order, where the device gives them.
    public static let usbInterfaceNames = "usb.interface_names"
    /// `int`: the bus number (never part of an id).
    public static let usbBusNumber = "usb.bus_number"
    /// `int`: the device number on the bus (never part of an id).
    public static let usbDeviceNumber = "usb.linux.device_number"

    // serial.*
    /// `string`: the tty device node of a serial sync port, such as a Palm's `/dev/ttyUSB1`.
    public static let serialDevice = "serial.device"

    // bluetooth.*
    /// `string`: the device address, upper-case `XX:XX:XX:XX:XX:XX`.
    public static let bluetoothAddress = "bluetooth.address"
    /// `string`: the remote name (or alias).
    public static let bluetoothName = "bluetooth.name"
    /// `int`: the 24-bit class of device.
    public static let bluetoothClass = "bluetooth.class"
    /// `string`: the class of device's major class decoded (`phone`, `computer`, `audio-video` …), since FDI
    /// operators cannot mask bits.
    public static let bluetoothMajorClass = "bluetooth.major_class"
    /// `string`: the minor class decoded for the computer and phone major classes (`palm`, `smartphone` …).
    public static let bluetoothMinorClass = "bluetooth.minor_class"
    /// `strlist`: service UUIDs, lowercase 128-bit.
    public static let bluetoothUUIDs = "bluetooth.uuids"
    /// `string`: the device id modalias, `bluetooth:vXXXXpXXXXdXXXX` or `usb:…`.
    public static let bluetoothModalias = "bluetooth.modalias"
    /// `string`: the user-settable alias BlueZ keeps (defaults to the remote name).
    public static let bluetoothAlias = "bluetooth.alias"
    /// `int`: the Device ID vendor, from the modalias.
    public static let bluetoothVendorID = "bluetooth.vendor_id"
    /// `int`: the Device ID product, from the modalias.
    public static let bluetoothProductID = "bluetooth.product_id"
    /// `int`: the Device ID version, from the modalias.
    public static let bluetoothVersion = "bluetooth.version"
    /// `bool`: whether the device is paired.
    public static let bluetoothPaired = "bluetooth.paired"
    /// `bool`: whether the device is connected now.
    public static let bluetoothConnected = "bluetooth.connected"
    /// The prefix of the `int` RFCOMM channel of each sync service SDP found: `bluetooth.channel.irmc-sync`,
    /// `bluetooth.channel.syncml-client`, `bluetooth.channel.obex-object-push`, `bluetooth.channel.obex-file-transfer`,
    /// `bluetooth.channel.pbap-pse`, `bluetooth.channel.map-mas`.
    public static let bluetoothChannelPrefix = "bluetooth.channel."

    // sync.*: what profiles set
    /// `string`: pda, phone, tablet, media-player or camera.
    public static let syncKind = "sync.kind"
    /// `string`: the refined vendor name.
    public static let syncVendor = "sync.vendor"
    /// `string`: the refined model name.
    public static let syncModel = "sync.model"
    /// `string`: the OpenSync-style plugin name (`palm-sync`, `syncml-obex-client`, `mtp` …).
    public static let syncPlugin = "sync.plugin"
    /// `strlist`: contacts, calendar, todo, notes, photos, music, video, files.
    public static let syncDatatypes = "sync.datatypes"
    /// `string`: the key of the property that holds the device's unique id (default: serial, then address).
    public static let syncUniqueIDKey = "sync.unique_id_key"
    /// `bool`: true makes devsync ignore the device.
    public static let syncIgnore = "sync.ignore"

    /// The prefix of udev properties copied verbatim (`udev.ID_MTP_DEVICE`, `udev.ID_MEDIA_PLAYER` …).
    public static let udevPrefix = "udev."

    // The databases devsync reads itself (docs/profiles.md, "Property sources")
    /// The prefix of the hardware database's keys for the device's modalias (`hwdb.ID_MTP_DEVICE` …), strings.
    public static let hardwareDatabasePrefix = "hwdb."
    /// The prefix of the device's media-player-info keys, `mpi.<section>.<Key>` (`mpi.device.AccessProtocol` …).
    public static let mediaPlayerInfoPrefix = "mpi."
    /// `string`: the name of the media-player-info file the `mpi.*` keys came from (`sandisk_sansa-e200`).
    public static let mediaPlayerInfoName = "mpi.name"
    /// `string`: the maker's name in libmtp's device table, for a device libmtp lists (`Lenovo`).
    public static let libmtpVendor = "libmtp.vendor"
    /// `string`: the device's name in libmtp's device table (`IdeaTab A3000`, `Galaxy models (MTP)`).
    public static let libmtpProduct = "libmtp.product"
    /// `strlist`: the modules whose `modules.alias` USB entries match the device or one of its interfaces.
    public static let kernelDrivers = "kernel.drivers"
    /// `strlist`: the drivers bound to the device's interfaces now (sysfs `driver` links), in interface order.
    public static let sysfsInterfaceDrivers = "sysfs.interface.drivers"
}
