// SPDX-License-Identifier: Apache-2.0
/// The rules a device's owner (a user name) follows, wherever it comes from: an `Approve` call, the owner
/// callout, or a device file read back at start. One check serves all of them, so that the state directory
/// can never hold an owner the registry would refuse to set.
public enum OwnerName {
    /// The longest owner name, in UTF-8 bytes: Linux's `LOGIN_NAME_MAX` (256, with its NUL).
    public static let maximumBytes = 255

    /// Why `name` cannot be an owner, as a phrase, or nil if it can.
    ///
    /// Relaxed as systemd's check of user names is (sssd and LDAP names such as `DOMAIN\user` or
    /// `user@example.org` pass), but never empty, never longer than ``maximumBytes``, and without what would
    /// break the places an owner is shown or used: control or format characters (a newline splits
    /// `devsyncctl list`'s line), white space (splits its columns), `:` and `/` (passwd fields, paths), a
    /// leading `-` (an option to the tools an owner is passed to), `.` and `..`.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > maximumBytes { return "is longer than \(maximumBytes) bytes" }
        if !DeviceText.isClean(name) { return "contains control or format characters" }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace }) { return "contains white space" }
        if name.contains(":") || name.contains("/") { return "contains : or /" }
        if name.hasPrefix("-") { return "starts with -" }
        if name == "." || name == ".." { return "is . or .." }
        return nil
    }
}
