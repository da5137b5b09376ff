// SPDX-License-Identifier: Apache-2.0
// Run these with the umockdev preload in the test process (`make check` should run them the same way):
//
//   swift build --build-tests && LD_PRELOAD=libumockdev-preload.so.0 swift test --skip-build --filter UdevMonitorTests
//
// Without the preload the umockdev suite is skipped (a testbed would be invisible to libudev); the pure suites
// (descriptor parsing, sysfs reading, folding) run either way.

import DeviceRegistry
import DevsyncTestSupport
import Foundation
import Dispatch
import Logging
import Testing
@testable import UdevMonitor

extension USBDeviceSource {
    /// Stops and waits until the monitor socket is closed, so that closing the testbed next does not race the
    /// preload library's socket cleanup in the same directory.
    func stopAndWait() {
        let closed = DispatchSemaphore(value: 0)
        didStop = { closed.signal() }
        stop()
        _ = closed.wait(timeout: .now() + 10)
    }
}

/// The process-wide testbed makes these tests mutually exclusive: UMOCKDEV_DIR is one environment variable.
@Suite(
    "USB devices through libudev (umockdev)", .serialized,
    // Skipped, not failed, when the preload library is missing: libudev would see the host's real /sys.
    .enabled(if: Testbed.preloadActive, "needs LD_PRELOAD=libumockdev-preload.so.0 (see the top of this file)")
)
final class USBDeviceSourceTests: @unchecked Sendable {
    // @unchecked Sendable: each test has its own instance, and only that test's task touches `sources`.
    let logger = Logger(label: "test.udev")
    /// Each test's own testbed; every test ends with `finish()`.
    let testbed = Testbed()
    /// The sources a test made, stopped (before the testbed closes) by `finish()`.
    private var sources: [USBDeviceSource] = []

    init() {}

    /// Stops the test's sources and closes its testbed. Each test defers this first thing: the suite instance's
    /// deinit may run after the next test has made its testbed, and closing a testbed then (it unsets the
    /// process-wide UMOCKDEV_DIR) broke the next one's sockets.
    private func finish() {
        sources.forEach { $0.stopAndWait() }
        sources = []
        testbed.close()
    }

    /// The interface grace period of the tests' sources. The daemon's one second is a scheduling bound: on a
    /// loaded machine (a check loop at load 9–15) the testbed's third interface uevent came more than a second
    /// after the iPhone's, and the device was announced with two interfaces and then changed. Tests that expect a
    /// device folded into one arrival must not depend on how fast the machine is; the grace period's own test
    /// sets a short one.
    static let grace = Duration.seconds(30)

    private func startedSource(
        configuration: USBDeviceSource.Configuration = .init(interfaceGracePeriod: USBDeviceSourceTests.grace)
    ) throws -> (USBDeviceSource, EventTap) {
        let source = pacedSource(configuration: configuration)
        let tap = EventTap(source.events)
        try source.start()
        return (source, tap)
    }

    /// A source whose reads pace the testbed's uevents; stopped when the test ends.
    private func pacedSource(
        configuration: USBDeviceSource.Configuration = .init(interfaceGracePeriod: USBDeviceSourceTests.grace)
    ) -> USBDeviceSource {
        let source = USBDeviceSource(configuration: configuration, logger: logger)
        let gate = UeventGate()
        source.didReceiveUevents = gate.didReceive
        testbed.gate = gate
        sources.append(source)
        return source
    }

    /// Hotplugs a marker device and returns every event up to (not including) its arrival: proof that nothing
    /// else came before it that the test did not expect. `after` is how many events precede the marker since
    /// the source started; nil waits for the marker however many come first.
    private func eventsThroughMarker(
        _ testbed: Testbed, _ tap: EventTap, after count: Int? = nil, port: String = "9-9"
    ) async -> [SourceEvent] {
        testbed.plug(USBFixture(port: port, vendorID: 0xdead, productID: 0xbeef,
                                interfaces: [.init(classCode: 3, subclass: 0, protocolCode: 0)]))
        let isMarker: @Sendable (SourceEvent) -> Bool = { $0.isArrival && $0.sourceKey.hasSuffix("/\(port)") }
        let events = if let count { await tap.first(count + 1) } else { await tap.through(isMarker) }
        #expect(events.last.map(isMarker) == true, "the marker should come right after the expected events: \(events)")
        return Array(events.dropLast())
    }

