// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Foundation
import Logging
import Testing
@testable import UdevMonitor

@Suite("The databases devsync reads itself: hwdb, media-player-info, modules.alias")
struct DeviceDatabasesTests {
    let logger = Logger(label: "test.databases")

    /// A USB device as the source describes it, before the databases.
    func device(_ vendor: Int32, _ product: Int32, interfaces: [String] = [], udev: [String: String] = [:]) -> DeviceProperties {
        var properties: DeviceProperties = [
            PropertyKey.infoSubsystem: .string("usb"), PropertyKey.usbVendorID: .int(vendor),
            PropertyKey.usbProductID: .int(product), PropertyKey.usbDeviceRevision: .int(0x0100),
            PropertyKey.usbDeviceClass: .int(0), PropertyKey.usbDeviceSubclass: .int(0), PropertyKey.usbDeviceProtocol: .int(0),
        ]
        if !interfaces.isEmpty { properties[PropertyKey.usbInterfaces] = .strlist(interfaces) }
        for (name, value) in udev { properties["udev." + name] = .string(value) }
        return properties
    }

    func withDatabases(_ body: (DeviceDatabases) throws -> Void) throws {
        let (root, file) = try DatabaseFixtures.buildHardwareDatabase()
        defer { try? FileManager.default.removeItem(at: root) }
        let databases = DeviceDatabases(locations: DatabaseFixtures.locations(hardwareDatabase: file), logger: logger)
        #expect(databases.load().isEmpty)
        try body(databases)
    }

    @Test("a device with no udev database properties is recognised from the hwdb itself")
    func hardwareDatabaseWithoutUdev() throws {
        try withDatabases { databases in
            var mtp = device(0x0E8D, 0x2008)
            databases.enrich(&mtp)
            #expect(mtp.string("hwdb.ID_MTP_DEVICE") == "1")
            #expect(mtp.string("hwdb.ID_MEDIA_PLAYER") == "1")
            var camera = device(0x04A9, 0x3139)
            databases.enrich(&camera)
            #expect(camera.string("hwdb.ID_GPHOTO2") == "1" && camera.string("hwdb.GPHOTO2_DRIVER") == "PTP")
            #expect(camera.string("hwdb.ID_MTP_DEVICE") == nil)
            var apple = device(0x05AC, 0x12A8)
            databases.enrich(&apple)
            #expect(apple.string("hwdb.USBMUX_SUPPORTED") == "1")
            var unknown = device(0x1234, 0x5678)
            databases.enrich(&unknown)
            #expect(!unknown.sortedKeys.contains { $0.hasPrefix("hwdb.") || $0.hasPrefix("mpi.") || $0.hasPrefix("kernel.") })
        }
    }

