// SPDX-License-Identifier: Apache-2.0
/// Builds introspection XML from interface declarations.
enum Introspection {
    static let peer = "org.freedesktop.DBus.Peer"
    static let introspectable = "org.freedesktop.DBus.Introspectable"
    static let properties = "org.freedesktop.DBus.Properties"
    static let objectManager = "org.freedesktop.DBus.ObjectManager"
    static let emitsChangedSignalAnnotation = "org.freedesktop.DBus.Property.EmitsChangedSignal"

    static let doctype = """
        <!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">

        """

    /// Escapes text for an XML attribute value.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in Marshalling.sanitized(text).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func arg(_ argument: DBusArgument, direction: String?) -> String {
        var line = "      <arg name=\"\(escape(argument.name))\" type=\"\(escape(argument.type.signature))\""
        if let direction { line += " direction=\"\(direction)\"" }
        return line + "/>\n"
    }

    static func xml(for interface: DBusInterface) -> String {
        var out = "  <interface name=\"\(escape(interface.name))\">\n"
        for method in interface.methods {
            out += "    <method name=\"\(escape(method.name))\">\n"
            for input in method.inputs { out += arg(input, direction: "in") }
            for output in method.outputs { out += arg(output, direction: "out") }
            out += "    </method>\n"
        }
        for property in interface.properties {
            out += "    <property name=\"\(escape(property.name))\" type=\"\(escape(property.type.signature))\""
            out += " access=\"\(property.access.rawValue)\""
            if let emits = property.emitsChangedSignal {
                out += ">\n      <annotation name=\"\(emitsChangedSignalAnnotation)\" value=\"\(emits.rawValue)\"/>\n"
                out += "    </property>\n"
            } else {
                out += "/>\n"
            }
        }
        for signal in interface.signals {
            out += "    <signal name=\"\(escape(signal.name))\">\n"
            for argument in signal.arguments { out += arg(argument, direction: nil) }
            out += "    </signal>\n"
        }
        return out + "  </interface>\n"
    }

    static let standardInterfaces: [DBusInterface] = [
        DBusInterface(
            peer,
            methods: [
                DBusMethod("Ping") { _ in [] },
                DBusMethod("GetMachineId", outputs: [DBusArgument("machine_uuid", .string)]) { _ in [] },
            ]),
        DBusInterface(
            introspectable,
            methods: [DBusMethod("Introspect", outputs: [DBusArgument("xml_data", .string)]) { _ in [] }]),
    ]

    static let propertiesInterface = DBusInterface(
        properties,
        methods: [
            DBusMethod(
                "Get", inputs: [DBusArgument("interface_name", .string), DBusArgument("property_name", .string)],
                outputs: [DBusArgument("value", .variant)]) { _ in [] },
            DBusMethod(
                "GetAll", inputs: [DBusArgument("interface_name", .string)],
                outputs: [DBusArgument("properties", .dictionary(key: .string, value: .variant))]) { _ in [] },
            DBusMethod(
                "Set",
                inputs: [
                    DBusArgument("interface_name", .string), DBusArgument("property_name", .string),
                    DBusArgument("value", .variant),
                ]) { _ in [] },
        ],
        signals: [
            DBusSignalDeclaration(
                "PropertiesChanged",
                arguments: [
                    DBusArgument("interface_name", .string),
                    DBusArgument("changed_properties", .dictionary(key: .string, value: .variant)),
                    DBusArgument("invalidated_properties", .array(.string)),
                ])
        ])

    static let objectManagerInterface = DBusInterface(
        objectManager,
        methods: [
            DBusMethod(
                "GetManagedObjects",
                outputs: [
                    DBusArgument(
                        "object_paths_interfaces_and_properties",
                        .dictionary(key: .objectPath, value: .dictionary(key: .string, value: .dictionary(key: .string, value: .variant))))
                ]) { _ in [] }
        ],
        signals: [
            DBusSignalDeclaration(
                "InterfacesAdded",
                arguments: [
                    DBusArgument("object_path", .objectPath),
                    DBusArgument("interfaces_and_properties", .dictionary(key: .string, value: .dictionary(key: .string, value: .variant))),
                ]),
            DBusSignalDeclaration(
                "InterfacesRemoved",
                arguments: [DBusArgument("object_path", .objectPath), DBusArgument("interfaces", .array(.string))]),
        ])

    /// The document for one node: its interfaces (standard ones first) and its direct children.
    static func document(interfaces: [DBusInterface]?, isManager: Bool, children: [String]) -> String {
        var out = doctype + "<node>\n"
        for interface in standardInterfaces { out += xml(for: interface) }
        if let interfaces {
            out += xml(for: propertiesInterface)
            if isManager { out += xml(for: objectManagerInterface) }
            for interface in interfaces { out += xml(for: interface) }
        } else if isManager {
            out += xml(for: objectManagerInterface)
        }
        for child in children { out += "  <node name=\"\(escape(child))\"/>\n" }
        return out + "</node>\n"
    }
}
