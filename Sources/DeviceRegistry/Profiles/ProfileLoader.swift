// SPDX-License-Identifier: Apache-2.0
import Logging

/// The result of loading profiles: the rules of every good file, and one error per file that was skipped.
public struct ProfileLoad: Sendable {
    /// The rules of the files that parsed, in application order.
    public var profiles: ProfileSet
    /// One error per skipped file (or unreadable directory), in load order.
    public var errors: [ProfileError]
    /// The files whose rules are in ``profiles``, in application order: what a later reload falls back to.
    public var files: [ProfileFile]
    /// The files (or unreadable directories) that failed this time but whose rules from the previous load were
    /// kept, in load order.
    public var kept: [String]
    /// Whether this load yielded no rules at all, so the previous load's rules were kept whole instead.
    public var keptPrevious: Bool

    /// A load result.
    public init(
        profiles: ProfileSet, errors: [ProfileError], files: [ProfileFile] = [], kept: [String] = [],
        keptPrevious: Bool = false
    ) {
        self.profiles = profiles
        self.errors = errors
        self.files = files
        self.kept = kept
        self.keptPrevious = keptPrevious
    }
}

/// Finds and parses `.fdi` files.
///
/// Directories are applied in the order given, every file of the first before any of the second, so that a
/// later directory's rules run later and win (`/etc` overrides `/usr/share`). Within a directory, names are
/// sorted bytewise and subdirectories are visited in place, as HAL did. A file that does not parse is skipped
/// whole; the others are kept.
///
/// A reload (``load(directories:previous:)`` with the last load) never loses rules to a broken file: a file that
/// no longer parses, or a directory that can no longer be read, contributes the rules it had in the previous
/// load, with a warning naming `file:line:column`. A reload that would yield no rules at all keeps the previous
/// load whole. A deleted file's rules are gone: deleting is a decision, a parse error is an accident.
public struct ProfileLoader: Sendable {
    /// How deep subdirectories are followed (a guard against symlink loops).
    public static let maximumDirectoryDepth = 8

    /// Bounds for each file.
    public var limits: XMLLimits
    private let logger: Logger

