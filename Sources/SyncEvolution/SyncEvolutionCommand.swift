// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the phone's data is kept on this computer: the datastores of SyncEvolution's `@devsync` context, which
/// every devsync phone configuration syncs with (SyncEvolution's "hub" layout).
public enum LocalStore: Sendable, Hashable {
    /// SyncEvolution's own defaults, which the template names (Evolution's address book, calendar, tasks, memos);
    /// an existing `@devsync` context is kept as the user configured it.
    case syncEvolutionDefault
    /// One directory per datastore below `directory` (`addressbook`, `calendar`, `todo`, `memo`), SyncEvolution's
    /// `file` backend: vCard, iCalendar and plain text files.
    case files(directory: String)
}

/// The `syncevolution` command line, as devsync runs it: `--daemon=no`, so that each sync is a child of the
/// engine that SIGTERM aborts and whose crash is an exit status, not a lost D-Bus session.
public struct SyncEvolutionCommand: Sendable {
    /// The environment SyncEvolution runs with: PATH finds it; HOME and XDG_CONFIG_HOME/XDG_CACHE_HOME place its
    /// configurations and session logs.
    public var environment: [String: String]
    /// The longest a sync may take before it is aborted.
    public var timeout: Duration
    /// The longest creating or updating a configuration may take.
    public var configureTimeout: Duration = .seconds(60)
    /// Where operators read what happened.
    public var logger: Logger

    /// SyncEvolution run with `environment` (the process's by default), syncs bounded by `timeout`.
    public init(environment: [String: String]? = nil, timeout: Duration = .seconds(1800), logger: Logger) {
        self.environment = environment ?? ProcessInfo.processInfo.environment
        self.timeout = timeout
        self.logger = logger
    }

    /// SyncEvolution's configuration directory: `$XDG_CONFIG_HOME/syncevolution`, else `~/.config/syncevolution`.
    public var configDirectory: String {
        Self.xdgDirectory(environment, "XDG_CONFIG_HOME", fallback: ".config") + "/syncevolution"
    }

    /// Where SyncEvolution keeps its session logs: `$XDG_CACHE_HOME/syncevolution`, else `~/.cache/syncevolution`.
    public var sessionDirectory: String {
        Self.xdgDirectory(environment, "XDG_CACHE_HOME", fallback: ".cache") + "/syncevolution"
    }

    static func xdgDirectory(_ environment: [String: String], _ variable: String, fallback: String) -> String {
        if let value = environment[variable], value.hasPrefix("/") { return value }
        return (environment["HOME"] ?? "/") + "/" + fallback
    }

    /// The `syncevolution` program on PATH.
    func executable() throws(SyncEvolutionError) -> String {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = "\(directory)/syncevolution"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw SyncEvolutionError(
            .notInstalled,
            "SyncEvolution is not installed (no syncevolution on PATH); install the syncevolution package to sync contacts, calendar, to-dos and notes with SyncML phones.")
    }

    /// The environment SyncEvolution gets: ours, with its messages in English, which ``OutputParser`` reads.
    var childEnvironment: [String: String] {
        var result = environment
        if let all = result.removeValue(forKey: "LC_ALL"), result["LC_CTYPE"] == nil { result["LC_CTYPE"] = all }
        result["LANGUAGE"] = nil
        result["LC_MESSAGES"] = "C"
        return result
    }

    /// The configuration for `device`, created from the template that best fits its vendor and model if there is
    /// none yet, else reused (its `syncURL` updated when the phone's channel changed).
    public func configuration(
        for device: SyncEvolutionDevice, store: LocalStore = .syncEvolutionDefault
    ) async throws(SyncEvolutionError) -> SyncEvolutionConfig {
        let program = try executable()
        let url = try device.syncURL()
        let peer = ConfigName.peer(for: device)
        let config = SyncEvolutionConfig(command: self, device: device, peer: peer)
        if case .files(let directory) = store {
            try await useFiles(directory, program: program)
        }
        let iniPath = config.directory + "/config.ini"
        if FileManager.default.fileExists(atPath: iniPath) {
            let current = Self.property("syncURL", in: Self.read(iniPath) ?? "")
            if current != url {
                logger.info("Updating the SyncEvolution configuration's URL", metadata: ["config": "\(config.name)", "url": "\(url)"])
                try await configure(program, ["syncURL=\(url)", config.name], what: "update the configuration of \(device.displayName)")
            }
            return config
        }
        let template = try await template(for: device, program: program)
        logger.info(
            "Creating a SyncEvolution configuration",
            metadata: ["config": "\(config.name)", "template": "\(template)", "url": "\(url)"])
        // printChanges=0: the comparison of before/after dumps doubles a sync's time and only feeds the text report.
        try await configure(
            program, ["--template", template, "syncURL=\(url)", "printChanges=0", config.name],
            what: "create a configuration for \(device.displayName)")
        config.forgetSyncedDatastores()
        return config
    }

