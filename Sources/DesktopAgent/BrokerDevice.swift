// SPDX-License-Identifier: Apache-2.0
import DBus

/// A device as the agent follows it: the `org.devsync.Broker1.Device` properties it shows or decides on.
public struct BrokerDevice: Sendable, Equatable {
    /// One entry of the `Actions` property.
    public struct Action: Sendable, Equatable {
        public var id: String
        public var label: String
        public var available: Bool

        public init(id: String, label: String, available: Bool) {
            self.id = id
            self.label = label
            self.available = available
        }
    }

    public var path: DBusObjectPath
    public var uid = ""
    public var vendor = ""
    public var model = ""
    public var kind = ""
    public var plugin = ""
    public var dataTypes: [String] = []
    public var owner = ""
    public var suggestedOwner = ""
    public var status = ""
    public var present = false
    public var actions: [Action] = []

    public init(path: DBusObjectPath, properties: [String: DBusValue] = [:]) {
        self.path = path
        apply(properties)
    }

    /// Takes the properties a GetAll, an InterfacesAdded or a PropertiesChanged carried; others are left alone.
    public mutating func apply(_ properties: [String: DBusValue]) {
        for (name, value) in properties {
            switch name {
            case "Uid": uid = value.string ?? uid
            case "Vendor": vendor = value.string ?? vendor
            case "Model": model = value.string ?? model
            case "Kind": kind = value.string ?? kind
            case "Plugin": plugin = value.string ?? plugin
            case "DataTypes": dataTypes = value.arrayElements?.compactMap(\.string) ?? dataTypes
            case "Owner": owner = value.string ?? owner
            case "SuggestedOwner": suggestedOwner = value.string ?? suggestedOwner
            case "Status": status = value.string ?? status
            case "Present": present = value.bool ?? present
            case "Actions":
                actions = (value.arrayElements ?? []).compactMap { element in
                    guard let fields = element.structureFields, fields.count == 4, let id = fields[0].string else {
                        return nil
                    }
                    return Action(id: id, label: fields[1].string ?? id, available: fields[3].bool ?? false)
                }
            default: continue
            }
        }
    }

    /// Vendor and model for people: "Palm Tungsten T"; "Nokia 6021" rather than "Nokia Nokia 6021"; the uid when
    /// the broker knows neither.
    public var name: String {
        if !vendor.isEmpty, model.lowercased().hasPrefix(vendor.lowercased()) { return model }
        let joined = [vendor, model].filter { !$0.isEmpty }.joined(separator: " ")
        return joined.isEmpty ? uid : joined
    }

    /// The actions an engine of the owner can run now.
    public var availableActions: [Action] { actions.filter(\.available) }

    /// An icon name of the freedesktop naming specification for the device's kind.
    public var iconName: String {
        switch kind {
        case "phone": "phone"
        case "pda": "pda"
        case "media-player": "multimedia-player"
        case "camera": "camera-photo"
        case "tablet": "input-tablet"
        default: "drive-removable-media"
        }
    }
}