    @Test("the hwdb's names become info.vendor and info.product unless udev gave its own")
    func databaseNames() throws {
        try withDatabases { databases in
            var palm = device(0x0830, 0x0060)
            palm[PropertyKey.infoVendor] = .string("Palm Computing")  // the device's own string
            databases.enrich(&palm)
            #expect(palm.string(PropertyKey.infoVendor) == "Palm, Inc.")
            #expect(palm.string(PropertyKey.infoProduct) == "Tungsten T3")
            #expect(palm.string("hwdb.ID_PDA") == "1")
            var told = device(0x0830, 0x0060, udev: ["ID_VENDOR_FROM_DATABASE": "Palm (udev)"])
            told[PropertyKey.infoVendor] = .string("Palm (udev)")
            databases.enrich(&told)
            #expect(told.string(PropertyKey.infoVendor) == "Palm (udev)")
            #expect(databases.describe(told).sources[PropertyKey.infoVendor] == nil)
            #expect(databases.describe(palm).sources[PropertyKey.infoVendor]
                    == .hardwareDatabase(modalias: "usb:v0830p0060d0100dc00dsc00dp00"))
        }
    }

    @Test("ID_MEDIA_PLAYER naming a file gives its mpi.* keys, typed as the spec says")
    func mediaPlayerInfoByName() throws {
        try withDatabases { databases in
            var sansa = device(0x0781, 0x7420)
            databases.enrich(&sansa)
            #expect(sansa.string("mpi.name") == "sandisk_sansa-e200")
            #expect(sansa.strlist("mpi.device.AccessProtocol") == ["storage"])
            #expect(sansa.strlist("mpi.media.OutputFormats") == ["audio/mpeg", "audio/x-ms-wma", "audio/flac"])
            #expect(sansa.string("mpi.device.Product") == "Sansa e200")
            #expect(sansa.strlist("mpi.storage.AudioFolders") == ["Music/"])
            #expect(sansa.strlist("mpi.playlist.Formats") == ["audio/x-mpegurl"])
            #expect(databases.describe(sansa).sources["mpi.device.Product"]
                    == .mediaPlayerInfo(file: DatabaseFixtures.mediaPlayerInfo + "/sandisk_sansa-e200.mpi"))
            // udev's ID_MEDIA_PLAYER is asked first: a file found by name only ([Device] USBVendor globs).
            var ipod = device(0x05AC, 0x1261, udev: ["ID_MEDIA_PLAYER": "apple_ipod"])
            databases.enrich(&ipod)
            #expect(ipod.strlist("mpi.device.AccessProtocol") == ["storage", "ipod"])
            #expect(ipod.string("mpi.storage.RequiresEject") == "true")
        }
    }

    @Test("ID_MEDIA_PLAYER=1 (libmtp's) or a name that is no file falls back to the file whose DeviceMatch lists the device")
    func mediaPlayerInfoByDeviceMatch() throws {
        try withDatabases { databases in
            var phone = device(0x0E8D, 0x2008)
            databases.enrich(&phone)
            #expect(phone.string("mpi.name") == "mediatek_mtp")
            #expect(phone.strlist("mpi.device.AccessProtocol") == ["mtp", "storage"])
            var sibling = device(0x0781, 0x7421, udev: ["ID_MEDIA_PLAYER": "../../etc/passwd"])
            databases.enrich(&sibling)
            #expect(sibling.string("mpi.name") == "sandisk_sansa-e200")
            var none = device(0x0781, 0x9999, udev: ["ID_MEDIA_PLAYER": "1"])
            databases.enrich(&none)
            #expect(none.string("mpi.name") == nil)
        }
    }

    @Test("all 30 visor and 453 ipaq ids of the kernel's own tables are recognised from modules.alias")
    func kernelTables() throws {
        let text = try String(contentsOfFile: DatabaseFixtures.modulesAlias, encoding: .utf8)
        var ids: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("alias usb:v") && line.contains("d*dc*dsc*dp*ic*isc*ip*in* ") {
            let fields = line.split(separator: " ")
            ids[String(fields[2]), default: []].insert(String(fields[1].dropFirst(5).prefix(9)))
        }
        #expect(ids["visor"]?.count == 30)
        #expect(ids["ipaq"]?.count == 453)
        try withDatabases { databases in
            for (module, pairs) in ids {
                for pair in pairs {
                    let vendor = Int32(pair.prefix(4), radix: 16)!, product = Int32(pair.suffix(4), radix: 16)!
                    // A Palm's one interface is vendor-specific; the id alone must do.
                    var properties = device(vendor, product, interfaces: ["ff/00/00"])
                    databases.enrich(&properties)
                    #expect(properties.strlist(PropertyKey.kernelDrivers)?.contains(module) == true, "\(pair) → \(module)")
                }
            }
            var palm = device(0x0830, 0x0060)
            databases.enrich(&palm)  // no interface known yet: the id still matches
            #expect(palm.strlist(PropertyKey.kernelDrivers) == ["visor"])
            guard case .kernelTable(let file, let line)? = databases.describe(palm).sources[PropertyKey.kernelDrivers] else {
                Issue.record("kernel.drivers has no kernel-table source")
                return
            }
            #expect(file == DatabaseFixtures.modulesAlias)
            #expect(text.split(separator: "\n", omittingEmptySubsequences: false)[line - 1].contains("v0830p0060"))
        }
    }

    @Test("class-wide and vendor-wide entries match by interface: cdc_acm, rndis_host, ipheth")
    func kernelClassEntries() throws {
        try withDatabases { databases in
            var modem = device(0x1234, 0x0001, interfaces: ["02/02/01", "0a/00/00"])
            databases.enrich(&modem)
            #expect(modem.strlist(PropertyKey.kernelDrivers) == ["cdc_acm"])
            var windowsMobile = device(0x0BB4, 0x0B03, interfaces: ["e0/01/03", "0a/00/00"])
            databases.enrich(&windowsMobile)
            #expect(windowsMobile.strlist(PropertyKey.kernelDrivers)?.contains("rndis_host") == true)
            var iphone = device(0x05AC, 0x12A8, interfaces: ["06/01/01", "ff/fe/02", "ff/fd/01"])
            databases.enrich(&iphone)
            #expect(iphone.strlist(PropertyKey.kernelDrivers) == ["ipheth"])
            var keyboard = device(0x05AC, 0x0250, interfaces: ["03/01/01"])
            databases.enrich(&keyboard)
            #expect(keyboard.strlist(PropertyKey.kernelDrivers) == nil)
        }
    }

    @Test("a broken modules.alias line is an error naming file:line, and the other lines are kept")
    func brokenModulesAlias() throws {
        let file = DatabaseFixtures.broken + "/modules.alias"
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        let (table, errors) = ModuleAliasTable.parse(bytes, file: file)
        #expect(errors.map(\.description) == [
            "\(file):3: expected \"alias PATTERN MODULE\", found \"alias usb:v049Fp0003d*dc*dsc*dp*ic*isc*ip*in*\"",
            "\(file):5: expected \"alias PATTERN MODULE\", found \"options visor vendor=0x1234\"",
        ])
        #expect(table.count == 2)
        func modules(_ vendor: UInt16, _ product: UInt16) -> [String] {
            table.modules(vendor: vendor, product: product, revision: 0x100, deviceClass: 0, deviceSubclass: 0,
                          deviceProtocol: 0, interfaces: []).keys.sorted()
        }
        #expect(modules(0x0830, 0x0060) == ["visor"])
        #expect(modules(0x0BB4, 0x00CE) == ["ipaq"])
        #expect(modules(0x049F, 0x0003) == [])
    }

    @Test("modules.alias is read mapped: the same table and errors as from bytes; an empty file is no aliases")
    func mappedModulesAlias() throws {
        let file = DatabaseFixtures.broken + "/modules.alias"
        let fromBytes = ModuleAliasTable.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))), file: file)
        let mapped = try DatabaseFiles.withMappedContents(of: file, limit: ModuleAliasTable.fileLimit) {
            ModuleAliasTable.parse($0, file: file)
        }
        #expect(mapped.errors == fromBytes.errors && mapped.table.count == fromBytes.table.count)
        #expect(mapped.table.modules(vendor: 0x0830, product: 0x0060, revision: 0x100, deviceClass: 0, deviceSubclass: 0,
                                     deviceProtocol: 0, interfaces: []) == ["visor": 2])

        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-empty-\(getpid()).alias").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let none = try DatabaseFiles.withMappedContents(of: empty, limit: ModuleAliasTable.fileLimit) {
            ModuleAliasTable.parse($0, file: empty)
        }
        #expect(none.table.count == 0 && none.errors.isEmpty)
        #expect(throws: DatabaseError.self) {
            try DatabaseFiles.withMappedContents(of: DatabaseFixtures.broken, limit: 1) { $0.count }
        }
    }

    @Test("a broken .mpi line is an error naming file:line, and the rest of the file is kept")
    func brokenMediaPlayerInfo() throws {
        var catalog = MediaPlayerInfoCatalog(directory: DatabaseFixtures.broken)
        let errors = catalog.load()
        let file = DatabaseFixtures.broken + "/creative_zen.mpi"
        #expect(errors.map(\.description) == [
            "\(file):4: expected Key=value, a [section] or a # comment, found \"this line is not a key\"",
            "\(file):8: expected a section header such as [Device], found \"[Media\"",
            "\(file):9: a key outside any [section]",
        ])
        let name = try #require(catalog.name(mediaPlayer: nil, vendor: 0x041E, product: 0x4157))
        let found = catalog.info(named: name)
        let info = try #require(found)
        #expect(info.properties.strlist("mpi.device.AccessProtocol") == ["storage"])
        #expect(info.properties.string("mpi.device.Vendor") == "Creative")
    }

    @Test("missing databases give no properties and one error each, never a failure")
    func missingDatabases() {
        let databases = DeviceDatabases(
            locations: DatabaseLocations(hardwareDatabase: "/nonexistent/hwdb.bin", mediaPlayerInfo: "/nonexistent/mpi",
                                         modulesAlias: "/nonexistent/modules.alias", libmtp: "/nonexistent/libmtp.so.9"),
            logger: logger)
        let errors = databases.load()
        #expect(errors.map(\.file) == ["/nonexistent/hwdb.bin", "/nonexistent/libmtp.so.9", "/nonexistent/modules.alias", "/nonexistent/mpi"])
        var palm = device(0x0830, 0x0060)
        let before = palm
        databases.enrich(&palm)
        #expect(palm == before)
    }

    @Test("globs: *, ?, ranges and negated classes, as fnmatch")
    func globs() {
        func match(_ pattern: String, _ text: String) -> Bool { Glob.matches(Array(pattern.utf8)[...], Array(text.utf8)[...]) }
        #expect(match("d*dc*dsc*dp*ic*isc*ip*in*", "d0100dc00dsc00dp00icFFisc00ip00in00"))
        #expect(match("d*dc*dsc*dp*ic*isc*ip*in*", "d0100dc00dsc00dp00iciscipin"))
        #expect(!match("d*dc*dsc*dp*icFFisc*ip*in*", "d0100dc00dsc00dp00ic02isc00ip00in00"))
        #expect(match("d0[0-2]*dc*", "d0150dc00"))
        #expect(!match("d0[!0-2]*dc*", "d0150dc00"))
        #expect(match("d0?00*", "d0100"))
        #expect(!match("abc", "abcd"))
        #expect(match("a[b", "a[b"))
    }
}

