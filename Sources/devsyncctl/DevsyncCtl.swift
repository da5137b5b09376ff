// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DevsyncBuild
import FoundationEssentials
import Glibc

/// `devsyncctl`: inspect and steer the devsync broker, in the manner of `boltctl`.
@main
struct DevsyncCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devsyncctl",
        abstract: "Inspect and steer the devsync device broker.",
        discussion: """
            Every broker verb takes --bus system|session|ADDRESS (default: the system bus, or \
            DBUS_SYSTEM_BUS_ADDRESS) and --json. DEVICE is a uid or a prefix of one that names a single device. \
            Errors from the broker are printed as its sentence.

            \(ExitStatus.discussion)
            """,
        version: BuildConfiguration.version,
        subcommands: [
            ListCommand.self, InfoCommand.self, ApproveCommand.self, RejectCommand.self, ForgetCommand.self,
            ActionsCommand.self, SyncCommand.self, MonitorCommand.self, ProfilesCommand.self,
        ],
        defaultSubcommand: ListCommand.self
    )

    /// ArgumentParser's usage errors exit 64; devsyncctl's documented usage status is 2.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let verb = unknownVerb(in: arguments) {
            Output.error("devsyncctl: unknown verb '\(verb)'; the verbs are \(verbs.joined(separator: ", ")) (see devsyncctl --help)")
            Glibc.exit(ExitStatus.usage)
        }
        do {
            var command = try parseAsRoot(globalOptionsMoved(arguments))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                Output.error(fullMessage(for: error))
                Glibc.exit(ExitStatus.usage)
            }
            exit(withError: error)
        }
    }

    /// The verbs, as typed: `list` … `profiles`, and ArgumentParser's `help`.
    static var verbs: [String] { configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"] }

    /// The first word of the command line, after the options every broker verb shares, if it names no verb.
    ///
    /// `list` is the default verb, so ArgumentParser would hand an unknown word to it and answer with list's
    /// usage; a mistyped verb (or `devsyncctl lsit`) deserves to be named instead.
    static func unknownVerb(in arguments: [String]) -> String? {
        var rest = arguments[...]
        while let first = rest.first {
            if first == "--json" || first.hasPrefix("--bus=") {
                rest = rest.dropFirst()
            } else if first == "--bus", rest.count >= 2 {
                rest = rest.dropFirst(2)
            } else {
                break
            }
        }
        guard let word = rest.first, !word.hasPrefix("-"), !verbs.contains(word) else { return nil }
        return word
    }

    /// `--bus` and `--json` given before a broker verb, moved after it, where the verb declares them.
    ///
    /// ArgumentParser has no inherited options, and declaring them on the root too would take `--json` away from
    /// `profiles`, whose verbs declare their own.
    static func globalOptionsMoved(_ arguments: [String]) -> [String] {
        var global: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if first == "--json" || first.hasPrefix("--bus=") {
                global.append(first)
                rest = rest.dropFirst()
            } else if first == "--bus", rest.count >= 2 {
                global += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else {
                break
            }
        }
        guard !global.isEmpty else { return arguments }
        let brokerVerbs = configuration.subcommands.compactMap { $0.configuration.commandName }.filter { $0 != "profiles" }
        guard let verb = rest.first, !verb.hasPrefix("-") else { return global + rest }
        return brokerVerbs.contains(verb) ? [verb] + global + rest.dropFirst() : arguments
    }
}