    @Test("devices present at start arrive once each, complete, in cold-plug")
    func coldPlug() async throws {
        defer { finish() }
        let fixtures: [USBFixture] = [.palm(), .iPhone(), .mtpPlayer(), .ptpCamera(), .nokiaN800(), .windowsMobile(), .usbStick()]
        let plugged = fixtures.map { testbed.plug($0) }
        let (source, tap) = try startedSource()
        let events = await eventsThroughMarker(testbed, tap, after: fixtures.count)
        #expect(events.allSatisfy { $0.isArrival })
        #expect(Set(events.map(\.sourceKey)) == Set(plugged.map(\.devpath)))

        let byKey = Dictionary(uniqueKeysWithValues: events.compactMap(\.observation).map { ($0.sourceKey, $0.properties) })
        let palm = try #require(byKey[plugged[0].devpath])
        #expect(palm.int("usb.vendor_id") == 0x0830 && palm.int("usb.product_id") == 0x0061)
        #expect(palm.string("info.vendor") == "Palm, Inc." && palm.string("info.product") == "Palm Handheld")
        #expect(palm.string("usb.serial") == "PalmSN12345678")
        #expect(palm.string("usb.product") == "Palm Handheld", "the device's own product string")
        #expect(palm.strlist("usb.interfaces") == ["ff/00/00"])
        #expect(palm.string("serial.device") == "/dev/ttyUSB1")
        #expect(palm.string("info.subsystem") == "usb")

        let iPhone = try #require(byKey[plugged[1].devpath])
        #expect(iPhone.strlist("usb.interfaces") == ["06/01/01", "ff/fe/02", "ff/fd/01"])
        #expect(iPhone.strlist("usb.interface_names") == ["PTP", "Apple Mobile Device", "Apple USB Multiplexor"])
        #expect(iPhone.int("usb.device_revision_bcd") == 0x0f01)

        let mtp = try #require(byKey[plugged[2].devpath])
        #expect(mtp.string("udev.ID_MTP_DEVICE") == "1" && mtp.string("udev.ID_MEDIA_PLAYER") == "1")
        #expect(mtp.strlist("usb.interface_names") == ["MTP"])

        let camera = try #require(byKey[plugged[3].devpath])
        #expect(camera.strlist("usb.interfaces") == ["06/01/01"])
        #expect(camera.contains("usb.serial") == false, "a device without a serial has no usb.serial")
        #expect(camera.contains("usb.interface_names") == false)

        let n800 = try #require(byKey[plugged[4].devpath])
        #expect(n800.string("info.product") == "N800 Internet Tablet", "the hwdb names what the device does not")
        #expect(n800.string("udev.ID_VENDOR_FROM_DATABASE") == "Nokia Mobile Phones")

        #expect(byKey[plugged[5].devpath]?.strlist("usb.interfaces") == ["e0/01/03", "0a/00/00"])
        #expect(byKey[plugged[6].devpath]?.strlist("usb.interfaces") == ["08/06/50"])
        #expect(source.presentDevices.count == fixtures.count + 1)
    }

    @Test("a cold-plug of a few hundred devices announces each exactly once, complete")
    func largeColdPlug() async throws {
        defer { finish() }
        let count = 173
        let plugged = (0..<count).map { testbed.plug(.usbStick(port: "\(3 + $0 / 100)-\(1 + $0 % 100)")) }
        let (_, tap) = try startedSource()
        let events = await eventsThroughMarker(testbed, tap, after: count)
        #expect(events.allSatisfy { $0.isArrival })
        #expect(events.map(\.sourceKey).count == Set(events.map(\.sourceKey)).count, "no device twice")
        #expect(Set(events.map(\.sourceKey)) == Set(plugged.map(\.devpath)))
        #expect(events.compactMap(\.observation).allSatisfy { $0.properties.strlist("usb.interfaces") == ["08/06/50"] })
    }