extension DeviceDatabasesTests {
    @Test(".mpi keys and sections become property names: anything but plain ASCII names is refused with its line")
    func mediaPlayerInfoNames() {
        let text = "[Device]\nVendor=Ok\nName[de_DE]=Gut\nBad\u{1B}[31mKey=x\n[Sec\u{202E}tion]\nKey=lost\n"
        let (info, errors) = MediaPlayerInfo.parse(Array(text.utf8), name: "n", file: "n.mpi")
        #expect(errors.map(\.line) == [4, 5, 6])
        #expect(info.properties.string("mpi.device.Vendor") == "Ok")
        #expect(info.properties.string("mpi.device.Name[de_DE]") == "Gut")
        #expect(info.properties.sortedKeys.allSatisfy { $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } })
    }
}

extension DeviceDatabasesTests {
    /// The fixtures' databases with the stand-in libmtp (Fixtures/libmtp/fake-libmtp.c), built for the test.
    func withLibMTP(_ body: (DeviceDatabases, String) throws -> Void) throws {
        let (root, file) = try DatabaseFixtures.buildHardwareDatabase()
        defer { try? FileManager.default.removeItem(at: root) }
        let (libraryRoot, library) = try DatabaseFixtures.buildFakeLibMTP()
        defer { try? FileManager.default.removeItem(at: libraryRoot) }
        let databases = DeviceDatabases(locations: DatabaseFixtures.locations(hardwareDatabase: file, libmtp: library), logger: logger)
        #expect(databases.load().isEmpty)
        try body(databases, library)
    }

