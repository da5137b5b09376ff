// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Logging

/// Where the databases devsync reads itself are.
public struct DatabaseLocations: Sendable, Hashable {
    /// The `hwdb.bin` to open, or nil for the one libudev reads (`/etc/udev/hwdb.bin`, `/usr/lib/udev/hwdb.bin` …).
    public var hardwareDatabase: String?
    /// The media-player-info directory of `.mpi` files.
    public var mediaPlayerInfo: String
    /// The `modules.alias` to read, or nil for the running kernel's, `/lib/modules/$(uname -r)/modules.alias`.
    public var modulesAlias: String?
    /// The libmtp library whose device table names MTP devices (a soname or a path), or nil to read none.
    public var libmtp: String?

    /// media-player-info's installed directory.
    public static let defaultMediaPlayerInfo = "/usr/share/media-player-info"
    /// libmtp's soname, found where the dynamic loader looks (Debian's and Fedora's libmtp packages install it).
    public static let defaultLibMTP = "libmtp.so.9"

    /// The given places; every parameter defaults to the system's.
    public init(hardwareDatabase: String? = nil, mediaPlayerInfo: String = defaultMediaPlayerInfo, modulesAlias: String? = nil,
                libmtp: String? = defaultLibMTP) {
        self.hardwareDatabase = hardwareDatabase
        self.mediaPlayerInfo = mediaPlayerInfo
        self.modulesAlias = modulesAlias
        self.libmtp = libmtp
    }

    /// The library a `LibMTP=`, `devsyncd --libmtp` or `devsyncctl profiles match --libmtp` setting names:
    /// nil for `none`, else the setting itself.
    public static func libmtp(setting: String) -> String? { setting == "none" ? nil : setting }

    /// The `modules.alias` read: the one given, or the running kernel's.
    public var resolvedModulesAlias: String { modulesAlias ?? "/lib/modules/\(DatabaseFiles.kernelRelease)/modules.alias" }
}

/// What the databases say about one device: properties, and where each came from.
package struct DatabaseFindings: Sendable, Hashable {
    /// The `hwdb.*`, `mpi.*`, `libmtp.*` and `kernel.*` properties.
    package var properties = DeviceProperties()
    /// The source of each of them.
    package var sources: [String: PropertySource] = [:]
}

/// The hardware database, media-player-info, libmtp's device table and the kernel's `modules.alias`, asked for a
/// USB device's `hwdb.*`, `mpi.*`, `libmtp.*` and `kernel.drivers` properties (`docs/profiles.md`, "Property
/// sources").
///
/// `modules.alias` and the media-player-info index are read by ``load()`` (at start and at each reload); each
/// device's findings are kept by what they depend on (ids, classes, interfaces, `ID_MEDIA_PLAYER`), so a device
/// seen again costs one dictionary lookup. The hardware database is opened at the first lookup of a batch and
/// unmapped by ``endBatch()`` (the source calls it once it has handled what it read): kept mapped, the pages one
/// lookup's trie walk touches stayed resident (1.7 MB of the 13 MB file, for one device; docs/benchmarks.md),
/// for a file that is asked once per kind of device. libmtp is opened the same way (dlopen), only for a device
/// that its hwdb entry or udev calls an MTP device (`ID_MTP_DEVICE=1`), and closed with the hwdb. No timer and no
/// thread: not thread-safe, its owner keeps it on one queue (`USBDeviceSource`'s). Public for the benchmarks (`Benchmarks/Tools/DeviceMatching`).
public final class DeviceDatabases {
    /// Where the databases are.
    public let locations: DatabaseLocations
    private let logger: Logger
    /// Whether the hardware database opened at the last load (no lookups are tried otherwise).
    private var hasHardwareDatabase = false
    /// The hardware database while a batch uses it; closed by ``endBatch()``.
    private var openHardwareDatabase: HardwareDatabase?
    /// Whether libmtp opened at the last load.
    private var hasMTPDeviceList = false
    /// libmtp while a batch uses it; closed by ``endBatch()``.
    private var openMTPDeviceList: MTPDeviceList?
    private var aliases: ModuleAliasTable
    private var players: MediaPlayerInfoCatalog
    private var cache: [String: DatabaseFindings] = [:]

    /// At most this many devices' findings are kept; past it the cache starts over (a broker sees few kinds).
    static let cacheLimit = 512

    /// Databases at `locations`, not read yet: call ``load()``.
    public init(locations: DatabaseLocations, logger: Logger) {
        self.locations = locations
        self.logger = logger
        aliases = ModuleAliasTable(file: locations.resolvedModulesAlias)
        players = MediaPlayerInfoCatalog(directory: locations.mediaPlayerInfo)
    }

