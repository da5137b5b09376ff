// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DevsyncBuild
import DeviceRegistry
import Logging

/// `devsyncctl profiles`: the FDI profiles the broker applies to devices.
struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List, check and try the FDI profiles devsync applies to devices.",
        discussion: """
            Profiles are read from \(BuildConfiguration.profileDirectories.joined(separator: " then ")); files of a \
            later directory apply later and so win. --profiles DIR (repeatable) reads other directories instead.
            """,
        subcommands: [List.self, Check.self, Match.self, ExportUdev.self],
        defaultSubcommand: List.self
    )
}

/// Where profiles come from, and how to print: shared by every `profiles` verb.
struct ProfileSourceOptions: ParsableArguments {
    @Option(name: .customLong("profiles"), help: ArgumentHelp(
        "Read profiles from DIR instead of the installed directories (repeatable; later ones apply later).",
        valueName: "DIR"))
    var directories: [String] = []

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    var searchPath: [String] { directories.isEmpty ? BuildConfiguration.profileDirectories : directories }

    func loader() -> ProfileLoader {
        var logger = Logger(label: "devsyncctl", factory: { StreamLogHandler.standardError(label: $0) })
        // The verbs report skipped files themselves.
        logger.logLevel = .critical
        return ProfileLoader(logger: logger)
    }

    func reportErrors(_ errors: [ProfileError]) {
        for error in errors { Output.error("\(error.location.line == 0 ? error.location.file : error.location.description): error: \(error.message)") }
    }
}

extension ProfilesCommand {
    /// `profiles list`: every rule, in application order.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the loaded rules in the order they apply.")

        @OptionGroup var source: ProfileSourceOptions

        struct JSONRule: Encodable {
            var location: String
            var conditions: [String]
            var actions: [String]
        }

        struct JSONList: Encodable {
            var files: [String]
            var rules: [JSONRule]
            var errors: [JSONProfileError]
        }