    @Test("libmtp's table names the devices its hwdb or udev calls MTP devices: libmtp.*, and info.* without a usb.ids name")
    func libmtpNames() throws {
        try withLibMTP { databases, library in
            var phone = device(0x0E8D, 0x2008)
            phone[PropertyKey.infoProduct] = .string("MT65xx Android Phone")  // the device's own string
            databases.enrich(&phone)
            #expect(phone.string(PropertyKey.libmtpVendor) == "MediaTek")
            #expect(phone.string(PropertyKey.libmtpProduct) == "Elephone P8000", "the first entry of an id listed twice")
            #expect(phone.string(PropertyKey.infoProduct) == "Elephone P8000", "a curated name wins over the device's own")
            #expect(databases.describe(phone).sources[PropertyKey.libmtpProduct] == .libmtp(library: library))
            #expect(databases.describe(phone).sources[PropertyKey.infoProduct] == .libmtp(library: library))

            // No hwdb entry, but udev's ID_MTP_DEVICE (libmtp's rules ran): the table is asked too.
            var tablet = device(0x17EF, 0x7484, udev: ["ID_MTP_DEVICE": "1"])
            databases.enrich(&tablet)
            #expect(tablet.string(PropertyKey.libmtpProduct) == "IdeaTab A3000")
            // usb.ids's name, from udev, stays the device's name.
            var named = device(0x17EF, 0x7484, udev: ["ID_MTP_DEVICE": "1", "ID_MODEL_FROM_DATABASE": "IdeaTab (usb.ids)"])
            named[PropertyKey.infoProduct] = .string("IdeaTab (usb.ids)")
            databases.enrich(&named)
            #expect(named.string(PropertyKey.infoProduct) == "IdeaTab (usb.ids)")
            #expect(named.string(PropertyKey.libmtpProduct) == "IdeaTab A3000")

            // Listed in the table, but nothing calls it an MTP device: not asked.
            var unflagged = device(0x1234, 0x5678)
            databases.enrich(&unflagged)
            #expect(!unflagged.sortedKeys.contains { $0.hasPrefix("libmtp.") })
            // An MTP device the table does not list.
            var unlisted = device(0x17EF, 0x0001, udev: ["ID_MTP_DEVICE": "1"])
            databases.enrich(&unlisted)
            #expect(!unlisted.sortedKeys.contains { $0.hasPrefix("libmtp.") })
        }
    }