    @Test("a hotplugged device is one arrival carrying all its interfaces, however many uevents it sends")
    func hotplugFoldsIntoOneArrival() async throws {
        defer { finish() }
        let (_, tap) = try startedSource()
        // umockdev sends each add as the kernel does, the usb_device's before its interfaces exist.
        let iPhone = testbed.plug(.iPhone())
        let rndis = testbed.plug(.windowsMobile())
        let events = await eventsThroughMarker(testbed, tap, after: 2)
        #expect(events.map(\.sourceKey) == [iPhone.devpath, rndis.devpath])
        #expect(events.allSatisfy { $0.isArrival })
        let properties = try #require(events.first?.observation?.properties)
        #expect(properties.strlist("usb.interfaces") == ["06/01/01", "ff/fe/02", "ff/fd/01"])
        #expect(properties.strlist("usb.interface_names") == ["PTP", "Apple Mobile Device", "Apple USB Multiplexor"])
        #expect(events.last?.observation?.properties.strlist("usb.interfaces") == ["e0/01/03", "0a/00/00"])
    }

    @Test("a Palm is one arrival; its ttys fold into it or follow as changes, naming the HotSync port")
    func palmTTYsFoldOrChange() async throws {
        defer { finish() }
        let (_, tap) = try startedSource()
        let palm = testbed.plug(.palm())
        // Whether a tty is already in sysfs when the source reads the device depends on scheduling; either way
        // there is one arrival, the rest are changes of the same device, and the end state names ttyUSB1.
        let events = await eventsThroughMarker(testbed, tap)
        #expect(events.allSatisfy { $0.sourceKey == palm.devpath })
        #expect(events.first?.isArrival == true && events.dropFirst().allSatisfy { $0.isChange })
        #expect((1...3).contains(events.count))
        #expect(events.first?.observation?.properties.strlist("usb.interfaces") == ["ff/00/00"])
        #expect(events.last?.observation?.properties.string("serial.device") == "/dev/ttyUSB1")
    }

    @Test("an unplugged device is one departure for its source key")
    func removalIsOneDeparture() async throws {
        defer { finish() }
        let (source, tap) = try startedSource()
        let palm = testbed.plug(.palm())
        let plugged = await eventsThroughMarker(testbed, tap, port: "9-7")
        testbed.unplug(palm)
        let events = await eventsThroughMarker(testbed, tap, after: plugged.count + 2)
        #expect(events.dropFirst(plugged.count + 1) == [.departed(transport: .usb, sourceKey: palm.devpath)])
        #expect(source.presentDevices.allSatisfy { $0 != palm.devpath })
    }

    @Test("a remove whose sysfs is already gone is still matched by its devpath")
    func removeWithoutSysfs() async throws {
        defer { finish() }
        let plugged = testbed.plug(.usbStick())
        let (_, tap) = try startedSource()
        _ = await tap.first(1)
        // The uevent carries DEVPATH, DEVTYPE and PRODUCT; the directory is deleted before the source can look.
        testbed.uevent(plugged.device, "remove")
        testbed.remove(plugged.device)
        let events = await eventsThroughMarker(testbed, tap, after: 2)
        #expect(events.last == .departed(transport: .usb, sourceKey: plugged.devpath))
    }

    @Test("a tty bound long after the arrival is a change, not a second arrival")
    func lateTTYIsAChange() async throws {
        defer { finish() }
        let (_, tap) = try startedSource()
        let plugged = testbed.plug(.palm(), ttys: false)
        let arrival = await tap.first(1)
        #expect(arrival.first?.isArrival == true)
        #expect(arrival.first?.observation?.properties.contains("serial.device") == false)

        _ = testbed.addTTYs(["ttyUSB1"], below: plugged.interfaces[0])
        let events = await eventsThroughMarker(testbed, tap, after: 2)
        try #require(events.count == 2)
        #expect(events[1].isChange && events[1].sourceKey == plugged.devpath)
        #expect(events[1].observation?.properties.string("serial.device") == "/dev/ttyUSB1")
    }