    /// A loader that logs to `logger`.
    public init(limits: XMLLimits = XMLLimits(), logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    /// One step of a load, in application order.
    private enum Entry {
        /// A `.fdi` file to parse.
        case file(String)
        /// A path (a directory, or an entry of one) that could not be inspected or listed.
        case unreadable(String, ProfileError)
    }

    /// What a directory of the search path turned out to be, for the warning about an empty profile set.
    private enum DirectoryState {
        case missing, notADirectory, unreadable, files(Int)
    }

    /// Loads every `.fdi` file under `directories`, in order; a directory that does not exist is skipped quietly.
    ///
    /// With `previous` (the last load of the same directories, at a reload), a file that fails keeps the rules
    /// it had there, and a load that yields no rules keeps `previous` whole; both are logged as warnings. A load
    /// that yields no rules and has nothing to fall back to is a warning naming every directory read.
    public func load(directories: [String], previous: ProfileLoad? = nil) -> ProfileLoad {
        var entries: [Entry] = []
        var states: [DirectoryState] = []
        for directory in directories {
            let before = entries.count
            states.append(collect(directory, depth: 0, into: &entries))
            if case .files = states[states.count - 1] {
                let found = entries[before...].reduce(0) { count, entry in
                    if case .file = entry { count + 1 } else { count }
                }
                states[states.count - 1] = .files(found)
            }
        }
        var result = load(entries, previous: previous)
        let read = zip(directories, states).map { directory, state in
            switch state {
            case .missing: "\(directory) (missing)"
            case .notADirectory: "\(directory) (not a directory)"
            case .unreadable: "\(directory) (unreadable)"
            case .files(let count): "\(directory) (\(count) \(count == 1 ? "file" : "files"))"
            }
        }.joined(separator: ", ")
        if result.profiles.rules.isEmpty {
            if let previous, !previous.profiles.rules.isEmpty {
                logger.warning(
                    "The profiles yield no rules; keeping the previous \(previous.profiles.rules.count) rules",
                    metadata: ["directories": "\(read)", "skipped": "\(result.errors.count)"])
                result = ProfileLoad(
                    profiles: previous.profiles, errors: result.errors, files: previous.files,
                    kept: previous.files.map(\.path), keptPrevious: true)
            } else {
                logger.warning(
                    "No profile rules: no device will be recognised as a sync device",
                    metadata: ["directories": "\(read)", "skipped": "\(result.errors.count)"])
            }
        }
        logger.info(
            "loaded profiles",
            metadata: [
                "rules": "\(result.profiles.rules.count)", "files": "\(result.profiles.files.count)",
                "skipped": "\(result.errors.count)", "kept": "\(result.kept.count)",
                "directories": "\(directories.joined(separator: ":"))",
            ])
        return result
    }

    private func load(_ entries: [Entry], previous: ProfileLoad?) -> ProfileLoad {
        var profiles = ProfileSet()
        var files: [ProfileFile] = []
        var errors: [ProfileError] = []
        var kept: [String] = []
        let earlier = previous?.files ?? []
        // Falls back to what `path` (a file, or a directory and everything under it) contributed last time.
        func keep(_ path: String, after error: ProfileError) -> Bool {
            let prefix = path.hasSuffix("/") ? path : path + "/"
            let last = earlier.filter { $0.path == path || $0.path.hasPrefix(prefix) }
            guard !last.isEmpty else { return false }
            for file in last {
                profiles.append(file)
                files.append(file)
            }
            kept.append(path)
            logger.warning(
                "Profile no longer loads; keeping its last good rules: \(error)",
                metadata: ["rules": "\(last.reduce(0) { $0 + $1.rules.count })"])
            return true
        }
        for entry in entries {
            switch entry {
            case .file(let path):
                do throws(ProfileError) {
                    let file = try parse(path, firstConditionID: profiles.conditionCount)
                    profiles.append(file)
                    files.append(file)
                    logger.debug("loaded profile", metadata: ["file": "\(path)", "rules": "\(file.rules.count)"])
                } catch {
                    errors.append(error)
                    if !keep(path, after: error) { logger.warning("skipped profile: \(error)") }
                }
            case .unreadable(let path, let error):
                errors.append(error)
                if !keep(path, after: error) { logger.warning("skipped profiles: \(error)") }
            }
        }
        return ProfileLoad(profiles: profiles, errors: errors, files: files, kept: kept)
    }

    /// Parses `files` in the order given.
    public func load(files: [String]) -> ProfileLoad {
        load(files.map(Entry.file), previous: nil)
    }

    /// Reads and parses one file, numbering its conditions from `firstConditionID`.
    public func parse(_ path: String, firstConditionID: Int = 0) throws(ProfileError) -> ProfileFile {
        let bytes: [UInt8]
        do {
            bytes = try ProfileFileSystem.contents(of: path, limit: limits.maximumDocumentBytes)
        } catch {
            throw ProfileError(.unreadable, at: SourceLocation(file: path, line: 0, column: 0), error.message)
        }
        return try FDIParser.parse(bytes, path: path, limits: limits, firstConditionID: firstConditionID)
    }

    /// The `.fdi` files under `directory`, in application order.
    public func files(in directory: String) -> (files: [String], errors: [ProfileError]) {
        var entries: [Entry] = []
        _ = collect(directory, depth: 0, into: &entries)
        var files: [String] = []
        var errors: [ProfileError] = []
        for entry in entries {
            switch entry {
            case .file(let path): files.append(path)
            case .unreadable(_, let error): errors.append(error)
            }
        }
        return (files, errors)
    }

    @discardableResult
    private func collect(_ directory: String, depth: Int, into entries: inout [Entry]) -> DirectoryState {
        let names: [String]
        do {
            switch try ProfileFileSystem.kind(of: directory) {
            case .directory?: break
            case nil:
                logger.debug("no profile directory", metadata: ["directory": "\(directory)"])
                return .missing
            case .regularFile?, .other?:
                logger.debug("not a profile directory", metadata: ["directory": "\(directory)"])
                return .notADirectory
            }
            names = try ProfileFileSystem.names(in: directory)
        } catch {
            let failure = ProfileError(.unreadable, at: SourceLocation(file: directory, line: 0, column: 0), error.message)
            entries.append(.unreadable(directory, failure))
            return .unreadable
        }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where !name.hasPrefix(".") {
            let path = base + name
            let kind: ProfileFileSystem.Kind?
            do {
                kind = try ProfileFileSystem.kind(of: path)
            } catch {
                entries.append(.unreadable(
                    path, ProfileError(.unreadable, at: SourceLocation(file: path, line: 0, column: 0), error.message)))
                continue
            }
            switch kind {
            case .regularFile? where name.hasSuffix(".fdi") && name.utf8.count > 4:
                entries.append(.file(path))
            case .directory? where depth < Self.maximumDirectoryDepth:
                collect(path, depth: depth + 1, into: &entries)
            default:
                continue
            }
        }
        return .files(0)
    }
}
