// SPDX-License-Identifier: Apache-2.0

/// A mistake in the configuration file, with where it is.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public var file: String
    /// The line, from 1; 0 when the whole file is at fault.
    public var line: Int
    /// What is wrong and what is allowed.
    public var message: String

    /// A mistake on `line` of `file`.
    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// devsync-engine's settings: `$XDG_CONFIG_HOME/devsync/engine.conf`, a key file (docs/engine.md).
///
/// ```
/// [Photos]
/// ImportDirectory=~/Pictures/Imported
/// [Automatic]
/// Actions=sync-photos
/// ```
public struct EngineConfiguration: Sendable, Equatable {
    /// Where photo imports go (one folder per device inside it); nil: the XDG pictures directory.
    public var importDirectory: String?
    /// The actions the engine starts itself when an approved device of its user arrives; empty (the default):
    /// none, every sync is asked for.
    public var automaticActions: [String] = []
    /// Test-only: the libgphoto2 port every camera is read from instead of its USB port (`disk:DIR` reads a
    /// folder with `DCIM/` through libgphoto2's "Directory Browse" driver).
    public var testCameraPort: String?
    /// Test-only: a pause after each imported file, so that a test can cancel an import half-way.
    public var testPauseAfterEachFile: Duration = .zero
    /// Test-only: the SyncEvolution context every SyncML phone is reached as (`SyncMLPeer=local://@CONTEXT` gives
    /// `CONTEXT`), instead of OBEX over Bluetooth.
    public var testSyncMLContext: String?
    /// Test-only: a directory the SyncML work keeps this computer's contacts, calendar, to-dos and notes in (one
    /// folder of files per data type), instead of SyncEvolution's defaults (Evolution's address book …).
    public var testSyncMLStore: String?

    /// The defaults: nothing set.
    public init() {}

    /// The sections and keys the file may hold.
    static let keys: [String: Set<String>] = [
        "Photos": ["ImportDirectory"],
        "Automatic": ["Actions"],
        "Testing": ["CameraPort", "PauseAfterEachFile", "SyncMLPeer", "SyncMLStore"],
    ]

    /// Reads `path`; a missing file gives the defaults.
    public static func load(_ path: String, directories: UserDirectories) throws(ConfigurationError) -> EngineConfiguration {
        let text: String?
        do {
            text = try FileSystem.readText(path, limit: 65536)
        } catch {
            throw ConfigurationError(file: path, line: 0, message: "cannot be read: \(error.reason)")
        }
        guard let text else { return EngineConfiguration() }
        return try parse(text, file: path, directories: directories)
    }

    /// Parses the file's text; `file` names it in errors.
    public static func parse(_ text: String, file: String, directories: UserDirectories) throws(ConfigurationError) -> EngineConfiguration {
        var configuration = EngineConfiguration()
        var section: String?
        var seen: Set<String> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            func failure(_ message: String) -> ConfigurationError {
                ConfigurationError(file: file, line: number, message: message)
            }
            let line = String(rawLine).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw failure("a section header ends with ']'") }
                let name = String(line.dropFirst().dropLast()).trimmingSpaces()
                guard keys[name] != nil else {
                    throw failure("unknown section [\(name)]; the sections are \(keys.keys.sorted().map { "[\($0)]" }.joined(separator: ", "))")
                }
                section = name
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw failure("expected KEY=VALUE, a [Section] or a # comment") }
            let key = String(line[..<equals]).trimmingSpaces()
            let value = String(line[line.index(after: equals)...]).trimmingSpaces()
            guard let section else { throw failure("\(key) must be inside a section, such as [Photos]") }
            guard let allowed = keys[section], allowed.contains(key) else {
                throw failure("unknown key \(key) in [\(section)]; it takes \(keys[section, default: []].sorted().joined(separator: ", "))")
            }
            guard seen.insert("\(section).\(key)").inserted else { throw failure("\(key) is set twice in [\(section)]") }
            switch (section, key) {
            case ("Photos", "ImportDirectory"):
                let path = directories.expandingTilde(value)
                guard path.hasPrefix("/") else {
                    throw failure("ImportDirectory must be an absolute path or start with ~/, not \"\(value)\"")
                }
                configuration.importDirectory = path
            case ("Automatic", "Actions"):
                let actions = value.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == " " }).map(String.init)
                for action in actions where !action.hasPrefix("sync-") {
                    throw failure("\"\(action)\" is not an action; actions are named like sync-photos or sync-all")
                }
                configuration.automaticActions = actions
            case ("Testing", "CameraPort"):
                guard value.contains(":") else { throw failure("CameraPort is a libgphoto2 port such as disk:/path") }
                configuration.testCameraPort = value
            case ("Testing", "PauseAfterEachFile"):
                guard let seconds = Double(value), seconds >= 0, seconds <= 60 else {
                    throw failure("PauseAfterEachFile is a number of seconds from 0 to 60, not \"\(value)\"")
                }
                configuration.testPauseAfterEachFile = .milliseconds(Int64((seconds * 1000).rounded()))
            case ("Testing", "SyncMLPeer"):
                let context = value.hasPrefix("local://@") ? String(value.dropFirst("local://@".count)) : ""
                guard !context.isEmpty, context.count <= 64, context.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
                }) else {
                    throw failure("SyncMLPeer is a SyncEvolution context such as local://@phone (letters, digits, - and _), not \"\(value)\"")
                }
                configuration.testSyncMLContext = context
            case ("Testing", "SyncMLStore"):
                let path = directories.expandingTilde(value)
                guard path.hasPrefix("/") else {
                    throw failure("SyncMLStore must be an absolute path or start with ~/, not \"\(value)\"")
                }
                configuration.testSyncMLStore = path
            default:
                break
            }
        }
        return configuration
    }
}
