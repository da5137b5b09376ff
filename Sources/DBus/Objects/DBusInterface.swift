// SPDX-License-Identifier: Apache-2.0
/// A named, typed argument of a method or signal, as introspection shows it.
public struct DBusArgument: Sendable, Hashable {
    /// The argument name shown in introspection.
    public var name: String
    /// The argument's single complete type.
    public var type: DBusType

    /// Declares an argument.
    public init(_ name: String, _ type: DBusType) {
        self.name = name
        self.type = type
    }
}

/// An incoming method call, handed to a method handler.
public struct DBusMethodCall: Sendable {
    /// The whole message, header fields included.
    public let message: DBusMessage
    /// The connection the call arrived on, for signals and credential look-ups.
    public let connection: DBusConnection

    /// The caller's unique bus name (`:1.42`).
    public var sender: String { message.sender ?? "" }
    /// The object the call is addressed to.
    public var path: DBusObjectPath { message.path ?? .root }
    /// The interface named in the call; empty if the caller named none.
    public var interface: String { message.interface ?? "" }
    /// The method name.
    public var member: String { message.member ?? "" }
    /// The call's arguments, already checked against the declared input signature.
    public var arguments: [DBusValue] { message.arguments }

    /// The uid and pid of the caller, asked of the bus once per caller and cached until it disconnects.
    public func callerCredentials() async throws -> DBusCredentials {
        try await connection.credentials(of: sender)
    }
}

/// A method an exported interface offers: its signature and its handler.
public struct DBusMethod: Sendable {
    /// Handles a call; returns the output values or throws a ``DBusError`` that becomes the error reply.
    public typealias Handler = @Sendable (DBusMethodCall) async throws -> [DBusValue]

    /// The method name.
    public var name: String
    /// The input arguments; an incoming call must match their signature exactly.
    public var inputs: [DBusArgument]
    /// The output arguments; the handler's values must match their signature.
    public var outputs: [DBusArgument]
    /// The code that answers the call.
    public var handler: Handler

    /// Declares a method.
    public init(
        _ name: String, inputs: [DBusArgument] = [], outputs: [DBusArgument] = [],
        handler: @escaping Handler
    ) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.handler = handler
    }

    /// The signature calls must carry.
    public var inputSignature: String { inputs.map(\.type.signature).joined() }
    /// The signature replies carry.
    public var outputSignature: String { outputs.map(\.type.signature).joined() }
}

/// A property an exported interface offers through org.freedesktop.DBus.Properties.
public struct DBusProperty: Sendable {
    /// Whether the property can be read, written or both; introspection shows it.
    public enum Access: String, Sendable {
        /// Read-only.
        case read
        /// Write-only.
        case write
        /// Read and write.
        case readwrite
    }

    /// Reads the current value.
    public typealias Getter = @Sendable () async throws -> DBusValue
    /// Writes a new value (already checked against the declared type).
    public typealias Setter = @Sendable (DBusValue) async throws -> Void

    /// The property name.
    public var name: String
    /// The property's type.
    public var type: DBusType
    /// Who may read and write it.
    public var access: Access
    /// How to read it; nil for write-only properties.
    public var get: Getter?
    /// How to write it; nil for read-only properties.
    public var set: Setter?
    /// Runs before ``set`` with the `Properties.Set` call, to refuse a caller by throwing (a ``DBusError`` such
    /// as `org.freedesktop.DBus.Error.AccessDenied` reaches the caller as it is); nil lets every caller the bus
    /// delivers write.
    public var authorizeSet: (@Sendable (DBusMethodCall) async throws -> Void)?
    /// Whether and how the property's changes are signalled: the
    /// `org.freedesktop.DBus.Property.EmitsChangedSignal` annotation introspection shows, which
    /// ``DBusConnection/setProperties(_:interface:at:)`` follows. Nil shows no annotation (the specification's
    /// default, `true`).
    public var emitsChangedSignal: EmitsChangedSignal?

    /// The values of the `org.freedesktop.DBus.Property.EmitsChangedSignal` annotation.
    public enum EmitsChangedSignal: String, Sendable {
        /// PropertiesChanged carries the new value.
        case `true`
        /// PropertiesChanged names the property as invalidated, without its value.
        case invalidates
        /// The value never changes while the object exists.
        case const
        /// Changes are not signalled; read the property again to see them.
        case `false`
    }

