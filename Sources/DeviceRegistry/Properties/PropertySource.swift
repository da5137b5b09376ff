// SPDX-License-Identifier: Apache-2.0
/// Where a device property came from: one of the sources of raw properties, or the profile rule that merged it.
///
/// `docs/profiles.md` ("Property sources") lists the sources and the key prefix each one writes.
public enum PropertySource: Sendable, Hashable, CustomStringConvertible {
    /// Read from sysfs and the device's descriptors (`usb.*`, `info.*`, `serial.*`, `sysfs.*`).
    case sysfs
    /// A property udev's rules gave the device (`udev.*`).
    case udev
    /// The hardware database, looked up under this modalias (`hwdb.*`).
    case hardwareDatabase(modalias: String)
    /// A media-player-info key file (`mpi.*`).
    case mediaPlayerInfo(file: String)
    /// libmtp's device table, read from this library (`libmtp.*`).
    case libmtp(library: String)
    /// A line of the kernel's `modules.alias` (`kernel.*`): the first one that matched.
    case kernelTable(file: String, line: Int)
    /// BlueZ's device object and the device's SDP records (`bluetooth.*`).
    case bluez
    /// Given on `devsyncctl profiles match`'s command line.
    case commandLine
    /// Merged by the rule of a profile at this location (the last rule that changed it).
    case profile(SourceLocation)

    /// `udev`, `hwdb usb:v…`, `mpi FILE`, `kernel FILE:LINE`, `profile FILE:LINE:COLUMN` …, as `--explain` prints it.
    public var description: String {
        switch self {
        case .sysfs: "sysfs"
        case .udev: "udev"
        case .hardwareDatabase(let modalias): "hwdb \(modalias)"
        case .mediaPlayerInfo(let file): "mpi \(file)"
        case .libmtp(let library): "libmtp \(library)"
        case .kernelTable(let file, let line): "kernel \(file):\(line)"
        case .bluez: "bluez"
        case .commandLine: "command line"
        case .profile(let location): "profile \(location)"
        }
    }

    /// The raw source a key's prefix names, for a property a source published: `udev.*` came from udev, `hwdb.*`
    /// from the hardware database (modalias unknown here), `bluetooth.*` from BlueZ, the rest from sysfs.
    /// The sources themselves know better (the file, the line, the modalias) and say so where they can.
    public static func implied(byKey key: String) -> PropertySource {
        if key.hasPrefix(PropertyKey.udevPrefix) { return .udev }
        if key.hasPrefix(PropertyKey.hardwareDatabasePrefix) { return .hardwareDatabase(modalias: "") }
        if key.hasPrefix(PropertyKey.mediaPlayerInfoPrefix) { return .mediaPlayerInfo(file: "") }
        if key.hasPrefix("kernel.") { return .kernelTable(file: "", line: 0) }
        if key.hasPrefix("libmtp.") { return .libmtp(library: "") }
        if key.hasPrefix("bluetooth.") { return .bluez }
        return .sysfs
    }
}

extension SequentialMatcher {
    /// Applies the profiles as ``match(_:)`` does, and also says which rule last changed each property it
    /// changed (for `devsyncctl profiles match --explain`; the compiled matcher gives the same outcome).
    public func explain(_ properties: DeviceProperties) -> (outcome: MatchOutcome, writers: [String: SourceLocation]) {
        var current = properties
        var applied: [SourceLocation] = []
        var writers: [String: SourceLocation] = [:]
        var entered: [Int: Bool] = [:]
        rules: for rule in profiles.rules {
            for condition in rule.conditions {
                let holds = entered[condition.id] ?? condition.holds(in: current)
                entered[condition.id] = holds
                if !holds { continue rules }
            }
            for action in rule.actions {
                let before = current[action.key]
                action.apply(to: &current)
                if current[action.key] != before { writers[action.key] = rule.location }
            }
            applied.append(rule.location)
        }
        return (MatchOutcome(properties: current, appliedRules: applied), writers)
    }
}
