@_exported import CUmockdev
import Foundation

/// Adds a device to `testbed` (umockdev_testbed_add_devicev) and returns its sysfs path.
public func addDevice(
    _ testbed: UnsafeMutablePointer<UMockdevTestbed>, _ subsystem: String, _ name: String, _ parent: String?,
    _ attributes: [(String, String)], _ properties: [(String, String)]
) -> String {
    var attributeList = attributes.flatMap { [strdup($0.0), strdup($0.1)] } + [nil]
    var propertyList = properties.flatMap { [strdup($0.0), strdup($0.1)] } + [nil]
    defer { (attributeList + propertyList).forEach { free($0) } }
    let path = attributeList.withUnsafeMutableBufferPointer { attributes in
        propertyList.withUnsafeMutableBufferPointer { properties in
            umockdev_testbed_add_devicev(testbed, subsystem, name, parent, attributes.baseAddress, properties.baseAddress)
        }
    }
    defer { g_free(path) }
    return String(cString: path!)
}
