// SPDX-License-Identifier: Apache-2.0
/// Reads SyncEvolution's command-line output as it comes: progress from its per-datastore `[INFO]` lines, error
/// sentences from its `[ERROR]` lines and its closing "First ERROR encountered:".
///
/// SyncEvolution prints, for each datastore, `starting …`, `started`, `sent N/M` or `received N[/M]` as items
/// move, and `… done successfully` (or `unsuccessfully`). Each datastore is one equal share of the whole; within
/// it, starting counts 5 %, items move it to 90 %, done to 100 %. Lines from the local sync's target side
/// (`[INFO @context]`) are the phone's, not ours, and move nothing. Progress never goes back.
struct OutputParser {
    /// The datastores being synced, and the data type names they stand for in messages.
    let datastores: [String: String]
    private var shares: [String: Double] = [:]
    private(set) var progress = 0.0
    /// Every `[ERROR]` sentence, in order, without its prefix.
    private(set) var errors: [String] = []
    /// SyncEvolution's own summary of the first error, from its report.
    private(set) var firstError: String?
    /// The session log it names on failure.
    private(set) var logFile: String?

    init(datastores: [String: String]) {
        self.datastores = datastores
    }

    /// Takes one line; returns a new (progress, message) when the line moved the progress.
    mutating func take(_ line: String) -> (Double, String)? {
        if line.hasPrefix("[ERROR") {
            if let close = line.firstIndex(of: "]") {
                let sentence = line[line.index(after: close)...].trimmingCharacters(in: " ")
                if !sentence.isEmpty { errors.append(sentence) }
            }
            return nil
        }
        if line.hasPrefix("First ERROR encountered:") {
            firstError = line.dropFirst("First ERROR encountered:".count).trimmingCharacters(in: " ")
            return nil
        }
        let failed = "Synchronization failed, see "
        if line.hasPrefix(failed) {
            var path = line.dropFirst(failed.count)
            for suffix in [" for details.", " for details"] where path.hasSuffix(suffix) {
                path = path.dropLast(suffix.count)
                break
            }
            logFile = String(path)
            return nil
        }
        guard line.hasPrefix("[INFO] ") else { return nil }
        var text = line.dropFirst("[INFO] ".count)
        // "@devsync/addressbook: …" for a local sync, "addressbook: …" for a phone.
        if text.hasPrefix("@"), let slash = text.firstIndex(of: "/") { text = text[text.index(after: slash)...] }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let datastore = String(text[..<colon])
        guard let label = datastores[datastore] else { return nil }
        let event = text[text.index(after: colon)...].trimmingCharacters(in: " ")
        let before = shares[datastore] ?? 0
        var share = before
        if event.hasPrefix("starting") {
            share = max(share, 0.05)
        } else if event.hasPrefix("started") {
            share = max(share, 0.1)
        } else if event.hasPrefix("sent ") || event.hasPrefix("received ") {
            let count = event.split(separator: " ").last.map(String.init) ?? ""
            let numbers = count.split(separator: "/").compactMap { Double($0) }
            if numbers.count == 2, numbers[1] > 0 {
                share = max(share, 0.1 + 0.8 * min(numbers[0] / numbers[1], 1))
            } else {
                share = max(share, 0.1)
            }
        } else if event.contains(" done ") || event.hasSuffix(" done") {
            share = 1
        } else {
            return nil
        }
        shares[datastore] = share
        let total = shares.values.reduce(0, +) / Double(max(datastores.count, 1))
        guard total >= progress else { return nil }
        progress = total
        return (total, "\(label): \(event)")
    }

    /// The sentence that best says what went wrong: SyncEvolution's "first error", else its first `[ERROR]` line.
    var sentence: String? {
        if let firstError, !firstError.isEmpty, !Self.isBareStatus(firstError) { return firstError }
        return errors.first { !Self.isBareStatus($0) } ?? firstError ?? errors.first
    }

    /// "local, status 20048" and the like say nothing a user can act on.
    static func isBareStatus(_ sentence: String) -> Bool {
        sentence.hasPrefix("local, status") || sentence.hasSuffix(": local, status 20048")
    }

    /// Whether SyncEvolution refused a two-way sync because the pair's change tracking is gone.
    var refusedUnexpectedSlowSync: Bool {
        (errors + [firstError ?? ""]).contains { $0.contains("unexpected slow sync") || $0.contains("status 22000") }
    }

    /// Whether the phone could not be reached at all (the transport never came up).
    var transportFailed: Bool {
        (errors + [firstError ?? ""]).contains {
            $0.contains("ObexTransport") || $0.contains("sdp connect failed") || $0.contains("Bluetooth") && $0.contains("failed")
        }
    }
}
