// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Logging

/// Folds udev's per-object uevents (usb_device, each usb_interface, each tty) into one logical event per
/// physical arrival, change or departure. Pure state: it reads sysfs through its `USBDeviceReader` but owns no
/// C object, so it is tested without a monitor. `docs/udev.md` describes the rules.
struct USBEventFolder {
    /// The devices announced and not yet departed, by devpath.
    private(set) var devices: [String: USBDeviceRecord] = [:]
    /// Devices whose usb_device uevent came before the kernel had created all their interfaces: held back,
    /// unannounced, until the last interface directory appears (or the source settles them after a grace time).
    private(set) var pending: [String: USBDeviceRecord] = [:]
    /// Where sysfs is mounted, as the events' syspaths say (`/sys`): a held device is described from its
    /// directory if it has to be announced without its interfaces.
    private var sysfsRoot = "/sys"
    let reader: USBDeviceReader
    let logger: Logger

    /// A folder that has announced nothing yet.
    init(reader: USBDeviceReader, logger: Logger) {
        self.reader = reader
        self.logger = logger
    }

    /// The logical events for one uevent. Idempotent per state: an add for a device already announced yields
    /// at most a `.changed`, a remove for one never announced yields nothing. Reconciliation relies on this.
    mutating func fold(_ event: UdevDevice) -> [SourceEvent] {
        let action = event.action ?? "add"
        if event.isUSBDevice {
            switch action {
            case "add", "bind", "change": return announce(event)
            case "remove": return depart(event.devpath, initializedAt: event.initializedAt)
            case "move":
                let departed = event.properties["DEVPATH_OLD"].map { depart($0, initializedAt: nil) } ?? []
                return departed + announce(event)
            default: return []  // unbind: the remove follows; offline/online say nothing new about identity
            }
        }
        if event.isUSBInterface {
            guard let parent = event.devpath.parentDevpath, devices[parent] != nil || pending[parent] != nil else {
                return []
            }
            switch action {
            // A bind gives the interface its driver (`sysfs.interface.drivers`). An unbind is not followed: on
            // an unplug it comes just before the remove, and re-reading would announce a change of a leaving device.
            case "add", "bind", "change":
                guard let interface = reader.readInterface(event) else {
                    logger.debug("usb interface vanished while being read, skipped", metadata: ["devpath": "\(event.devpath)"])
                    return []
                }
                return update(parent) { $0.bind(interface) }
            case "remove":
                // Silent: an interface goes away only with its device (whose remove follows at once) or on a
                // configuration change (whose new interfaces arrive as changes). One unplug, one departure.
                if let number = USBDeviceReader.interfaceNumber(sysname: event.sysname) {
                    let remove: (inout USBDeviceRecord) -> Void = { record in
                        record.interfaces.removeAll { UInt32($0.number) == number }
                        record.boundInterfaces = record.boundInterfaces.filter { UInt32($0) != number }
                    }
                    if devices[parent] != nil { remove(&devices[parent]!) }
                    if pending[parent] != nil { remove(&pending[parent]!) }
                }
                return []
            default: return []
            }
        }
        if event.subsystem == "tty" {
            guard let owner = owner(of: event.devpath) else { return [] }
            switch action {
            case "add", "change", "bind":
                let node = event.devnode ?? event.properties["DEVNAME"].map { $0.hasPrefix("/") ? $0 : "/dev/" + $0 }
                    ?? "/dev/" + event.sysname
                return update(owner) { $0.ttys[event.devpath] = node }
            case "remove":
                devices[owner]?.ttys[event.devpath] = nil  // silent, as for interfaces
                pending[owner]?.ttys[event.devpath] = nil
                return []
            default: return []
            }
        }
        return []
    }

    /// Announces a pending device with what is known of it now: its interfaces did not all appear in time.
    mutating func settle(_ devpath: String) -> [SourceEvent] {
        guard var record = pending.removeValue(forKey: devpath) else { return [] }
        reader.describeMissingInterfaces(of: &record, syspath: sysfsRoot + devpath)
        logger.info("usb device announced before all its interfaces appeared",
                    metadata: ["devpath": "\(devpath)", "interfaces": "\(record.boundInterfaces.count)/\(record.expectedInterfaces ?? 0)"])
        devices[devpath] = record
        return [.arrived(record.observation)]
    }