    @Test("repeated uevents that add nothing new produce no events")
    func repeatedUeventsAreQuiet() async throws {
        defer { finish() }
        // Plugged before the source starts, so that it is read complete: umockdev writes a hotplugged device's
        // files one by one, and a read racing that (a real kernel's sysfs is complete at the uevent) would make
        // the repeats below legitimately new facts.
        let plugged = testbed.plug(.iPhone())
        let (_, tap) = try startedSource()
        #expect(await tap.first(1).first?.isArrival == true)
        testbed.resend(plugged, "bind")
        testbed.resend(plugged, "change")
        testbed.resend(plugged, "add")
        let events = await eventsThroughMarker(testbed, tap, after: 1)
        #expect(events.count == 1 && events[0].isArrival, "nothing but the cold-plug arrival: \(events)")
    }

    @Test("a device that comes while the source enumerates is announced exactly once")
    func arrivalDuringEnumeration() async throws {
        defer { finish() }
        let early = testbed.plug(.usbStick())
        let source = pacedSource()
        let tap = EventTap(source.events)
        nonisolated(unsafe) var during: PluggedDevice?
        // Between enabling the monitor and enumerating: enumeration sees it AND its uevent is queued.
        source.willEnumerate = { [testbed] in during = testbed.plug(.mtpPlayer()) }
        try source.start()
        let events = await eventsThroughMarker(testbed, tap, after: 2)
        #expect(events.allSatisfy { $0.isArrival })
        #expect(Set(events.map(\.sourceKey)) == [early.devpath, try #require(during).devpath])
    }

    @Test("a device that comes and goes while the source enumerates leaves no trace")
    func arrivalAndDepartureDuringEnumeration() async throws {
        defer { finish() }
        let source = pacedSource()
        let tap = EventTap(source.events)
        source.willEnumerate = { [testbed] in
            let plugged = testbed.plug(.palm())
            testbed.unplug(plugged)
        }
        try source.start()
        let events = await eventsThroughMarker(testbed, tap, after: 0)
        #expect(events.isEmpty)
        #expect(source.presentDevices.count == 1, "only the marker is present")
    }

    @Test("hostile strings are sanitized and never crash the source")
    func hostileStrings() async throws {
        defer { finish() }
        var fixture = USBFixture.usbStick()
        fixture.serial = nil
        fixture.manufacturer = nil
        fixture.product = nil
        let plugged = testbed.plug(fixture)
        testbed.setAttribute(plugged.device, "serial", bytes: [0x41, 0xC3, 0x28, 0x00, 0x1B, 0x5B, 0x33, 0x31, 0x6D, 0xFF, 0x0A])
        testbed.setAttribute(plugged.device, "manufacturer", bytes: Array(repeating: 0x41, count: 64 * 1024))
        testbed.setAttribute(plugged.device, "product", bytes: [0xE2, 0x80, 0xAE, 0x7F, 0x09, 0x62])
        testbed.setAttribute(plugged.interfaces[0], "interface", bytes: [0xC0, 0xAF, 0x0D])
        let (_, tap) = try startedSource()
        let events = await eventsThroughMarker(testbed, tap, after: 1)
        let properties = try #require(events.first?.observation?.properties)
        let serial = try #require(properties.string("usb.serial"))
        #expect(serial.unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7F..<0xA0).contains($0.value) })
        #expect(serial.hasPrefix("A\u{FFFD}("))
        #expect(properties.string("info.vendor")?.utf8.count == DeviceText.maximumStringBytes)
        #expect(properties.string("info.product") == "\u{FFFD}\u{FFFD}\u{FFFD}b", "U+202E (a bidi override), DEL and TAB replaced")
        #expect(properties.strlist("usb.interface_names")?.allSatisfy { DeviceText.isClean($0) } == true)
    }

    @Test("a device whose interfaces never all appear is still announced, after the grace period")
    func incompleteDeviceIsSettled() async throws {
        defer { finish() }
        let (_, tap) = try startedSource(configuration: .init(interfaceGracePeriod: .milliseconds(50)))
        var fixture = USBFixture.windowsMobile()
        fixture.interfaces.removeLast()
        let plugged = testbed.plug(fixture)
        testbed.setAttribute(plugged.device, "bNumInterfaces", " 2")  // the second interface never comes
        testbed.uevent(plugged.device, "change")
        let events = await tap.first(1)
        #expect(events.first?.isArrival == true && events.first?.sourceKey == plugged.devpath)
        #expect(events.first?.observation?.properties.strlist("usb.interfaces") == ["e0/01/03"])
    }

