// SPDX-License-Identifier: Apache-2.0
/// The fuzz targets: each takes one input of arbitrary bytes and checks what must hold for every input.
///
/// A target returns nil when the input was handled as it should be (parsed, or refused with an error value) and
/// a sentence when an invariant broke; a crash or a sanitizer report is a finding too. The libFuzzer executables
/// (`Fuzz/Targets`) turn the sentence into a crash, FuzzEntriesTests into a failed expectation, so one corpus
/// file that once found a bug stays a regression test.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// An FDI profile: the XML reader, the FDI parser, and both matchers on the rules it yields.
    case fdi
    /// A device record of the state directory (`DeviceKeyFile`).
    case keyfile
    /// `/etc/devsync/devsyncd.conf`.
    case config
    /// A marshalled D-Bus message: libdbus's validation, then the Swift reader and writer.
    case dbus
    /// An SDP response's attribute lists, as a Bluetooth peer sends them.
    case sdp
    /// A USB device's uevent properties, sysfs attributes and raw descriptors, mapped to device properties.
    case uevent
    /// A media-player-info `.mpi` file and a `modules.alias` (the same bytes read as each).
    case databases

    /// Runs the target on `bytes`: nil if every invariant held, else what broke.
    package func run(_ bytes: [UInt8]) -> String? {
        switch self {
        case .fdi: FDIFuzzing.run(bytes)
        case .keyfile: KeyFileFuzzing.run(bytes)
        case .config: ConfigurationFuzzing.run(bytes)
        case .dbus: DBusFuzzing.run(bytes)
        case .sdp: SDPFuzzing.run(bytes)
        case .uevent: UeventFuzzing.run(bytes)
        case .databases: DatabaseFuzzing.run(bytes)
        }
    }
}
