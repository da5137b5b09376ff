// SPDX-License-Identifier: Apache-2.0
import DBus

/// A marshalled message, as any local user can send one to devsyncd or a client over the system bus: what libdbus
/// accepts must be read the same by the Swift reader as by libdbus's iterator, and what was read must be written
/// back by the Swift writer into a message libdbus accepts and that reads the same again.
enum DBusFuzzing {
    static func run(_ bytes: [UInt8]) -> String? {
        guard let decoded = DBusWireForm.decode(marshalled: bytes) else { return nil }
        let arguments = decoded.message.arguments
        if let swift = decoded.swiftArguments, !same(swift, decoded.iteratorArguments) {
            return "the Swift reader read \(swift), libdbus's iterator \(decoded.iteratorArguments)"
        }
        // Descriptors are never pre-marshalled in Swift; the iterator path owns them.
        guard !arguments.contains(where: containsDescriptor) else { return nil }
        guard arguments.count == decoded.iteratorArguments.count else {
            return "the message has \(arguments.count) arguments, the iterator read \(decoded.iteratorArguments.count)"
        }
        guard let reloaded = DBusWireForm.reloaded(arguments) else {
            return "the Swift writer could not send back the received \(arguments)"
        }
        if !same(reloaded, arguments) { return "\(arguments) came back as \(reloaded)" }
        return nil
    }

    /// Equal values, doubles compared by bit pattern (a NaN is not equal to itself, and may be a dictionary key).
    static func same(_ lhs: [DBusValue], _ rhs: [DBusValue]) -> Bool {
        lhs == rhs || (lhs.count == rhs.count && zip(lhs, rhs).allSatisfy(equivalent))
    }

    static func equivalent(_ lhs: DBusValue, _ rhs: DBusValue) -> Bool {
        switch (lhs, rhs) {
        case (.double(let left), .double(let right)): return left.bitPattern == right.bitPattern
        case (.variant(let left), .variant(let right)): return equivalent(left, right)
        case (.structure(let left), .structure(let right)): return same(left, right)
        case (.array(let leftType, let left), .array(let rightType, let right)):
            return leftType == rightType && same(left, right)
        case (.dictionary(let leftKey, let leftValue, let left), .dictionary(let rightKey, let rightValue, let right)):
            guard leftKey == rightKey, leftValue == rightValue, left.count == right.count else { return false }
            return left.allSatisfy { key, value in
                if let match = right[key] { return equivalent(value, match) }
                return right.contains { equivalent(key, $0.key) && equivalent(value, $0.value) }
            }
        default: return lhs == rhs
        }
    }

    static func containsDescriptor(_ value: DBusValue) -> Bool {
        switch value {
        case .unixFD: true
        case .variant(let inner): containsDescriptor(inner)
        case .array(let type, let items): type.signature.contains("h") || items.contains(where: containsDescriptor)
        case .dictionary(let key, let value, let entries):
            key.signature.contains("h") || value.signature.contains("h")
                || entries.contains { containsDescriptor($0.key) || containsDescriptor($0.value) }
        case .structure(let fields): fields.contains(where: containsDescriptor)
        default: false
        }
    }
}