    /// The value the connection keeps for a stored property; nil for one read through ``get``.
    ///
    /// A stored property is answered without running any code of the service, and objects whose properties
    /// are all stored have their `GetManagedObjects` entry marshalled once per change. Change the value with
    /// ``DBusConnection/setProperties(_:interface:at:)``, which also emits PropertiesChanged.
    public var value: DBusValue?

    /// Declares a read-only property.
    public init(_ name: String, type: DBusType, get: @escaping Getter) {
        self.name = name
        self.type = type
        self.access = .read
        self.get = get
        self.set = nil
    }

    /// Declares a read-only property whose value the connection stores, starting with `value`.
    public init(_ name: String, type: DBusType, value: DBusValue) {
        self.name = name
        self.type = type
        self.access = .read
        self.get = nil
        self.set = nil
        self.value = value
    }

    /// This property with its changes signalled as `emitsChangedSignal` says (shown in introspection).
    public func emitting(_ emitsChangedSignal: EmitsChangedSignal) -> DBusProperty {
        var property = self
        property.emitsChangedSignal = emitsChangedSignal
        return property
    }

    /// Declares a read-write property. A successful Set emits PropertiesChanged with the new value.
    public init(_ name: String, type: DBusType, get: @escaping Getter, set: @escaping Setter) {
        self.name = name
        self.type = type
        self.access = .readwrite
        self.get = get
        self.set = set
    }
}

/// A signal an exported interface declares (for introspection; emit it with ``DBusConnection/emit(_:)``).
public struct DBusSignalDeclaration: Sendable, Hashable {
    /// The signal name.
    public var name: String
    /// Its arguments.
    public var arguments: [DBusArgument]

    /// Declares a signal.
    public init(_ name: String, arguments: [DBusArgument] = []) {
        self.name = name
        self.arguments = arguments
    }
}

/// A D-Bus interface an exported object implements: methods, properties and signals.
public struct DBusInterface: Sendable {
    /// The interface name, such as `org.devsync.Broker1.Manager`.
    public var name: String
    /// The methods.
    public var methods: [DBusMethod]
    /// The properties.
    public var properties: [DBusProperty]
    /// The signals.
    public var signals: [DBusSignalDeclaration]

    /// Declares an interface.
    public init(
        _ name: String, methods: [DBusMethod] = [], properties: [DBusProperty] = [],
        signals: [DBusSignalDeclaration] = []
    ) {
        self.name = name
        self.methods = methods
        self.properties = properties
        self.signals = signals
    }

    /// Checks every name the declaration holds, so a bad one fails at export rather than aborting libdbus later.
    func validate() throws(DBusError) {
        try DBusNames.requireInterface(name)
        for method in methods { try DBusNames.requireMember(method.name) }
        for property in properties {
            try DBusNames.requireMember(property.name)
            if let value = property.value { try Self.check(value, for: property) }
        }
        for signal in signals { try DBusNames.requireMember(signal.name) }
    }

    /// Checks that `value` fits the declared type of `property`, containers included.
    static func check(_ value: DBusValue, for property: DBusProperty) throws(DBusError) {
        guard value.has(type: property.type) else {
            throw .invalidArgs("Property '\(property.name)' has type '\(property.type)', not '\(value.signature)'")
        }
        try value.validate()
    }

    /// Whether every readable property is stored, so that the interface's values need no getter to be read.
    var isStored: Bool { properties.allSatisfy { $0.get == nil } }
}

extension DBusType: ExpressibleByStringLiteral {
    /// A signature literal of one complete type, such as `"a{sv}"`; an invalid literal is a programming error.
    public init(stringLiteral value: String) {
        guard let types = DBusType.parse(value), types.count == 1 else {
            preconditionFailure("'\(value)' is not a single complete D-Bus type")
        }
        self = types[0]
    }

    /// Parses one single complete type, such as `a{sv}`.
    public init(signature: String) throws(DBusError) {
        let parsed = try DBusSignature(signature)
        guard parsed.types.count == 1 else {
            throw .invalidArgs("'\(signature)' is not a single complete D-Bus type")
        }
        self = parsed.types[0]
    }
}