    @Test("a device with no attributes but its uevent arrives with what udev gave, nothing invented")
    func missingAttributes() async throws {
        defer { finish() }
        let bare = testbed.addDevice(
            subsystem: "usb", name: "3-1", parent: testbed.hostController,
            properties: [("DEVTYPE", "usb_device"), ("PRODUCT", "830/61/100"), ("ID_USB_INTERFACES", ":ff0000:")])
        let (_, tap) = try startedSource()
        let events = await eventsThroughMarker(testbed, tap, after: 1)
        let properties = try #require(events.first?.observation?.properties)
        #expect(events.first?.sourceKey == String(bare.dropFirst(4)))
        #expect(properties.int("usb.vendor_id") == 0x0830 && properties.int("usb.device_revision_bcd") == 0x0100)
        #expect(properties.strlist("usb.interfaces") == ["ff/00/00"])
        #expect(properties.contains("usb.serial") == false && properties.contains("info.vendor") == false)
        #expect(properties.contains("usb.device_class") == false)
    }

    @Test("a burst of 1,000 unplug/replug cycles loses nothing and leaves nothing over")
    func burst() async throws {
        defer { finish() }
        let (source, tap) = try startedSource()
        let ports = (0..<10).map { testbed.plug(.usbStick(port: "4-\($0 + 1)")) }
        _ = await tap.first(ports.count)
        // Ten ports flapping in turn. The directories stay, so every add can be read, as a real device's can
        // while udev still announces it; the monitor must keep up with the uevents alone.
        for cycle in 0..<1_000 {
            let plugged = ports[cycle % ports.count]
            testbed.uevent(plugged.device, "remove")
            testbed.uevent(plugged.device, "add")
        }
        ports.forEach(testbed.unplug)
        let events = await eventsThroughMarker(testbed, tap, after: ports.count + 2_000 + ports.count, port: "9-8")
        let cycles = events.dropFirst(ports.count)
        #expect(cycles.filter(\.isArrival).count == 1_000)
        #expect(cycles.filter(\.isDeparture).count == 1_000 + ports.count)
        var present = Set(ports.map(\.devpath))
        for event in cycles {
            if event.isArrival { #expect(present.insert(event.sourceKey).inserted, "arrived twice: \(event.sourceKey)") }
            if event.isDeparture { #expect(present.remove(event.sourceKey) != nil, "departed unannounced: \(event.sourceKey)") }
        }
        #expect(present.isEmpty)
        #expect(source.presentDevices.count == 1, "only the marker is left")
    }

    @Test("libusb reads the active configuration's interfaces from sysfs, without opening the device")
    func readsWithoutOpening() throws {
        defer { finish() }
        let device = testbed.addDevice(
            subsystem: "usb", name: "5-1", parent: testbed.hostController,
            attributes: [("idVendor", "05ac"), ("idProduct", "12a8"), ("busnum", "5\n"), ("devnum", "3\n"),
                         ("bConfigurationValue", "1\n"), ("speed", "480\n")],
            properties: [("DEVTYPE", "usb_device"), ("BUSNUM", "005"), ("DEVNUM", "003"), ("DEVNAME", "/dev/bus/usb/005/003")])
        testbed.setAttribute(device, "descriptors", bytes: USBDescriptorParserTests.descriptors)
        let interfaces = LibUSBDescriptors.interfaces(bus: 5, address: 3)
        #expect(interfaces?.map(\.triple) == ["06/01/01", "ff/fe/02", "ff/fd/01"])
        #expect(LibUSBDescriptors.interfaces(bus: 5, address: 99) == nil)
    }

    @Test("each device plugged in reaches the registry with the shipped profile's plugin; removal follows")
    func registryResultForEachDevice() async throws {
        defer { finish() }
        let fixtures: [USBFixture] = [.palm(), .iPhone(), .mtpPlayer(), .ptpCamera(), .nokiaN800(), .windowsMobile(), .usbStick()]
        let plugged = fixtures.map { testbed.plug($0) }
        let (_, tap) = try startedSource()
        let coldPlugged = await eventsThroughMarker(testbed, tap, after: fixtures.count)

        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let load = ProfileLoader(logger: logger).load(directories: [repository.appendingPathComponent("fdi-profiles").path])
        #expect(load.errors.isEmpty, "shipped profiles: \(load.errors)")
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-udev-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        let registry = try Registry(
            stateDirectory: state.path, matcher: CompiledMatcher(load.profiles), clock: { 1_700_000_000 }, logger: logger)
        for event in coldPlugged { await registry.handle(event) }

        // The USB stick is no sync device: it stays out. Every other device is pending with its profile's plugin.
        let devices = await registry.devices()
        let byKey = Dictionary(uniqueKeysWithValues: devices.flatMap { record in record.sourceKeys.map { ($0, record) } })
        let expected: [(plugin: String, kind: String?)] = [
            ("palm-sync", "pda"), ("ipod", "phone"), ("mtp", "media-player"), ("ptp", "camera"),
            ("file-sync", "tablet"), ("synce-plugin", nil),
        ]
        #expect(devices.count == expected.count)
        for (index, want) in expected.enumerated() {
            let record = try #require(byKey[plugged[index].devpath], "no record for \(fixtures[index].port)")
            #expect(record.plugin == want.plugin, "\(record.uid)")
            if let kind = want.kind { #expect(record.kind == kind, "\(record.uid)") }
            #expect(record.status == .pending && record.present)
        }
        #expect(byKey[plugged[6].devpath] == nil, "the USB stick is not a sync device")
        let palm = try #require(byKey[plugged[0].devpath])
        #expect(palm.uid == "usb-0830-0061-PalmSN12345678" && palm.stableId)
        #expect(palm.properties.string("serial.device") == "/dev/ttyUSB1")
        let camera = try #require(byKey[plugged[3].devpath])
        #expect(!camera.stableId, "a camera without a serial gets a descriptor-hash uid")

        // An approved iPhone that is unplugged stays known, absent; an unapproved Palm is dropped.
        let iPhone = try #require(byKey[plugged[1].devpath])
        try await registry.approve(uid: iPhone.uid, owner: "alice")
        testbed.unplug(plugged[1])
        testbed.unplug(plugged[0])
        let departures = await tap.through { $0.isDeparture && $0.sourceKey == plugged[0].devpath }
        for event in departures.dropFirst(coldPlugged.count + 1) { await registry.handle(event) }
        #expect(await registry.device(uid: palm.uid) == nil)
        let away = try #require(await registry.device(uid: iPhone.uid))
        #expect(away.status == .approved && away.owner == "alice" && !away.present)

        // Plugged in again on another port, it comes back approved for its owner.
        let again = testbed.plug(.iPhone(port: "3-1"))
        let back = await tap.through { $0.isArrival && $0.sourceKey == again.devpath }
        await registry.handle(try #require(back.last))
        let returned = try #require(await registry.device(uid: iPhone.uid))
        #expect(returned.status == .approved && returned.owner == "alice" && returned.present)
    }

    /// Binds `driver` to an interface as the kernel shows it: a `driver` link in the interface's directory.
    private func bindDriver(_ driver: String, to interface: String) throws {
        let root = try #require(ProcessInfo.processInfo.environment["UMOCKDEV_DIR"])
        try FileManager.default.createSymbolicLink(
            atPath: root + interface + "/driver", withDestinationPath: "../../../../../bus/usb/drivers/\(driver)")
    }

    @Test("a device that udev gave none of the packages' properties is recognised from the databases themselves")
    func databasesWithoutUdevProperties() async throws {
        defer { finish() }
        let (root, hardwareDatabase) = try DatabaseFixtures.buildHardwareDatabase()
        defer { try? FileManager.default.removeItem(at: root) }
        let (libraryRoot, libmtp) = try DatabaseFixtures.buildFakeLibMTP()
        defer { try? FileManager.default.removeItem(at: libraryRoot) }
        // Plugged in before libmtp, media-player-info and systemd's hwdb were installed: no udev ID_* at all.
        let palm = testbed.plug(USBFixture(
            port: "1-3", vendorID: 0x0830, productID: 0x0060, manufacturer: "Palm", product: "Palm Handheld",
            serial: "PalmT3SN", interfaces: [.init(classCode: 0xff, subclass: 0, protocolCode: 0)]))
        try bindDriver("visor", to: palm.interfaces[0])
        let phone = testbed.plug(USBFixture(
            port: "1-4", vendorID: 0x0E8D, productID: 0x2008, interfaces: [.init(classCode: 6, subclass: 1, protocolCode: 1, name: "MTP")]))
        let (_, tap) = try startedSource(configuration: .init(
            interfaceGracePeriod: Self.grace, databases: DatabaseFixtures.locations(hardwareDatabase: hardwareDatabase, libmtp: libmtp)))
        let events = await eventsThroughMarker(testbed, tap, after: 2)
        let byKey = Dictionary(uniqueKeysWithValues: events.compactMap(\.observation).map { ($0.sourceKey, $0.properties) })

        let t3 = try #require(byKey[palm.devpath])
        #expect(!t3.sortedKeys.contains { $0.hasPrefix("udev.ID_") })
        #expect(t3.string("hwdb.ID_PDA") == "1")
        #expect(t3.string("info.vendor") == "Palm, Inc." && t3.string("info.product") == "Tungsten T3")
        #expect(t3.strlist("kernel.drivers") == ["visor"])
        #expect(t3.strlist("sysfs.interface.drivers") == ["visor"])
        let mtp = try #require(byKey[phone.devpath])
        #expect(mtp.string("hwdb.ID_MTP_DEVICE") == "1")
        #expect(mtp.string("mpi.name") == "mediatek_mtp" && mtp.strlist("mpi.device.AccessProtocol") == ["mtp", "storage"])
        #expect(mtp.contains("sysfs.interface.drivers") == false, "no driver bound")
        #expect(mtp.contains("kernel.drivers") == false, "no table of the fixture lists it")
        #expect(mtp.string("libmtp.product") == "Elephone P8000" && mtp.string("info.product") == "Elephone P8000")
    }

    @Test("a driver binding after the arrival is a change; a reload of the databases re-describes present devices")
    func driverBindAndDatabaseReload() async throws {
        defer { finish() }
        let (root, hardwareDatabase) = try DatabaseFixtures.buildHardwareDatabase()
        defer { try? FileManager.default.removeItem(at: root) }
        let aliases = root.appendingPathComponent("modules.alias")
        try "# empty at start\n".write(to: aliases, atomically: true, encoding: .utf8)
        let (source, tap) = try startedSource(configuration: .init(interfaceGracePeriod: Self.grace, databases: DatabaseFixtures.locations(
            hardwareDatabase: hardwareDatabase, modulesAlias: aliases.path)))
        let modem = testbed.plug(USBFixture(
            port: "2-1", vendorID: 0x1234, productID: 0x0001,
            interfaces: [.init(classCode: 2, subclass: 2, protocolCode: 1), .init(classCode: 0x0a, subclass: 0, protocolCode: 0)]))
        let arrival = await tap.through { $0.isArrival && $0.sourceKey == modem.devpath }
        #expect(arrival.last?.observation?.properties.contains("kernel.drivers") == false)
        #expect(arrival.last?.observation?.properties.contains("sysfs.interface.drivers") == false)

        try bindDriver("cdc_acm", to: modem.interfaces[0])
        testbed.uevent(modem.interfaces[0], "bind")
        let bound = await tap.through { $0.isChange && $0.sourceKey == modem.devpath }
        #expect(bound.last?.observation?.properties.strlist("sysfs.interface.drivers") == ["cdc_acm"])

        try "alias usb:v*p*d*dc*dsc*dp*ic02isc02ip01in* cdc_acm\n".write(to: aliases, atomically: true, encoding: .utf8)
        #expect(await source.reloadDatabases().isEmpty)
        let reloaded = await tap.through { $0.isChange && $0.observation?.properties.contains("kernel.drivers") == true }
        #expect(reloaded.last?.sourceKey == modem.devpath)
        #expect(reloaded.last?.observation?.properties.strlist("kernel.drivers") == ["cdc_acm"])
        #expect(await source.reloadDatabases().isEmpty)
        let marker = await eventsThroughMarker(testbed, tap)
        #expect(marker.count == reloaded.count, "an unchanged reload announces nothing: \(marker.dropFirst(reloaded.count))")
    }
}
