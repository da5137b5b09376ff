// SPDX-License-Identifier: Apache-2.0
import Logging
import Testing
@testable import DeviceRegistry

/// The shipped profiles (fdi-profiles/), loaded once.
private let shipped: ProfileSet = {
    let repository = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return ProfileLoader(logger: logger).load(directories: ["/" + repository + "/fdi-profiles"]).profiles
}()

/// A USB device with `vendor`, `product` and `more` properties, as the sources (udev, the databases) describe it.
private func usb(_ vendor: Int32, _ product: Int32, _ more: [String: PropertyValue] = [:]) -> DeviceProperties {
    var properties: [String: PropertyValue] = [
        "info.subsystem": .string("usb"), "usb.vendor_id": .int(vendor), "usb.product_id": .int(product),
    ]
    properties.merge(more) { _, new in new }
    return DeviceProperties(properties)
}

/// The plugin and kind the shipped profiles give `device`; both matchers must agree.
private func outcome(_ device: DeviceProperties) -> (plugin: String?, kind: String?) {
    let sequential = SequentialMatcher(shipped).match(device)
    let compiled = CompiledMatcher(shipped).match(device)
    #expect(sequential == compiled, "the compiled index disagrees with the sequential evaluator")
    func text(_ key: String) -> String? {
        if case .string(let value) = compiled.properties[key] { return value }
        return nil
    }
    return (text("sync.plugin"), text("sync.kind"))
}

@Suite("shipped profiles: plugins from the databases")
struct ShippedPluginTests {
    @Test("libgphoto2's MTP devices (GPHOTO2_DRIVER=PTP, ID_MEDIA_PLAYER=1) get mtp, not file-sync")
    func libgphoto2MTP() {
        let props: [String: String] = ["GPHOTO2_DRIVER": "PTP", "ID_GPHOTO2": "1", "ID_MEDIA_PLAYER": "1"]
        for prefix in ["udev.", "hwdb."] {
            let device = usb(0x0502, 0x3325, Dictionary(uniqueKeysWithValues: props.map { (prefix + $0.key, .string($0.value)) }))
            #expect(outcome(device).plugin == "mtp", "\(prefix)")
        }
    }