    /// (Re)reads every database and forgets every finding. A database that is missing is logged once at
    /// notice level and gives no properties; a bad line is logged with its file:line and skipped. Returns the
    /// problems, missing databases included.
    @discardableResult
    public func load() -> [DatabaseError] {
        var problems: [DatabaseError] = []
        cache = [:]
        openHardwareDatabase = nil
        hasHardwareDatabase = false
        openMTPDeviceList = nil
        hasMTPDeviceList = false
        do throws(DatabaseError) {
            _ = try HardwareDatabase(path: locations.hardwareDatabase)
            hasHardwareDatabase = true
        } catch {
            logger.notice("No hardware database; devices get no hwdb.* properties", metadata: ["error": "\(error)"])
            problems.append(error)
        }
        if let library = locations.libmtp {
            do throws(DatabaseError) {
                _ = try MTPDeviceList(library: library)
                hasMTPDeviceList = true
            } catch {
                logger.notice("No libmtp; MTP devices get no libmtp.* names", metadata: ["error": "\(error)"])
                problems.append(error)
            }
        }
        let aliasFile = locations.resolvedModulesAlias
        do throws(DatabaseError) {
            let (table, errors) = try DatabaseFiles.withMappedContents(of: aliasFile, limit: ModuleAliasTable.fileLimit) {
                ModuleAliasTable.parse($0, file: aliasFile)
            }
            aliases = table
            for error in errors { logger.warning("Bad line in modules.alias skipped", metadata: ["error": "\(error)"]) }
            problems += errors
        } catch {
            aliases = ModuleAliasTable(file: aliasFile)
            logger.notice("No kernel module aliases; devices get no kernel.drivers", metadata: ["error": "\(error)"])
            problems.append(error)
        }
        players = MediaPlayerInfoCatalog(directory: locations.mediaPlayerInfo)
        let playerErrors = players.load()
        for error in playerErrors {
            if error.line == nil && error.file == locations.mediaPlayerInfo {
                logger.notice("No media-player-info directory; devices get no mpi.* properties", metadata: ["error": "\(error)"])
            } else {
                logger.warning("Bad media-player-info line skipped", metadata: ["error": "\(error)"])
            }
        }
        problems += playerErrors
        logger.debug("Device databases read", metadata: [
            "hwdb": "\(hasHardwareDatabase ? locations.hardwareDatabase ?? "system" : "none")",
            "aliases": "\(aliases.count)", "modules.alias": "\(aliasFile)",
            "libmtp": "\(hasMTPDeviceList ? locations.libmtp ?? "" : "none")"])
        return problems
    }

    /// Adds what the databases know to a USB device's properties: `hwdb.*`, `mpi.*`, `libmtp.*`,
    /// `kernel.drivers`, and `info.vendor`/`info.product` from the databases' names when udev gave no usb.ids
    /// name (usb.ids's own from the hwdb, else libmtp's). Nothing without ids.
    public func enrich(_ properties: inout DeviceProperties) {
        guard let findings = findings(for: properties) else { return }
        properties.merge(findings.properties)
        for (target, key, libmtpKey) in Self.names {
            if let source = Self.nameKey(key, libmtpKey, device: properties, findings: findings) {
                properties[target] = findings.properties[source]
            }
        }
    }

    /// The properties `enrich` adds and their sources, `info.*` included (for `--explain`).
    package func describe(_ properties: DeviceProperties) -> DatabaseFindings {
        guard var findings = findings(for: properties) else { return DatabaseFindings() }
        for (target, key, libmtpKey) in Self.names {
            if let source = Self.nameKey(key, libmtpKey, device: properties, findings: findings) {
                findings.properties[target] = findings.properties[source]
                findings.sources[target] = findings.sources[source]
            }
        }
        return findings
    }

    /// Unmaps the hardware database and closes libmtp until the next lookup: the end of a batch of uevents (or
    /// of a cold-plug).
    public func endBatch() {
        openHardwareDatabase = nil
        openMTPDeviceList = nil
    }

    /// `info.*` keys, the usb.ids key that names them, and libmtp's.
    private static let names = [
        (PropertyKey.infoVendor, "ID_VENDOR_FROM_DATABASE", PropertyKey.libmtpVendor),
        (PropertyKey.infoProduct, "ID_MODEL_FROM_DATABASE", PropertyKey.libmtpProduct),
    ]

    /// The finding that names a device's maker or model: nil when udev gave usb.ids's name (the device's `info.*`
    /// has it already), else usb.ids's name read from the hwdb, else libmtp's (usb.ids names few MTP devices: of
    /// libmtp's 219 tablets, 28). Either is a curated name and wins over the device's own strings, as udev's does.
    private static func nameKey(_ key: String, _ libmtpKey: String, device: DeviceProperties, findings: DatabaseFindings) -> String? {
        guard device[PropertyKey.udevPrefix + key] == nil else { return nil }
        let hwdbKey = PropertyKey.hardwareDatabasePrefix + key
        if findings.properties[hwdbKey] != nil { return hwdbKey }
        return findings.properties[libmtpKey] != nil ? libmtpKey : nil
    }