        func run() throws {
            let load = source.loader().load(directories: source.searchPath)
            if source.json {
                try Output.json(JSONList(
                    files: load.profiles.files,
                    rules: load.profiles.rules.map {
                        JSONRule(location: $0.location.description, conditions: $0.conditions.map(\.description),
                                 actions: $0.actions.map(\.description))
                    },
                    errors: load.errors.map(JSONProfileError.init)))
                return
            }
            source.reportErrors(load.errors)
            let rows = load.profiles.rules.map { rule in
                [rule.location.description,
                 rule.conditions.isEmpty ? "(always)" : rule.conditions.map(\.description).joined(separator: " && "),
                 rule.actions.map(\.description).joined(separator: "; ")]
            }
            Output.table(rows, header: Output.isTerminal ? ["RULE", "WHEN", "THEN"] : nil)
            if Output.isTerminal {
                print("\(load.profiles.rules.count) rules from \(load.profiles.files.count) files")
            }
        }
    }

    /// `profiles check`: parse files and report every error, for editors and packaging.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check profile files and report errors as file:line:column.",
            discussion: "Exits with status 1 if any file has an error. With no PATH, checks the profile directories.")

        @Argument(help: ArgumentHelp("A .fdi file or a directory of them.", valueName: "PATH"))
        var paths: [String] = []

        @OptionGroup var source: ProfileSourceOptions

        struct JSONCheck: Encodable {
            var files: [String]
            var rules: Int
            var errors: [JSONProfileError]
        }

        func run() throws {
            let loader = source.loader()
            var files: [String] = []
            var errors: [ProfileError] = []
            for path in paths.isEmpty ? source.searchPath : paths {
                if path.hasSuffix(".fdi") || FileKind.isRegularFile(path) {
                    files.append(path)
                } else if FileKind.isDirectory(path) || paths.isEmpty {
                    let found = loader.files(in: path)
                    files += found.files
                    errors += found.errors
                } else {
                    errors.append(ProfileError(.unreadable, at: SourceLocation(file: path, line: 0, column: 0),
                                               "no such file or directory"))
                }
            }
            let load = loader.load(files: files)
            errors += load.errors
            if source.json {
                try Output.json(JSONCheck(files: files, rules: load.profiles.rules.count, errors: errors.map(JSONProfileError.init)))
            } else {
                source.reportErrors(errors)
                let broken = Set(errors.map(\.location.file)).count
                print("\(files.count) files checked, \(load.profiles.rules.count) rules, \(broken) with errors")
            }
            if !errors.isEmpty { throw ExitCode.failure }
        }
    }

    /// `profiles match`: what the profiles make of a device described on the command line.
    struct Match: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the profiles to a device given as KEY=VALUE properties.",
            discussion: """
                Each PROPERTY is KEY=VALUE, typed as FDI types values: 0x0830 or 2096 is an int (decimal or 0x hex, \
                32-bit signed like HAL's int); true and false are bools; for the keys known to be lists \
                (\(PropertyArgument.strlistKeys.sorted().joined(separator: ", "))) a comma-separated value is a \
                strlist; anything else is a string.

                Write KEY:TYPE=VALUE to force a type (string, strlist, int, uint64, bool or double), for example \
                usb.serial:string=0123 or udev.TAGS:strlist=uaccess,seat.

                Prints the rules that applied, in order, and the resulting properties (changed ones marked *).

                With --each-line, reads many devices from standard input instead, one a line, its PROPERTYs \
                separated by tabs, and prints one line of JSON per device (as --json prints one), in order: the \
                profiles are read once, for reports that try thousands of devices (make coverage).
                """)

        @Argument(help: ArgumentHelp("A device property, KEY=VALUE or KEY:TYPE=VALUE.", valueName: "PROPERTY"))
        var properties: [PropertyArgument] = []

        @Flag(help: "Read one device a line from standard input (PROPERTYs separated by tabs); print JSON lines.")
        var eachLine = false

        @Flag(help: "Use the plain in-order evaluator instead of the compiled index (they must agree).")
        var sequential = false

        @OptionGroup var source: ProfileSourceOptions

        struct JSONMatch: Encodable {
            var appliedRules: [String]
            var properties: [String: JSONProperty]
            var errors: [JSONProfileError]
        }

        func validate() throws {
            if eachLine && !properties.isEmpty {
                throw ValidationError("--each-line reads the devices from standard input; give no PROPERTY arguments")
            }
            if !eachLine && properties.isEmpty { throw ValidationError("Missing expected argument '<PROPERTY> ...'") }
        }

        func run() throws {
            let load = source.loader().load(directories: source.searchPath)
            let matcher: any DeviceMatcher = sequential ? SequentialMatcher(load.profiles) : CompiledMatcher(load.profiles)
            if eachLine {
                source.reportErrors(load.errors)
                try matchEachLine(with: matcher)
                return
            }
            var device = DeviceProperties()
            for property in properties { device[property.key] = property.value }
            let outcome = matcher.match(device)
            if source.json {
                try Output.json(JSONMatch(
                    appliedRules: outcome.appliedRules.map(\.description),
                    properties: outcome.properties.dictionary.mapValues(JSONProperty.init),
                    errors: load.errors.map(JSONProfileError.init)))
                return
            }
            source.reportErrors(load.errors)
            print(outcome.appliedRules.isEmpty ? "no rule matched" : "matched rules, in order:")
            for location in outcome.appliedRules { print("  \(location)") }
            print("properties:")
            Output.table(outcome.properties.sorted.map { key, value in
                let changed = device[key] != value
                return ["  \(changed ? "*" : " ") \(key)", "(\(value.type))", value.displayed(key: key)]
            })
        }

        /// One device per line of standard input, one line of JSON per device; an empty line is a device with no
        /// properties. A property that does not parse names its line and stops the run.
        private func matchEachLine(with matcher: any DeviceMatcher) throws {
            var number = 0
            while let line = readLine(strippingNewline: true) {
                number += 1
                var device = DeviceProperties()
                for field in line.split(separator: "\t", omittingEmptySubsequences: true) {
                    guard let property = PropertyArgument(argument: String(field)) else {
                        Output.error("standard input:\(number): not a property, KEY=VALUE or KEY:TYPE=VALUE: \(field)")
                        throw ExitCode.failure
                    }
                    device[property.key] = property.value
                }
                let outcome = matcher.match(device)
                try Output.jsonLine(JSONMatch(
                    appliedRules: outcome.appliedRules.map(\.description),
                    properties: outcome.properties.dictionary.mapValues(JSONProperty.init), errors: []))
            }
        }
    }
}
