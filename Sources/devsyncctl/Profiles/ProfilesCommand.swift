// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DevsyncBuild
import DeviceRegistry
import Logging
import UdevMonitor

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

                --databases adds what the hardware database, media-player-info, libmtp's device table and the \
                kernel's modules.alias say about the device described (hwdb.*, mpi.*, libmtp.*, kernel.drivers), as \
                devsyncd does for a plugged-in device; --hwdb, --media-player-info, --modules-alias and --libmtp \
                read other files (and imply --databases). \
                --explain names the source of every property: command line, hwdb, mpi, libmtp, kernel (file:line) or the \
                profile rule (file:line:column) that last changed it.
                """)

        @Argument(help: ArgumentHelp("A device property, KEY=VALUE or KEY:TYPE=VALUE.", valueName: "PROPERTY"))
        var properties: [PropertyArgument] = []

        @Flag(help: "Read one device a line from standard input (PROPERTYs separated by tabs); print JSON lines.")
        var eachLine = false

        @Flag(help: "Use the plain in-order evaluator instead of the compiled index (they must agree).")
        var sequential = false

        @Flag(help: "Say which source gave each property (with --json, a \"source\" per property).")
        var explain = false

        @Flag(help: "Add the properties the installed databases give the device (hwdb.*, mpi.*, libmtp.*, kernel.drivers).")
        var databases = false

        @Option(name: .customLong("hwdb"), help: ArgumentHelp("Read this hwdb.bin instead of the system's.", valueName: "FILE"))
        var hardwareDatabase: String?

        @Option(name: .customLong("media-player-info"), help: ArgumentHelp(
            "Read the .mpi files of DIR instead of \(DatabaseLocations.defaultMediaPlayerInfo).", valueName: "DIR"))
        var mediaPlayerInfo: String?

        @Option(name: .customLong("modules-alias"), help: ArgumentHelp(
            "Read this modules.alias instead of the running kernel's.", valueName: "FILE"))
        var modulesAlias: String?

        @Option(name: .customLong("libmtp"), help: ArgumentHelp(
            "Read the device table of this libmtp instead of \(DatabaseLocations.defaultLibMTP); none reads none.",
            valueName: "LIBRARY"))
        var libmtp: String?

        @OptionGroup var source: ProfileSourceOptions

        struct JSONMatch: Encodable {
            var appliedRules: [String]
            var properties: [String: JSONExplainedProperty]
            var errors: [JSONProfileError]
        }

        func validate() throws {
            if eachLine && !properties.isEmpty {
                throw ValidationError("--each-line reads the devices from standard input; give no PROPERTY arguments")
            }
            if !eachLine && properties.isEmpty { throw ValidationError("Missing expected argument '<PROPERTY> ...'") }
        }

        /// A property, with its source when `--explain` asks for it.
        struct JSONExplainedProperty: Encodable {
            var type: String
            var value: JSONProperty.JSONValue
            var source: String?
        }

        func run() throws {
            let load = source.loader().load(directories: source.searchPath)
            let readDatabases = databases || hardwareDatabase != nil || mediaPlayerInfo != nil || modulesAlias != nil || libmtp != nil
            if eachLine {
                source.reportErrors(load.errors)
                try matchEachLine(
                    with: sequential ? SequentialMatcher(load.profiles) : CompiledMatcher(load.profiles),
                    databases: readDatabases ? openDatabases() : nil)
                return
            }
            var device = DeviceProperties()
            var sources: [String: PropertySource] = [:]
            for property in properties {
                device[property.key] = property.value
                sources[property.key] = .commandLine
            }
            if readDatabases {
                if device.int(PropertyKey.usbVendorID) == nil || device.int(PropertyKey.usbProductID) == nil {
                    Output.error("the databases are asked by USB id: give usb.vendor_id and usb.product_id")
                }
                let found = openDatabases().describe(device)
                device.merge(found.properties)
                sources.merge(found.sources) { _, database in database }
            }
            let outcome: MatchOutcome
            if explain {
                // The plain evaluator says which rule wrote what; the compiled index must give the same outcome.
                let explained = SequentialMatcher(load.profiles).explain(device)
                outcome = explained.outcome
                for (key, location) in explained.writers { sources[key] = .profile(location) }
            } else {
                outcome = (sequential ? SequentialMatcher(load.profiles) as any DeviceMatcher : CompiledMatcher(load.profiles)).match(device)
            }
            if source.json {
                try Output.json(JSONMatch(
                    appliedRules: outcome.appliedRules.map(\.description),
                    properties: Dictionary(uniqueKeysWithValues: outcome.properties.sorted.map { key, value in
                        let property = JSONProperty(value)
                        return (key, JSONExplainedProperty(
                            type: property.type, value: property.value, source: explain ? sources[key]?.description : nil))
                    }),
                    errors: load.errors.map(JSONProfileError.init)))
                return
            }
            source.reportErrors(load.errors)
            print(outcome.appliedRules.isEmpty ? "no rule matched" : "matched rules, in order:")
            for location in outcome.appliedRules { print("  \(location)") }
            print("properties:")
            Output.table(outcome.properties.sorted.map { key, value in
                let changed = device[key] != value
                let row = ["  \(changed ? "*" : " ") \(key)", "(\(value.type))", value.displayed(key: key)]
                return explain ? row + [sources[key]?.description ?? "?"] : row
            })
        }

        /// One device per line of standard input, one line of JSON per device; an empty line is a device with no
        /// properties. A property that does not parse names its line and stops the run. With `databases`, each
        /// device first gets what they say about it, as with --databases for one device.
        private func matchEachLine(with matcher: any DeviceMatcher, databases: DeviceDatabases?) throws {
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
                if let databases { device.merge(databases.describe(device).properties) }
                let outcome = matcher.match(device)
                try Output.jsonLine(JSONMatch(
                    appliedRules: outcome.appliedRules.map(\.description),
                    properties: outcome.properties.dictionary.mapValues {
                        let property = JSONProperty($0)
                        return JSONExplainedProperty(type: property.type, value: property.value, source: nil)
                    },
                    errors: []))
            }
        }

        /// The databases --databases (or a file option) names, loaded; a missing or broken database is reported on
        /// standard error and the rest is used.
        private func openDatabases() -> DeviceDatabases {
            var locations = DatabaseLocations(hardwareDatabase: hardwareDatabase, modulesAlias: modulesAlias)
            if let mediaPlayerInfo { locations.mediaPlayerInfo = mediaPlayerInfo }
            if let libmtp { locations.libmtp = DatabaseLocations.libmtp(setting: libmtp) }
            var logger = Logger(label: "devsyncctl", factory: { StreamLogHandler.standardError(label: $0) })
            logger.logLevel = .critical  // the problems are reported below, one line each
            let databases = DeviceDatabases(locations: locations, logger: logger)
            for problem in databases.load() {
                Output.error("\(problem.file)\(problem.line.map { ":\($0)" } ?? ""): warning: \(problem.message)")
            }
            return databases
        }
    }
}