    @Test("libgphoto2's cameras are found by their hwdb entry, without their interfaces: PTP, or its own driver")
    func libgphoto2Cameras() {
        #expect(outcome(usb(0x03f0, 0x4202, ["hwdb.GPHOTO2_DRIVER": .string("PTP"), "hwdb.ID_GPHOTO2": .string("1")]))
            == ("ptp", "camera"))
        #expect(outcome(usb(0x0979, 0x0227, ["udev.GPHOTO2_DRIVER": .string("proprietary")])) == ("gphoto2", "camera"))
    }

    @Test("libmtp's hwdb read directly, with no udev property: mtp")
    func libmtpDirect() {
        #expect(outcome(usb(0x041e, 0x411e, ["hwdb.ID_MTP_DEVICE": .string("1"), "hwdb.ID_MEDIA_PLAYER": .string("1")]))
            == ("mtp", "media-player"))
    }

    @Test("the kernel's ipaq and visor tables, from modules.alias or a bound driver, name the protocol")
    func kernelTables() {
        // 0x03f0:0x1216 is in ipaq's table (HP USB Sync) but not in 10-pocketpc.fdi.
        #expect(outcome(usb(0x03f0, 0x1216, ["kernel.drivers": .strlist(["ipaq"])])) == ("synce-plugin", "pda"))
        #expect(outcome(usb(0x03f0, 0x1216, [:])).plugin == nil)
        #expect(outcome(usb(0x1234, 0x0001, ["sysfs.interface.drivers": .strlist(["usbserial_generic", "visor"])]))
            == ("palm-sync", "pda"))
        #expect(outcome(usb(0x1234, 0x0001, ["kernel.drivers": .strlist(["visor"])])) == ("palm-sync", "pda"))
    }

    @Test("a phone with CDC OBEX and a 02/02/ff interface syncs over OBEX, not as Windows Mobile")
    func obexBeforeRNDIS() {
        #expect(outcome(usb(0x04e8, 0x1234, ["usb.interfaces": .strlist(["02/02/ff", "0a/00/00", "02/0b/00"])]))
            == ("syncml-obex-client", "phone"))
        #expect(outcome(usb(0x04e8, 0x1234, ["usb.interfaces": .strlist(["02/02/ff", "0a/00/00"])]))
            == ("synce-plugin", "pda"))
    }

    @Test("media-player-info's .mpi says the access protocol: ipod for iPods, else mass storage")
    func mediaPlayerInfo() {
        let ipod = usb(0x05ac, 0x1209, [
            "hwdb.ID_MEDIA_PLAYER": .string("apple_video-ipod"), "mpi.device.AccessProtocol": .strlist(["storage", "ipod"]),
        ])
        #expect(outcome(ipod) == ("ipod", "media-player"))
        let player = usb(0x0402, 0x5661, ["hwdb.ID_MEDIA_PLAYER": .string("ali_0x5661-0x5667"),
                                          "mpi.device.AccessProtocol": .strlist(["storage"])])
        #expect(outcome(player) == ("file-sync", "media-player"))
    }

    @Test("systemd's ID_PDA calculators are nothing to sync: no plugin, no kind")
    func calculators() {
        let calculator = usb(0x0451, 0xe001, ["udev.ID_PDA": .string("1"), "hwdb.ID_PDA": .string("1"),
                                              "usb.interfaces": .strlist(["ff/00/00"])])
        #expect(outcome(calculator) == (nil, nil))
    }
}

@Suite("shipped profiles: kinds from evidence")
struct ShippedKindTests {
    let mtp: [String: PropertyValue] = ["udev.ID_MTP_DEVICE": .string("1"), "udev.ID_MEDIA_PLAYER": .string("1")]

    @Test("an MTP device from an Android maker is a phone, not a player; from a player maker a player")
    func androidMakers() {
        #expect(outcome(usb(0x18d1, 0x4ee1, mtp)) == ("mtp", "phone"))
        #expect(outcome(usb(0x0fce, 0x0166, mtp)) == ("mtp", "phone"))
        #expect(outcome(usb(0x041e, 0x4130, mtp)) == ("mtp", "media-player"))
        #expect(outcome(usb(0x0781, 0x74d0, mtp)) == ("mtp", "media-player"))
    }

    @Test("the Android debug interface ff/42/01 makes any MTP device a phone")
    func adbInterface() {
        var device = mtp
        device["usb.interfaces"] = .strlist(["06/01/01", "ff/42/01"])
        #expect(outcome(usb(0x1234, 0x5678, device)) == ("mtp", "phone"))
        device["usb.interfaces"] = .strlist(["06/01/01"])
        #expect(outcome(usb(0x1234, 0x5678, device)) == ("mtp", "media-player"))
    }

    @Test("Samsung's phones and players share a vendor id; the product range tells them apart")
    func samsung() {
        #expect(outcome(usb(0x04e8, 0x6860, mtp)) == ("mtp", "phone"))
        #expect(outcome(usb(0x04e8, 0x5a0f, mtp)) == ("mtp", "media-player"))
    }

    @Test("tablets: a tablet-only maker, or a usb.ids name that says tablet")
    func tablets() {
        #expect(outcome(usb(0x1949, 0x0007, mtp)) == ("mtp", "tablet"))
        var named = mtp
        named["hwdb.ID_MODEL_FROM_DATABASE"] = .string("Transformer Pad TF300TG")
        #expect(outcome(usb(0x0b05, 0x4c80, named)) == ("mtp", "tablet"))
        // The same maker's device without such a name: USB cannot tell, the default is phone.
        #expect(outcome(usb(0x0b05, 0x4c81, mtp)) == ("mtp", "phone"))
    }

