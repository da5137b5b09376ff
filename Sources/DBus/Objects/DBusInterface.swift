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
    public var name: String {
        get { declaration.name }
        set { declare { $0.name = newValue } }
    }
    /// The property's type.
    public var type: DBusType {
        get { declaration.type }
        set { declare { $0.type = newValue } }
    }
    /// Who may read and write it.
    public var access: Access {
        get { declaration.access }
        set { declare { $0.access = newValue } }
    }
    /// How to read it; nil for write-only properties.
    public var get: Getter? {
        get { declaration.get }
        set { declare { $0.get = newValue } }
    }
    /// How to write it; nil for read-only properties.
    public var set: Setter? {
        get { declaration.set }
        set { declare { $0.set = newValue } }
    }
    /// Runs before ``set`` with the `Properties.Set` call, to refuse a caller by throwing (a ``DBusError`` such
    /// as `org.freedesktop.DBus.Error.AccessDenied` reaches the caller as it is); nil lets every caller the bus
    /// delivers write.
    public var authorizeSet: (@Sendable (DBusMethodCall) async throws -> Void)? {
        get { declaration.authorizeSet }
        set { declare { $0.authorizeSet = newValue } }
    }
    /// Whether and how the property's changes are signalled: the
    /// `org.freedesktop.DBus.Property.EmitsChangedSignal` annotation introspection shows, which
    /// ``DBusConnection/setProperties(_:interface:at:)`` follows. Nil shows no annotation (the specification's
    /// default, `true`).
    public var emitsChangedSignal: EmitsChangedSignal? {
        get { declaration.emitsChangedSignal }
        set { declare { $0.emitsChangedSignal = newValue } }
    }

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
    /// ``DBusConnection/setProperties(_:interface:at:)``, which also emits PropertiesChanged. Reading it from a
    /// property stored ``DBusStoredValue/deferred(_:)`` builds the value.
    public var value: DBusValue? {
        get { stored?.value }
        set { stored = newValue.map(DBusStoredValue.init) }
    }

    /// How the connection keeps a stored property's value; nil for one read through ``get``.
    public var stored: DBusStoredValue?

    /// Everything but the stored value, in one immutable box shared by copies: a service that exports many
    /// objects of one interface declares each property once and gives each object only its value
    /// (``storing(_:)``), 40 bytes a property instead of 120 (docs/benchmarks.md, "Memory per device").
    private var declaration: Declaration

    private final class Declaration: Sendable {
        let name: String
        let type: DBusType
        let access: Access
        let get: Getter?
        let set: Setter?
        let authorizeSet: (@Sendable (DBusMethodCall) async throws -> Void)?
        let emitsChangedSignal: EmitsChangedSignal?

        init(_ fields: Fields) {
            name = fields.name
            type = fields.type
            access = fields.access
            get = fields.get
            set = fields.set
            authorizeSet = fields.authorizeSet
            emitsChangedSignal = fields.emitsChangedSignal
        }

        var fields: Fields {
            Fields(
                name: name, type: type, access: access, get: get, set: set, authorizeSet: authorizeSet,
                emitsChangedSignal: emitsChangedSignal)
        }
    }

    private struct Fields {
        var name: String
        var type: DBusType
        var access: Access
        var get: Getter?
        var set: Setter?
        var authorizeSet: (@Sendable (DBusMethodCall) async throws -> Void)?
        var emitsChangedSignal: EmitsChangedSignal?
    }

    /// Changes the declaration (a new box: others may share the old one).
    private mutating func declare(_ change: (inout Fields) -> Void) {
        var fields = declaration.fields
        change(&fields)
        declaration = Declaration(fields)
    }

    private init(_ fields: Fields, stored: DBusStoredValue?) {
        declaration = Declaration(fields)
        self.stored = stored
    }

    /// Declares a read-only property.
    public init(_ name: String, type: DBusType, get: @escaping Getter) {
        self.init(Fields(name: name, type: type, access: .read, get: get), stored: nil)
    }

    /// Declares a read-only property whose value the connection stores, starting with `value`.
    public init(_ name: String, type: DBusType, value: DBusValue) {
        self.init(Fields(name: name, type: type, access: .read), stored: DBusStoredValue(value))
    }

    /// Declares a read-only property whose value the connection stores as `stored` says: a value, or a
    /// closure that builds it whenever it is read (``DBusStoredValue/deferred(_:)``).
    public init(_ name: String, type: DBusType, stored: DBusStoredValue) {
        self.init(Fields(name: name, type: type, access: .read), stored: stored)
    }

    /// This property with its changes signalled as `emitsChangedSignal` says (shown in introspection).
    public func emitting(_ emitsChangedSignal: EmitsChangedSignal) -> DBusProperty {
        var property = self
        property.emitsChangedSignal = emitsChangedSignal
        return property
    }

    /// This stored property holding `stored`, sharing the rest of its declaration with this one.
    public func storing(_ stored: DBusStoredValue) -> DBusProperty {
        var property = self
        property.stored = stored
        return property
    }

    /// Declares a read-write property. A successful Set emits PropertiesChanged with the new value.
    public init(_ name: String, type: DBusType, get: @escaping Getter, set: @escaping Setter) {
        self.init(Fields(name: name, type: type, access: .readwrite, get: get, set: set), stored: nil)
    }
}

/// A stored property's value as the connection keeps it: the value itself, or a closure that builds it each time
/// it is read.
///
/// A deferred value keeps memory small where a service already holds the data a value is made of: a device
/// broker's `a{sv}` of device properties costs about 5 KiB per object as a ``DBusValue`` (a dictionary of
/// variants), and nothing as a closure over the broker's own copy (docs/benchmarks.md, "Memory per device").
/// It is built on the connection's queue, for each Get, GetAll, GetManagedObjects entry, InterfacesAdded and
/// change check, so it must be quick and must not block; what it captures must not change (a new value is a new
/// closure, given to ``DBusConnection/setStoredProperties(_:interface:at:)``). It must build a value of the
/// property's declared type: export checks a stored value but does not build a deferred one, whose messages
/// libdbus validates as they are sent.
public struct DBusStoredValue: Sendable {
    private enum Storage: Sendable {
        case value(DBusValue)
        case deferred(@Sendable () -> DBusValue)
    }

    private let storage: Storage

    /// A value kept as it is.
    public init(_ value: DBusValue) {
        storage = .value(value)
    }

    /// A value that `build` makes each time it is read.
    public static func deferred(_ build: @escaping @Sendable () -> DBusValue) -> DBusStoredValue {
        DBusStoredValue(storage: .deferred(build))
    }

    private init(storage: Storage) {
        self.storage = storage
    }

    /// Whether the value is built when it is read (``deferred(_:)``).
    var isDeferred: Bool {
        if case .deferred = storage { return true }
        return false
    }

    /// The value, built now if it is deferred.
    public var value: DBusValue {
        switch storage {
        case .value(let value): value
        case .deferred(let build): build()
        }
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
            // A deferred value is built, and checked, where it is sent: Marshalling.append validates a reply's
            // values, and libdbus every message marshalled in Swift before it leaves (Marshalling.load). Built
            // here as well, a device's whole Properties a{sv} was made and walked once more before its export
            // could announce it (docs/benchmarks.md, issue 17).
            if let stored = property.stored, !stored.isDeferred { try Self.check(stored.value, for: property) }
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
