// SPDX-License-Identifier: Apache-2.0
import CUSB

/// The libusb fallback for a device whose sysfs shows neither interface directories nor `descriptors`.
///
/// It lists devices and reads the active configuration descriptor of the one at bus/address. It never calls
/// `libusb_open`, never claims an interface and never sends a control transfer: on Linux libusb answers from
/// the descriptors the kernel cached at enumeration. A context lives only for one call, so libusb's own
/// hotplug thread does not stay resident in the daemon.
enum LibUSBDescriptors {
    /// The interfaces (alternate setting 0) of the active configuration of the device at `bus`/`address`.
    @Sendable static func interfaces(bus: UInt32, address: UInt32) -> [USBInterface]? {
        var context: OpaquePointer?
        guard libusb_init(&context) == 0, let context else { return nil }
        defer { libusb_exit(context) }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { return nil }
        defer { libusb_free_device_list(list, 1) }
        for index in 0..<Int(count) {
            guard let device = list[index],
                UInt32(libusb_get_bus_number(device)) == bus, UInt32(libusb_get_device_address(device)) == address
            else { continue }
            var configuration: UnsafeMutablePointer<libusb_config_descriptor>?
            guard libusb_get_active_config_descriptor(device, &configuration) == 0, let configuration else {
                return nil
            }
            defer { libusb_free_config_descriptor(configuration) }
            var interfaces: [USBInterface] = []
            let pointee = configuration.pointee
            for number in 0..<Int(pointee.bNumInterfaces) {
                let interface = pointee.interface[number]
                guard interface.num_altsetting > 0, let setting = interface.altsetting?.pointee else { continue }
                interfaces.append(USBInterface(
                    number: setting.bInterfaceNumber, classCode: setting.bInterfaceClass,
                    subclass: setting.bInterfaceSubClass, protocolCode: setting.bInterfaceProtocol, name: nil))
            }
            return interfaces.sorted { $0.number < $1.number }
        }
        return nil
    }
}
