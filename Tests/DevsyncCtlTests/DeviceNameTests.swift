// SPDX-License-Identifier: Apache-2.0
import DBus
import Testing
@testable import devsyncctl

@Suite("How devsyncctl names a device")
struct DeviceNameTests {
    private func device(vendor: String, model: String) throws -> Device {
        Device(path: try DBusObjectPath("/org/devsync/Broker1/devices/x"),
               properties: ["Vendor": .string(vendor), "Model": .string(model)])
    }

    @Test("vendor and model are joined, and a model that already names its vendor is not prefixed twice")
    func names() throws {
        #expect(try device(vendor: "Palm", model: "Tungsten T").name == "Palm Tungsten T")
        #expect(try device(vendor: "Nokia", model: "Nokia 6021").name == "Nokia 6021")
        #expect(try device(vendor: "NOKIA", model: "nokia 6021").name == "nokia 6021")
        #expect(try device(vendor: "", model: "Player").name == "Player")
        #expect(try device(vendor: "Apple", model: "").name == "Apple")
    }
}
