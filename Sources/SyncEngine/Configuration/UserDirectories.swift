// SPDX-License-Identifier: Apache-2.0

/// The user's directories as the XDG Base Directory and user-dirs specifications define them.
public struct UserDirectories: Sendable, Equatable {
    /// The home directory.
    public var home: String
    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    public var configHome: String
    /// `$XDG_STATE_HOME`, else `~/.local/state`.
    public var stateHome: String

    /// The directories of the user the process runs as, from the environment.
    public static func current() -> UserDirectories {
        let home = FileSystem.environment("HOME") ?? FileSystem.currentUser().home
        return UserDirectories(
            home: home,
            configHome: absolute(FileSystem.environment("XDG_CONFIG_HOME")) ?? "\(home)/.config",
            stateHome: absolute(FileSystem.environment("XDG_STATE_HOME")) ?? "\(home)/.local/state")
    }

    /// Builds a set of directories (tests name their own).
    public init(home: String, configHome: String, stateHome: String) {
        self.home = home
        self.configHome = configHome
        self.stateHome = stateHome
    }

    /// The specification ignores relative values.
    private static func absolute(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/") else { return nil }
        return path
    }

    /// The engine's configuration file: `$XDG_CONFIG_HOME/devsync/engine.conf`.
    public var configurationFile: String { "\(configHome)/devsync/engine.conf" }

    /// Where the engine keeps what it imported: `$XDG_STATE_HOME/devsync/imported`.
    public var ledgerDirectory: String { "\(stateHome)/devsync/imported" }

    /// The pictures directory: `XDG_PICTURES_DIR` from `user-dirs.dirs`, else `~/Pictures`.
    ///
    /// The file is shell syntax limited to `XDG_NAME_DIR="$HOME/…"` or `"/…"` lines (xdg-user-dirs); a value
    /// equal to the home directory means "disabled", and the default is used then, as xdg-user-dir does not.
    public func picturesDirectory() -> String {
        let file = "\(configHome)/user-dirs.dirs"
        if let text = try? FileSystem.readText(file) {
            for line in text.split(separator: "\n") {
                let trimmed = String(line).trimmingSpaces()
                guard trimmed.hasPrefix("XDG_PICTURES_DIR=") else { continue }
                var value = String(trimmed.dropFirst("XDG_PICTURES_DIR=".count))
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                    value = String(value.dropFirst().dropLast())
                }
                if value.hasPrefix("$HOME") {
                    value = home + value.dropFirst("$HOME".count)
                }
                while value.count > 1, value.hasSuffix("/") { value.removeLast() }
                if value.hasPrefix("/"), value != home { return value }
            }
        }
        return "\(home)/Pictures"
    }

    /// `path` with a leading `~` or `~/` made the home directory.
    public func expandingTilde(_ path: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }
}
