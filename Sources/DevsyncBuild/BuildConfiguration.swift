// SPDX-License-Identifier: Apache-2.0
import CInstallPaths

/// What this build of devsync is: its version, and the directories it was configured to be installed in.
///
/// The directories are set once, by the Makefile (`PROFILEDIR` and `CONFIGDIR`, which follow `PREFIX`,
/// `DATADIR` and `SYSCONFDIR`), compiled into `Sources/CInstallPaths`; a plain `swift build` gets those of the
/// default `PREFIX=/usr/local`. The daemon's defaults and `devsyncctl profiles` read them here, so an installed
/// daemon finds the profiles `make install` put, whatever the prefix.
public enum BuildConfiguration {
    /// devsync's version, shown by `--version`, the daemon's start-up line and the Manager's `DaemonVersion`.
    /// The one place it is written; NEWS names the same number.
    public static let version = "0.2.0"

    /// Where the packaged profiles are (`$(PROFILEDIR)`).
    public static let packagedProfileDirectory = String(cString: devsync_install_profiledir())
    /// devsync's configuration directory (`$(CONFIGDIR)`): `devsyncd.conf` and the administrator's profiles.
    public static let configurationDirectory = String(cString: devsync_install_configdir())

    /// Where profiles are read by default: the packaged ones, then the administrator's, which apply later and win.
    public static var profileDirectories: [String] {
        [packagedProfileDirectory, "\(configurationDirectory)/fdi-profiles"]
    }
    /// The daemon's configuration file.
    public static var configurationFile: String { "\(configurationDirectory)/devsyncd.conf" }
    /// The daemon's state directory. Not derived from a prefix: the unit's `StateDirectory=devsync` is
    /// `/var/lib/devsync` whatever the prefix, and `ProtectSystem=strict` leaves nothing else writable.
    public static let stateDirectory = "/var/lib/devsync"
}