    /// Points the `@devsync` context's four datastores at files below `directory`, unless they already are.
    private func useFiles(_ directory: String, program: String) async throws(SyncEvolutionError) {
        guard directory.hasPrefix("/"), !directory.contains("\n") else {
            throw SyncEvolutionError(.configuration, "The local store directory “\(ConfigName.printable(directory))” must be an absolute path.")
        }
        var arguments: [String] = []
        var datastores: [String] = []
        for type in SyncDataType.allCases {
            let datastore = type.datastore
            let database = "file://\(directory)/\(datastore)"
            let ini = "\(configDirectory)/\(ConfigName.context)/sources/\(datastore)/config.ini"
            if Self.property("database", in: Self.read(ini) ?? "") == database { continue }
            try? FileManager.default.createDirectory(atPath: "\(directory)/\(datastore)", withIntermediateDirectories: true)
            arguments += ["\(datastore)/backend=file", "\(datastore)/database=\(database)", "\(datastore)/databaseFormat=\(type.fileFormat)"]
            datastores.append(datastore)
        }
        guard !datastores.isEmpty else { return }
        try await configure(program, arguments + ["@\(ConfigName.context)"] + datastores, what: "set up the local files in \(directory)")
    }

    /// Runs `syncevolution --daemon=no --configure arguments…`; fails with SyncEvolution's sentence.
    private func configure(_ program: String, _ arguments: [String], what: String) async throws(SyncEvolutionError) {
        let lines = LineCollector()
        let outcome = await ChildRun.run(
            [program, "--daemon=no", "--configure"] + arguments, environment: childEnvironment, timeout: configureTimeout
        ) { _, line in lines.append(line) }
        guard outcome != .exited(0) else { return }
        let errors = lines.lines.filter { $0.hasPrefix("[ERROR]") }.map { String($0.dropFirst("[ERROR] ".count)) }
        let reason = errors.first ?? Self.describe(outcome)
        throw SyncEvolutionError(.configuration, "SyncEvolution could not \(what): \(reason)")
    }

    /// The template SyncEvolution rates best for the device's vendor and model (`--template '?Vendor Model'`).
    ///
    /// A phone that matches no template gets the Sony Ericsson one, whose one datastore per data type and
    /// SyncML 1.2 suit most phones.
    func template(for device: SyncEvolutionDevice, program: String) async throws(SyncEvolutionError) -> String {
        if case .localContext = device.peer { return "SyncEvolution_Client" }
        let lines = LineCollector()
        let query = "?" + ConfigName.printable("\(device.vendor) \(device.model)")
        let outcome = await ChildRun.run(
            [program, "--daemon=no", "--template", query], environment: childEnvironment, timeout: configureTimeout
        ) { stream, line in if stream == .stdout { lines.append(line) } }
        guard outcome == .exited(0) else {
            throw SyncEvolutionError(.configuration, "SyncEvolution could not list its phone templates: \(Self.describe(outcome))")
        }
        return Self.chooseTemplate(Self.rankedTemplates(lines.lines))
    }

    /// The best-rated template, unless the generic `SyncEvolution_Client` (which nothing in a phone's name
    /// matches) rates as high: then nothing matched but the wording, and the phone gets `Sony_Ericsson_W595`.
    static func chooseTemplate(_ ranked: [(name: String, score: Int)]) -> String {
        guard let best = ranked.first else { return genericPhoneTemplate }
        let generic = ranked.first { $0.name == "SyncEvolution_Client" }?.score ?? -1
        if best.score > generic { return best.name }
        return ranked.contains { $0.name == genericPhoneTemplate } ? genericPhoneTemplate : best.name
    }

    static let genericPhoneTemplate = "Sony_Ericsson_W595"

    /// `   Name = description    60%` lines, highest score first (ties in SyncEvolution's order).
    static func rankedTemplates(_ lines: [String]) -> [(name: String, score: Int)] {
        var result: [(name: String, score: Int)] = []
        for line in lines {
            let trimmed = Substring(line).trimmingCharacters(in: " \t")
            guard let equals = trimmed.firstRange(of: " = "), let last = trimmed.split(separator: " ").last, last.hasSuffix("%"),
                  let score = Int(last.dropLast()) else { continue }
            let name = String(trimmed[..<equals.lowerBound])
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
            }) else { continue }
            result.append((name, score))
        }
        return result.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }.map(\.element)
    }

    static func describe(_ outcome: ChildOutcome) -> String {
        switch outcome {
        case .exited(let status): "it exited with status \(status)"
        case .signalled(let signal): "it was killed by \(signalName(signal))"
        case .stopped(let cancelled): cancelled ? "it was cancelled" : "it took too long and was stopped"
        case .notStarted(let reason): reason
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGSEGV: "SIGSEGV (a segmentation fault)"
        case SIGABRT: "SIGABRT (an abort)"
        case SIGBUS: "SIGBUS (a bus error)"
        case SIGILL: "SIGILL (an illegal instruction)"
        case SIGFPE: "SIGFPE (an arithmetic fault)"
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }

    static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The value of `key = value` in a SyncEvolution `.ini` file (keys are case-insensitive), comments skipped.
    static func property(_ key: String, in text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            if line[..<equals].trimmingCharacters(in: " \t").lowercased() == key.lowercased() {
                return line[line.index(after: equals)...].trimmingCharacters(in: " \t")
            }
        }
        return nil
    }
}

/// Lines gathered from a child's output handler (which runs on the child's queue).
final class LineCollector: Sendable {
    private let storage = Mutex<[String]>([])

    func append(_ line: String) {
        storage.withLock { $0.append(line) }
    }

    var lines: [String] { storage.withLock { $0 } }
}