    /// The events that bring the announced set in line with the usb_devices `present` as an enumeration found
    /// them (each read with its interfaces and ttys): arrivals, changes and departures, by devpath. Cold-plug is
    /// this from empty.
    ///
    /// Everything present is announced at once, complete or not: an enumeration sees the tree as it is.
    mutating func resynchronize(present: [UdevDevice]) -> [SourceEvent] {
        var fresh: [String: USBDeviceRecord] = [:]
        for device in present where device.isUSBDevice {
            do {
                var record = try reader.readDevice(device)
                reader.describeMissingInterfaces(of: &record, syspath: device.syspath)
                fresh[device.devpath] = record
            } catch {
                logger.info("usb device vanished while being read, skipped", metadata: ["devpath": "\(device.devpath)"])
            }
        }
        let previous = devices
        devices = fresh
        pending = [:]
        var events: [SourceEvent] = []
        for devpath in previous.keys.sorted() where devices[devpath] == nil {
            events.append(.departed(transport: .usb, sourceKey: devpath))
        }
        for devpath in devices.keys.sorted() {
            guard let record = devices[devpath] else { continue }
            if let old = previous[devpath] {
                if old.properties != record.properties { events.append(.changed(record.observation)) }
            } else {
                events.append(.arrived(record.observation))
            }
        }
        return events
    }

    private mutating func announce(_ event: UdevDevice) -> [SourceEvent] {
        var record: USBDeviceRecord
        do {
            record = try reader.readDevice(event)
        } catch {
            logger.info("usb device vanished while being read, skipped", metadata: ["devpath": "\(event.devpath)"])
            return []
        }
        // The same attachment seen again (its bind, a rules change, or the live twin of an enumerated device):
        // children learnt from their own events stay; only new facts make a change.
        if let known = devices[event.devpath] ?? pending[event.devpath] {
            record.keepChildren(of: known)
        }
        if let old = devices[event.devpath] {
            reader.describeMissingInterfaces(of: &record, syspath: event.syspath)
            devices[event.devpath] = record
            return old.properties == record.properties ? [] : [.changed(record.observation)]
        }
        if record.isAwaitingInterfaces {
            pending[event.devpath] = record
            if event.syspath.utf8.count > event.devpath.utf8.count, event.syspath.hasSuffix(event.devpath) {
                sysfsRoot = String(decoding: event.syspath.utf8.dropLast(event.devpath.utf8.count), as: UTF8.self)
            }
            return []
        }
        pending[event.devpath] = nil
        devices[event.devpath] = record
        return [.arrived(record.observation)]
    }

    private mutating func depart(_ devpath: String, initializedAt removed: UInt64?) -> [SourceEvent] {
        if pending.removeValue(forKey: devpath) != nil {
            pending.releaseUnusedCapacity()
            logger.debug("usb device left before it was complete", metadata: ["devpath": "\(devpath)"])
            return []
        }
        guard let tracked = devices[devpath] else { return [] }
        // A remove of an older instance at the same devpath (queued before an enumeration that already saw
        // the new one) must not take the new one away.
        if let removed, let current = tracked.initializedAt, removed < current {
            logger.debug("stale usb remove ignored", metadata: ["devpath": "\(devpath)"])
            return []
        }
        devices[devpath] = nil
        devices.releaseUnusedCapacity()
        return [.departed(transport: .usb, sourceKey: devpath)]
    }

    private mutating func update(_ devpath: String, _ change: (inout USBDeviceRecord) -> Void) -> [SourceEvent] {
        if var record = pending[devpath] {
            change(&record)
            if record.isAwaitingInterfaces {
                pending[devpath] = record
                return []
            }
            pending[devpath] = nil
            devices[devpath] = record
            return [.arrived(record.observation)]
        }
        guard var record = devices[devpath] else { return [] }
        let before = record.properties
        change(&record)
        devices[devpath] = record
        return before == record.properties ? [] : [.changed(record.observation)]
    }

    /// The announced or pending usb_device that `devpath` lies below (the nearest, should devices nest).
    private func owner(of devpath: String) -> String? {
        var candidate = devpath.parentDevpath
        while let path = candidate {
            if devices[path] != nil || pending[path] != nil { return path }
            candidate = path.parentDevpath
        }
        return nil
    }
}

extension USBDeviceRecord {
    /// Keeps what `known` learnt from child uevents that a fresh sysfs read of the device did not see again.
    mutating func keepChildren(of known: USBDeviceRecord) {
        ttys.merge(known.ttys) { new, _ in new }
        for interface in known.interfaces {
            if let index = interfaces.firstIndex(where: { $0.number == interface.number }) {
                if interfaces[index].name == nil { interfaces[index].name = interface.name }
            } else {
                merge(interface)
            }
        }
        boundInterfaces.formUnion(known.boundInterfaces)
    }
}