    @Test("the device's own product string names a tablet, even with adb, which alone says phone")
    func productStringTablets() {
        func device(_ product: String, adb: Bool = false) -> [String: PropertyValue] {
            var device = mtp
            device["usb.product"] = .string(product)
            if adb { device["usb.interfaces"] = .strlist(["06/01/01", "ff/42/01"]) }
            return device
        }
        #expect(outcome(usb(0x18d1, 0x4e42, device("Nexus 7", adb: true))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x18d1, 0x5203, device("Pixel C"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x12d1, 0x360f, device("MediaPad 10 FHD"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x0b05, 0x5e0f, device("ASUS ZenPad"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x1e68, 0x1007, device("tolino tab 8"))) == ("mtp", "tablet"))
        // Lenovo's tablet model numbers; its phones' are others.
        #expect(outcome(usb(0x17ef, 0x7c45, device("Lenovo TB-X606F"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x17ef, 0x7b25, device("Lenovo K50a40", adb: true))) == ("mtp", "phone"))
        // "Pad" starting a word is no tablet: Asus's PadFone is a phone.
        #expect(outcome(usb(0x0b05, 0x5f0f, device("PadFone 2"))) == ("mtp", "phone"))
        // Samsung names every device SAMSUNG_Android: its tablets stay phones (docs/profiles.md, "Kinds").
        #expect(outcome(usb(0x04e8, 0x6860, device("SAMSUNG_Android", adb: true))) == ("mtp", "phone"))
    }

    @Test("usb.ids names that say tablet or phone decide before the maker does")
    func usbIDsNames() {
        func named(_ name: String, _ key: String = "udev.ID_MODEL_FROM_DATABASE") -> [String: PropertyValue] {
            var device = mtp
            device[key] = .string(name)
            return device
        }
        #expect(outcome(usb(0x18d1, 0x4e41, named("Nexus 7 (MTP)", "hwdb.ID_MODEL_FROM_DATABASE"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x0955, 0xcf07, named("SHIELD Tablet"))) == ("mtp", "tablet"))
        // A phone from a maker of tablets (Amazon), and phones from a maker of players (Microsoft's Zune).
        #expect(outcome(usb(0x1949, 0x0800, named("Fire Phone"))) == ("mtp", "phone"))
        #expect(outcome(usb(0x045e, 0x0640, named("KIN Phone", "hwdb.ID_MODEL_FROM_DATABASE"))) == ("mtp", "phone"))
        #expect(outcome(usb(0x045e, 0x04ec, named("Windows Phone (Zune)"))) == ("mtp", "phone"))
        // Without the name: the maker's rule (Amazon makes tablets) and the protocol's kind (Microsoft's players).
        #expect(outcome(usb(0x1949, 0x0800, mtp)) == ("mtp", "tablet"))
        #expect(outcome(usb(0x045e, 0x0640, mtp)) == ("mtp", "media-player"))
        // A headphone is not a phone.
        var headphones = mtp
        headphones["usb.product"] = .string("WALKMAN NW-WS413 headphone")
        #expect(outcome(usb(0x054c, 0x0c71, headphones)) == ("mtp", "media-player"))
    }

