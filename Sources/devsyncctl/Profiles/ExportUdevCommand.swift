import ArgumentParser
import DeviceRegistry
import Foundation

extension ProfilesCommand {
    /// `profiles export-udev`: the udev rules that tag the devices the profiles name.
    struct ExportUdev: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-udev",
            abstract: "Write the udev rules (85-devsync.rules) that tag the devices the profiles name.",
            discussion: """
                Each profile rule that tests usb.vendor_id (and usb.product_id) for equality, or a product range, \
                becomes a line matching udev's PRODUCT; a fixed block covers the device classes of \
                90-generic-classes.fdi. Rules that set sync.ignore are listed in a comment and not tagged. Exits \
                with status 1 if a profile has an error (the rules are written all the same).
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
                    throw ValidationError("cannot write \(output): \(error.localizedDescription)")
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
