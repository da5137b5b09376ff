// SPDX-License-Identifier: Apache-2.0
/// How a log line becomes a structured journal entry (`sd_journal_sendv`'s `FIELD=value` items), and whether
/// stderr is the journal. Pure, so that the encoding is tested without a journald; devsyncd's log handler does
/// the sending.
public enum JournalFields {
    /// The metadata key whose value becomes `MESSAGE_ID=` (``DeviceRegistry/LogMessageID``), not a `DEVSYNC_` field.
    public static let messageIDKey = "message-id"

    /// The fields of one entry, in a fixed order: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `MESSAGE_ID` (if
    /// any), one `DEVSYNC_<KEY>` per metadata entry (sorted by field name), then `CODE_FILE`, `CODE_LINE`,
    /// `CODE_FUNC`.
    ///
    /// `message` is the whole line as the console shows it (message and key=value pairs), so that `journalctl`'s
    /// default view reads as before; the fields are for filtering (`journalctl DEVSYNC_UID=usb-0830-…`). A
    /// metadata key that cannot be a field name (nothing left after mapping, or too long) is kept in the
    /// message only.
    public static func fields(
        priority: Int, message: String, metadata: [String: String], syslogIdentifier: String,
        file: String, line: UInt, function: String
    ) -> [String] {
        var fields = ["MESSAGE=\(message)", "PRIORITY=\(priority)", "SYSLOG_IDENTIFIER=\(syslogIdentifier)"]
        if let id = metadata[messageIDKey], isMessageID(id) { fields.append("MESSAGE_ID=\(id)") }
        var named: [(String, String)] = []
        for (key, value) in metadata where key != messageIDKey {
            guard let name = fieldName(forMetadataKey: key) else { continue }
            named.append((name, value))
        }
        for (name, value) in named.sorted(by: { $0.0 < $1.0 }) { fields.append("\(name)=\(value)") }
        fields.append("CODE_FILE=\(file)")
        fields.append("CODE_LINE=\(line)")
        fields.append("CODE_FUNC=\(function)")
        return fields
    }

    /// `DEVSYNC_` and the key in upper case, every character but a letter or a digit as `_` (`stable-id` →
    /// `DEVSYNC_STABLE_ID`); nil when the name would pass journald's 64-character limit. The prefix keeps
    /// devsync's fields apart from journald's trusted `_` fields and systemd's own.
    public static func fieldName(forMetadataKey key: String) -> String? {
        var name = "DEVSYNC_"
        for scalar in key.unicodeScalars {
            switch scalar {
            case "A"..."Z", "0"..."9": name.unicodeScalars.append(scalar)
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32)!)
            default: name.unicodeScalars.append("_")
            }
        }
        guard name.utf8.count > "DEVSYNC_".utf8.count, name.utf8.count <= 64 else { return nil }
        return name
    }

    /// Whether `id` is a 128-bit id as the journal writes them: 32 lower-case hex digits.
    public static func isMessageID(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Whether stderr is connected to the journal: systemd sets `JOURNAL_STREAM=<device>:<inode>` (decimal) for
    /// a service whose stderr is the journal, and a process should check that its stderr still is that stream
    /// (systemd.exec(5)), since the variable is inherited by whatever the service starts with other outputs.
    public static func isJournalStream(_ value: String?, device: UInt64, inode: UInt64) -> Bool {
        guard let value else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let streamDevice = UInt64(parts[0]), let streamInode = UInt64(parts[1]) else {
            return false
        }
        return streamDevice == device && streamInode == inode
    }
}
