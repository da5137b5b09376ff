// SPDX-License-Identifier: Apache-2.0
/// The name of a device's SyncEvolution configuration, built so that no vendor or model string can leave the
/// configuration directory, reach SyncEvolution as an option or a property, or collide with another device's.
///
/// The name is lower-case ASCII letters, digits and single `-`: the vendor and model, slugged and cut short, then
/// the validated address (or the local context), which alone makes it unique. SyncEvolution lower-cases names
/// itself; a slug keeps what a user sees in `syncevolution --print-configs` and on disk the same.
enum ConfigName {
    /// The context every devsync configuration lives in; its datastores are the local data all phones sync with.
    static let context = "devsync"
    /// The longest slug taken from the vendor and from the model.
    static let partLimit = 24

    /// `nokia-e61i-00-11-22-33-44-55`, `acme-phone-local-phone`.
    static func peer(for device: SyncEvolutionDevice) -> String {
        let place: String
        switch device.peer {
        case .bluetooth(let address, _): place = address
        case .localContext(let context): place = "local-\(context)"
        }
        let parts = [slug(device.vendor, limit: partLimit), slug(device.model, limit: partLimit), slug(place, limit: 80)]
        let name = parts.filter { !$0.isEmpty }.joined(separator: "-")
        return name.isEmpty ? "phone" : name
    }

    /// `text` lower-cased, every run of characters other than ASCII letters and digits one `-`, no `-` at either
    /// end, at most `limit` characters.
    static func slug(_ text: String, limit: Int) -> String {
        var result = ""
        var pendingDash = false
        for scalar in text.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash, !result.isEmpty { result += "-" }
                pendingDash = false
                result.unicodeScalars.append(scalar)
                if result.count >= limit { break }
            } else {
                pendingDash = true
            }
        }
        while result.hasSuffix("-") { result.removeLast() }
        return result
    }

    /// `text` with control characters (newlines, escapes) as spaces and runs of spaces as one, trimmed: safe in
    /// a sentence or a single command-line argument.
    static func printable(_ text: String) -> String {
        var result = ""
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar == " " || scalar.properties.isWhitespace {
                pendingSpace = true
                continue
            }
            if pendingSpace, !result.isEmpty { result += " " }
            pendingSpace = false
            result.unicodeScalars.append(scalar)
        }
        return String(result.prefix(200))
    }
}
