import Logging

/// The result of loading profiles: the rules of every good file, and one error per file that was skipped.
public struct ProfileLoad: Sendable {
    /// The rules of the files that parsed, in application order.
    public var profiles: ProfileSet
    /// One error per skipped file (or unreadable directory), in load order.
    public var errors: [ProfileError]

    /// A load result.
    public init(profiles: ProfileSet, errors: [ProfileError]) {
        self.profiles = profiles
        self.errors = errors
    }
}

/// Finds and parses `.fdi` files.
///
/// Directories are applied in the order given, every file of the first before any of the second, so that a
/// later directory's rules run later and win (`/etc` overrides `/usr/share`). Within a directory, names are
/// sorted bytewise and subdirectories are visited in place, as HAL did. A file that does not parse is skipped
/// whole; the others are kept.
public struct ProfileLoader: Sendable {
    /// Where packaged profiles live, then where the administrator's live.
    public static let installedDirectories = ["/usr/share/devsync/fdi-profiles", "/etc/devsync/fdi-profiles"]
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

    /// Loads every `.fdi` file under `directories`, in order; a directory that does not exist is skipped quietly.
    public func load(directories: [String]) -> ProfileLoad {
        var files: [String] = []
        var errors: [ProfileError] = []
        for directory in directories {
            collect(directory, depth: 0, into: &files, errors: &errors)
        }
        var result = load(files: files)
        result.errors = errors + result.errors
        logger.info(
            "loaded profiles",
            metadata: [
                "rules": "\(result.profiles.rules.count)", "files": "\(result.profiles.files.count)",
                "skipped": "\(result.errors.count)", "directories": "\(directories.joined(separator: ":"))",
            ])
        return result
    }

    /// Parses `files` in the order given.
    public func load(files: [String]) -> ProfileLoad {
        var profiles = ProfileSet()
        var errors: [ProfileError] = []
        for path in files {
            do throws(ProfileError) {
                let file = try parse(path, firstConditionID: profiles.conditionCount)
                profiles.append(file)
                logger.debug("loaded profile", metadata: ["file": "\(path)", "rules": "\(file.rules.count)"])
            } catch {
                logger.warning("skipped profile: \(error)")
                errors.append(error)
            }
        }
        return ProfileLoad(profiles: profiles, errors: errors)
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
        var files: [String] = []
        var errors: [ProfileError] = []
        collect(directory, depth: 0, into: &files, errors: &errors)
        return (files, errors)
    }

    private func collect(_ directory: String, depth: Int, into files: inout [String], errors: inout [ProfileError]) {
        let names: [String]
        do {
            guard try ProfileFileSystem.kind(of: directory) == .directory else {
                logger.debug("no profile directory", metadata: ["directory": "\(directory)"])
                return
            }
            names = try ProfileFileSystem.names(in: directory)
        } catch {
            errors.append(ProfileError(.unreadable, at: SourceLocation(file: directory, line: 0, column: 0), error.message))
            return
        }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where !name.hasPrefix(".") {
            let path = base + name
            let kind: ProfileFileSystem.Kind?
            do {
                kind = try ProfileFileSystem.kind(of: path)
            } catch {
                errors.append(ProfileError(.unreadable, at: SourceLocation(file: path, line: 0, column: 0), error.message))
                continue
            }
            switch kind {
            case .regularFile? where name.hasSuffix(".fdi") && name.utf8.count > 4:
                files.append(path)
            case .directory? where depth < Self.maximumDirectoryDepth:
                collect(path, depth: depth + 1, into: &files, errors: &errors)
            default:
                continue
            }
        }
    }
}
