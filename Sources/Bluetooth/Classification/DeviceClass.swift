// SPDX-License-Identifier: Apache-2.0
/// A decoded 24-bit Class of Device, as a device announces it in inquiry and BlueZ reports it in `Class`.
///
/// Layout (Bluetooth Assigned Numbers, "Class of Device"): bits 23–13 major service classes, bits 12–8 the
/// major device class, bits 7–2 the minor device class, bits 1–0 the format type (always 0).
public struct BluetoothDeviceClass: Sendable, Hashable, CustomStringConvertible {
    /// The 24-bit value as received (higher bits dropped).
    public let rawValue: UInt32

    /// Decodes `rawValue`; bits above 23 are ignored.
    public init(rawValue: UInt32) { self.rawValue = rawValue & 0xFF_FFFF }

    /// The service classes the device says it offers.
    public var serviceClasses: BluetoothServiceClasses { BluetoothServiceClasses(rawValue: UInt16(rawValue >> 13)) }

    /// The 5-bit major device class field.
    public var majorCode: UInt8 { UInt8((rawValue >> 8) & 0x1F) }

    /// The major device class, or nil for a code the specification reserves.
    public var majorClass: BluetoothMajorDeviceClass? { BluetoothMajorDeviceClass(code: majorCode) }

    /// The 6-bit minor device class field, whose meaning depends on the major class.
    public var minorCode: UInt8 { UInt8((rawValue >> 2) & 0x3F) }

    /// The minor device class, where devsync knows the major class's table and the code is assigned.
    public var minorClass: BluetoothMinorDeviceClass? {
        majorClass.flatMap { BluetoothMinorDeviceClass(major: $0, code: minorCode) }
    }

    public var description: String {
        let major = majorClass?.rawValue ?? "reserved"
        let minor = minorClass.map { "/\($0.rawValue)" } ?? ""
        return "\(major)\(minor) (0x\(String(rawValue, radix: 16)))"
    }
}

/// The major device classes, named as devsync publishes them in `bluetooth.major_class` (`docs/profiles.md`).
public enum BluetoothMajorDeviceClass: String, Sendable, Hashable, CaseIterable {
    case miscellaneous
    case computer
    case phone
    /// LAN / network access point.
    case network
    case audioVideo = "audio-video"
    case peripheral
    case imaging
    case wearable
    case toy
    case health
    /// 0x1F: the device says it has no major class.
    case uncategorized

    /// The class for a 5-bit major code, or nil for a reserved code.
    public init?(code: UInt8) {
        switch code {
        case 0x00: self = .miscellaneous
        case 0x01: self = .computer
        case 0x02: self = .phone
        case 0x03: self = .network
        case 0x04: self = .audioVideo
        case 0x05: self = .peripheral
        case 0x06: self = .imaging
        case 0x07: self = .wearable
        case 0x08: self = .toy
        case 0x09: self = .health
        case 0x1F: self = .uncategorized
        default: return nil
        }
    }
}

/// The minor device classes devsync decodes: those of computers, phones and audio/video devices, the majors
/// that sync (PDAs, phones) or that a user pairs alongside them and must not be mistaken for them (headsets).
///
/// Raw values are the names `bluetooth.minor_class` uses (`docs/profiles.md`); that property is published for
/// computers and phones only, see ``isPublished``.
public enum BluetoothMinorDeviceClass: String, Sendable, Hashable, CaseIterable {
    /// Code 0 of any decoded major class.
    case uncategorized
    // computer
    case desktop
    case server
    case laptop
    /// Handheld PC/PDA (clamshell).
    case handheldPDA = "handheld"
    /// Palm-size PC/PDA.
    case palmPDA = "palm"
    case wearableComputer = "wearable"
    case tablet
    // phone
    case cellular
    case cordless
    case smartphone
    case modem
    case isdn
    // audio/video
    case headset
    case handsFree = "hands-free"
    case microphone
    case loudspeaker
    case headphones
    case portableAudio = "portable-audio"
    case carAudio = "car-audio"
    case setTopBox = "set-top-box"
    case hifiAudio = "hifi-audio"
    case vcr
    case videoCamera = "video-camera"
    case camcorder
    case videoMonitor = "video-monitor"
    case videoDisplayAndLoudspeaker = "video-display-and-loudspeaker"
    case videoConferencing = "video-conferencing"
    case gamingToy = "gaming-toy"

    /// The minor class for `code` under `major`, or nil when the code is reserved or the major's table is not decoded.
    public init?(major: BluetoothMajorDeviceClass, code: UInt8) {
        let table: [BluetoothMinorDeviceClass?]
        switch major {
        case .computer:
            table = [.uncategorized, .desktop, .server, .laptop, .handheldPDA, .palmPDA, .wearableComputer, .tablet]
        case .phone:
            table = [.uncategorized, .cellular, .cordless, .smartphone, .modem, .isdn]
        case .audioVideo:
            table = [
                .uncategorized, .headset, .handsFree, nil, .microphone, .loudspeaker, .headphones, .portableAudio, .carAudio,
                .setTopBox, .hifiAudio, .vcr, .videoCamera, .camcorder, .videoMonitor, .videoDisplayAndLoudspeaker,
                .videoConferencing, nil, .gamingToy,
            ]
        default:
            return nil
        }
        guard Int(code) < table.count, let minor = table[Int(code)] else { return nil }
        self = minor
    }

    /// Whether `bluetooth.minor_class` carries minor classes of `major`: only computers and phones, the majors
    /// whose devices devsync syncs, so that profiles never see a headset's minor class where a PDA's could be.
    public static func isPublished(for major: BluetoothMajorDeviceClass) -> Bool {
        major == .computer || major == .phone
    }
}

/// The major service class bits (23–13) of a Class of Device.
public struct BluetoothServiceClasses: OptionSet, Sendable, Hashable {
    /// Bit 13 of the Class of Device is bit 0 here.
    public let rawValue: UInt16

    /// The set with these bits (bit 0 = Class of Device bit 13).
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x7FF }

    /// Limited discoverable mode.
    public static let limitedDiscoverable = Self(rawValue: 1 << 0)
    /// LE audio.
    public static let leAudio = Self(rawValue: 1 << 1)
    /// Positioning (location identification).
    public static let positioning = Self(rawValue: 1 << 3)
    /// Networking (LAN, ad hoc).
    public static let networking = Self(rawValue: 1 << 4)
    /// Rendering (printing, speakers).
    public static let rendering = Self(rawValue: 1 << 5)
    /// Capturing (scanner, microphone).
    public static let capturing = Self(rawValue: 1 << 6)
    /// Object transfer (v-Inbox, v-Folder): the bit sync-capable phones and PDAs set.
    public static let objectTransfer = Self(rawValue: 1 << 7)
    /// Audio (speaker, microphone, headset service).
    public static let audio = Self(rawValue: 1 << 8)
    /// Telephony (cordless telephony, modem, headset service).
    public static let telephony = Self(rawValue: 1 << 9)
    /// Information (web server, WAP server).
    public static let information = Self(rawValue: 1 << 10)

    /// The names of the set bits, in bit order, as devsync would print them.
    public var names: [String] {
        let named: [(Self, String)] = [
            (.limitedDiscoverable, "limited-discoverable"), (.leAudio, "le-audio"), (.positioning, "positioning"),
            (.networking, "networking"), (.rendering, "rendering"), (.capturing, "capturing"),
            (.objectTransfer, "object-transfer"), (.audio, "audio"), (.telephony, "telephony"),
            (.information, "information"),
        ]
        return named.filter { contains($0.0) }.map(\.1)
    }
}