    @Test("libmtp's strings become safe text (bad UTF-8 and control characters replaced); a missing name gives no key")
    func libmtpHostileStrings() throws {
        try withLibMTP { databases, _ in
            var device = device(0x0E8D, 0x2009)
            databases.enrich(&device)
            #expect(device.string(PropertyKey.libmtpVendor) == "Bad\u{FFFD}\u{FFFD} maker \u{FFFD}[31m", "bad UTF-8 and control characters replaced")
            #expect(device.contains(PropertyKey.libmtpProduct) == false)
        }
    }

    @Test("no libmtp, or a library that is not libmtp: one error naming it, and the other databases still answer")
    func libmtpMissing() throws {
        let (root, file) = try DatabaseFixtures.buildHardwareDatabase()
        defer { try? FileManager.default.removeItem(at: root) }
        for (library, problem) in [("/nonexistent/libmtp.so.9", "cannot open libmtp"), ("libm.so.6", "not libmtp")] {
            let databases = DeviceDatabases(locations: DatabaseFixtures.locations(hardwareDatabase: file, libmtp: library), logger: logger)
            let errors = databases.load()
            #expect(errors.map(\.file) == [library])
            #expect(errors.first?.message.hasPrefix(problem) == true, "\(errors)")
            var phone = device(0x0E8D, 0x2008)
            databases.enrich(&phone)
            #expect(phone.string("hwdb.ID_MTP_DEVICE") == "1")
            #expect(!phone.sortedKeys.contains { $0.hasPrefix("libmtp.") })
        }
    }
}
