// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DeviceRegistry
import FoundationEssentials
import Glibc

extension ProfilesCommand {
    /// `profiles export-udev`: the udev rules for the devices the profiles offer a plugin for.
    struct ExportUdev: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-udev",
            abstract: "Write the udev rules (70-devsync.rules) for the devices the profiles offer a sync plugin for.",
            discussion: """
                Each profile rule that sets sync.plugin becomes a line with the conditions udev can test on a \
                usb_device: usb.vendor_id and usb.product_id (equality or a range) as udev's PRODUCT, usb.interfaces \
                as ID_USB_INTERFACES, udev.NAME as NAME. A recognised device is tagged devsync, uaccess (the seat's \
                user may open it) and systemd (devsyncd starts). Rules that set sync.ignore come first and exclude \
                their devices; rules udev cannot preselect are listed in a comment. Exits with status 1 if a \
                profile has an error (the rules are written all the same).
                """)

        @Option(name: .customLong("profiles"), help: ArgumentHelp(
            "Read profiles from DIR instead of the installed directories (repeatable; later ones apply later).",
            valueName: "DIR"))
        var directories: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
        var output: String?

        func run() throws {
            let source = ProfileSourceOptions(directories: directories)
            let load = source.loader().load(directories: source.searchPath)
            source.reportErrors(load.errors)
            let text = UdevRules(load.profiles, relativeTo: source.searchPath).text
            if let output {
                do {
                    try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
                } catch {
                    // FoundationEssentials has no localizedDescription; the system's sentence for the errno is the same.
                    let reason = ((error as? CocoaError)?.underlying as? POSIXError).map { String(cString: strerror($0.code.rawValue)) }
                    throw ValidationError("cannot write \(output): \(reason ?? "\(error)")")
                }
            } else {
                print(text, terminator: "")
            }
            if !load.errors.isEmpty { throw ExitCode.failure }
        }
    }
}

extension ProfileSourceOptions {
    /// Options reading `directories`, for verbs that have no `--json`.
    init(directories: [String]) {
        self.init()
        self.directories = directories
    }
}