    @Test("libmtp's name for the device says tablet or phone, after the device's own product string and usb.ids")
    func libmtpNames() {
        func named(_ name: String, product: String? = nil, usbIDs: String? = nil, adb: Bool = false) -> [String: PropertyValue] {
            var device = mtp
            device["libmtp.product"] = .string(name)
            if let product { device["usb.product"] = .string(product) }
            if let usbIDs { device["hwdb.ID_MODEL_FROM_DATABASE"] = .string(usbIDs) }
            if adb { device["usb.interfaces"] = .strlist(["06/01/01", "ff/42/01"]) }
            return device
        }
        // A maker of phones and tablets (Lenovo, Asus), a maker of players (Sony's 0x054c), adb: the name decides.
        #expect(outcome(usb(0x17ef, 0x77b1, named("Yoga Tablet 2 - 1050F"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x0b05, 0x4c90, named("MemoPad Smart", adb: true))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x054c, 0x05b4, named("Sony Tablet S"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x054c, 0x0000, named("Xperia Phone"))) == ("mtp", "phone"))
        // A name with no word: the maker's rule, as before.
        #expect(outcome(usb(0x17ef, 0x7497, named("P700"))) == ("mtp", "phone"))
        // The device's own string, then usb.ids's name, come first.
        #expect(outcome(usb(0x17ef, 0x77b1, named("Yoga Tablet 2 - 1050F", product: "Lenovo Phone P1"))) == ("mtp", "phone"))
        #expect(outcome(usb(0x0b05, 0x550f, named("K00E", usbIDs: "Fonepad 7"))) == ("mtp", "tablet"))
        #expect(outcome(usb(0x0b05, 0x550f, named("Fonepad Phone", usbIDs: "Fonepad 7"))) == ("mtp", "tablet"))
        // Only for MTP devices: a mass-storage player keeps its kind.
        #expect(outcome(usb(0x0781, 0x7420, ["udev.ID_MEDIA_PLAYER": .string("sandisk_sansa-e200"),
                                             "libmtp.product": .string("Some Tablet")])).kind == "media-player")
    }

    @Test("an MTP device from a maker of cameras only is a camera: GoPro, Ricoh's Theta")
    func cameraMakers() {
        #expect(outcome(usb(0x2672, 0x000c, mtp)) == ("mtp", "camera"))
        #expect(outcome(usb(0x05ca, 0x0368, mtp)) == ("mtp", "camera"))
    }

    @Test("Apple's usbmux range: iPhone, iPad or iPod by the usb.ids name; an unnamed id is a phone")
    func apple() {
        func model(_ name: String, _ key: String = "udev.ID_MODEL_FROM_DATABASE") -> [String: PropertyValue] {
            [key: .string(name), "udev.USBMUX_SUPPORTED": .string("1")]
        }
        #expect(outcome(usb(0x05ac, 0x129f, model("iPad 2"))) == ("ipod", "tablet"))
        #expect(outcome(usb(0x05ac, 0x129e, model("iPod Touch 4.Gen", "hwdb.ID_MODEL_FROM_DATABASE"))) == ("ipod", "media-player"))
        #expect(outcome(usb(0x05ac, 0x12a8, model("iPhone 5/5C/5S/6/SE/7/8/X/XR"))) == ("ipod", "phone"))
        // Neither a name nor usbmuxd: the range rule of 10-apple.fdi, and the default.
        #expect(outcome(usb(0x05ac, 0x12ae)) == ("ipod", "phone"))
    }

    @Test("media-player-info's phone icons make phones of its players")
    func mediaPlayerInfoPhones() {
        #expect(outcome(usb(0x0830, 0x8002, ["udev.ID_MEDIA_PLAYER": .string("palm_pre"),
                                             "udev.ID_MEDIA_PLAYER_ICON_NAME": .string("phone-palm-pre")])) == ("file-sync", "phone"))
        #expect(outcome(usb(0x0830, 0x8002, ["hwdb.ID_MEDIA_PLAYER": .string("palm_pre"),
                                             "mpi.device.AccessProtocol": .strlist(["storage"]),
                                             "mpi.device.Icon": .string("phone-palm-pre")])) == ("file-sync", "phone"))
    }

    @Test("a kind a specific profile set is kept: Nokia's internet tablets stay tablets")
    func specificProfileWins() {
        #expect(outcome(usb(0x0421, 0x0096, ["udev.ID_MEDIA_PLAYER": .string("nokia_0x0431_0x04c3_0x0096")]))
            == ("file-sync", "tablet"))
    }
}
