// SPDX-License-Identifier: Apache-2.0
/// A SyncML phone as SyncEvolution reaches it: who made it (to choose a template) and where it is.
public struct SyncEvolutionDevice: Sendable, Hashable {
    /// Where SyncEvolution finds the phone's SyncML agent.
    public enum Peer: Sendable, Hashable {
        /// OBEX over Bluetooth RFCOMM: `obex-bt://ADDRESS[+CHANNEL]`. Without a channel SyncEvolution asks the
        /// phone's SDP server; devsync's SDP lookup publishes it as `bluetooth.channel.syncml-client`.
        case bluetooth(address: String, channel: Int?)
        /// Another SyncEvolution context on this machine (`local://@context`), a phone's stand-in for tests.
        case localContext(String)
    }

    /// The vendor, as devsync's profile names it (`sync.vendor`): "Nokia".
    public var vendor: String
    /// The model (`sync.model`): "E61i".
    public var model: String
    /// Where the phone is.
    public var peer: Peer

    /// A phone at `address` (`00:11:22:AA:BB:CC`), with the RFCOMM channel of its SyncML client service if known.
    public init(vendor: String, model: String, bluetoothAddress address: String, channel: Int?) {
        self.init(vendor: vendor, model: model, peer: .bluetooth(address: address, channel: channel))
    }

    /// A device reached through `peer`.
    public init(vendor: String, model: String, peer: Peer) {
        self.vendor = vendor
        self.model = model
        self.peer = peer
    }

    /// "Nokia E61i", for sentences; control characters become spaces.
    public var displayName: String {
        let name = ConfigName.printable("\(vendor) \(model)")
        return name.isEmpty ? "the phone" : name
    }

    /// SyncEvolution's `syncURL`, from a validated address, channel or context.
    func syncURL() throws(SyncEvolutionError) -> String {
        switch peer {
        case .bluetooth(let address, let channel):
            guard Self.isBluetoothAddress(address) else {
                throw SyncEvolutionError(
                    .invalidDevice, "“\(ConfigName.printable(address))” is not a Bluetooth address (six hex pairs separated by colons).")
            }
            guard let channel else { return "obex-bt://\(address.uppercased())" }
            guard (1...30).contains(channel) else {
                throw SyncEvolutionError(.invalidDevice, "RFCOMM channel \(channel) of \(displayName) is out of range (1–30).")
            }
            return "obex-bt://\(address.uppercased())+\(channel)"
        case .localContext(let context):
            guard Self.isContextName(context) else {
                throw SyncEvolutionError(
                    .invalidDevice, "“\(ConfigName.printable(context))” is not a SyncEvolution context name (letters, digits, - and _).")
            }
            return "local://@\(context)"
        }
    }

    static func isBluetoothAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }

    static func isContextName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
    }
}