    /// The findings for a device's raw properties, from the cache or the databases; nil without USB ids.
    package func findings(for properties: DeviceProperties) -> DatabaseFindings? {
        guard let vendorID = properties.int(PropertyKey.usbVendorID), let productID = properties.int(PropertyKey.usbProductID) else {
            return nil
        }
        func byte(_ key: String) -> UInt8 { UInt8(truncatingIfNeeded: properties.int(key) ?? 0) }
        let vendor = UInt16(truncatingIfNeeded: vendorID), product = UInt16(truncatingIfNeeded: productID)
        let revision = UInt16(truncatingIfNeeded: properties.int(PropertyKey.usbDeviceRevision) ?? 0)
        let (deviceClass, subclass, protocolCode) = (byte(PropertyKey.usbDeviceClass), byte(PropertyKey.usbDeviceSubclass), byte(PropertyKey.usbDeviceProtocol))
        let modalias = "usb:v\(ModuleAliasTable.hex(vendor, 4))p\(ModuleAliasTable.hex(product, 4))d\(ModuleAliasTable.hex(revision, 4))"
            + "dc\(ModuleAliasTable.hex(deviceClass))dsc\(ModuleAliasTable.hex(subclass))dp\(ModuleAliasTable.hex(protocolCode))"
        let triples = properties.strlist(PropertyKey.usbInterfaces) ?? []
        let udevPlayer = properties.string("udev.ID_MEDIA_PLAYER")
        let udevMTP = properties.string("udev.ID_MTP_DEVICE")
        let key = modalias + "|" + triples.joined(separator: ",") + "|" + (udevPlayer ?? "") + "|" + (udevMTP ?? "")
        if let known = cache[key] { return known }

        var findings = DatabaseFindings()
        // Opened for the batch (unmapped by endBatch); a database replaced since the load is read anew.
        if hasHardwareDatabase, openHardwareDatabase == nil {
            openHardwareDatabase = try? HardwareDatabase(path: locations.hardwareDatabase)
        }
        if let hardwareDatabase = openHardwareDatabase {
            let source = PropertySource.hardwareDatabase(modalias: modalias)
            for (name, value) in hardwareDatabase.properties(modalias: modalias) {
                findings.properties[PropertyKey.hardwareDatabasePrefix + name] = .string(value)
                findings.sources[PropertyKey.hardwareDatabasePrefix + name] = source
            }
        }
        // libmtp's names, for the devices its hwdb entry (or udev, from it) calls MTP devices: the others are not
        // in its table, and need not open it.
        if hasMTPDeviceList, (udevMTP ?? findings.properties.string(PropertyKey.hardwareDatabasePrefix + "ID_MTP_DEVICE")) == "1",
           let library = locations.libmtp {
            if openMTPDeviceList == nil { openMTPDeviceList = try? MTPDeviceList(library: library) }
            if let entry = openMTPDeviceList?.entry(vendor: vendor, product: product) {
                let source = PropertySource.libmtp(library: library)
                for (key, name) in [(PropertyKey.libmtpVendor, entry.vendor), (PropertyKey.libmtpProduct, entry.product)] where !name.isEmpty {
                    findings.properties[key] = .string(name)
                    findings.sources[key] = source
                }
            }
        }
        let player = udevPlayer ?? findings.properties.string(PropertyKey.hardwareDatabasePrefix + "ID_MEDIA_PLAYER")
        if let name = players.name(mediaPlayer: player, vendor: vendor, product: product), let info = players.info(named: name) {
            let source = PropertySource.mediaPlayerInfo(file: players.path(of: name))
            for (property, value) in info.properties {
                findings.properties[property] = value
                findings.sources[property] = source
            }
        }
        var interfaces: [ModuleAliasTable.Interface] = []
        for (number, triple) in triples.enumerated() {
            let parts = triple.split(separator: "/").compactMap { UInt8($0, radix: 16) }
            guard parts.count == 3 else { continue }
            interfaces.append(.init(classCode: parts[0], subclass: parts[1], protocolCode: parts[2], number: UInt8(truncatingIfNeeded: number)))
        }
        let drivers = aliases.modules(
            vendor: vendor, product: product, revision: revision, deviceClass: deviceClass, deviceSubclass: subclass,
            deviceProtocol: protocolCode, interfaces: interfaces)
        if !drivers.isEmpty {
            let names = drivers.keys.sorted()
            findings.properties[PropertyKey.kernelDrivers] = .strlist(names)
            findings.sources[PropertyKey.kernelDrivers] = .kernelTable(file: aliases.file, line: drivers[names[0]] ?? 0)
        }
        if cache.count >= Self.cacheLimit { cache = [:] }
        cache[key] = findings
        return findings
    }
}
