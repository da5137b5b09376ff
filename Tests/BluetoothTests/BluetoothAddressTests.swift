// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import Bluetooth

@Suite("Bluetooth addresses")
struct BluetoothAddressTests {
    @Test("a well-formed address is kept and printed upper-case")
    func validAddress() throws {
        let address = try BluetoothAddress(parsing: "00:1A:7D:DA:71:13")
        #expect(address.description == "00:1A:7D:DA:71:13")
        #expect(address.bytes == [0x00, 0x1A, 0x7D, 0xDA, 0x71, 0x13])
        #expect(address.value == 0x001A_7DDA_7113)
    }

    @Test("lower-case input is normalised to upper case and equals its upper-case spelling")
    func lowercaseNormalised() throws {
        let lower = try BluetoothAddress(parsing: "a4:c1:38:0f:ee:9b")
        #expect(lower.description == "A4:C1:38:0F:EE:9B")
        #expect(lower == BluetoothAddress("A4:C1:38:0F:EE:9B"))
    }

    @Test(
        "malformed text is refused with an error naming it",
        arguments: [
            "", "00:1A:7D:DA:71", "00:1A:7D:DA:71:13:", "00-1A-7D-DA-71-13", "00:1A:7D:DA:71:1G", "001A7DDA7113",
            "00:1A:7D:DA:71:13\u{0}", "00:1A:7D:DA:71:13\u{0}junk", " 00:1A:7D:DA:71:13", "0:1A:7D:DA:71:13x",
            "００:1A:7D:DA:71:13",
        ]
    )
    func invalidAddresses(text: String) {
        #expect(!BluetoothAddress.isValid(text))
        #expect(BluetoothAddress(text) == nil)
        #expect(throws: BluetoothAddressError(text: text)) { try BluetoothAddress(parsing: text) }
    }

    @Test("the error message is safe to print even for hostile text")
    func errorMessageSanitized() {
        let error = BluetoothAddressError(text: "\u{1B}[2J" + String(repeating: "x", count: 1000))
        #expect(!error.description.contains("\u{1B}"))
        #expect(error.description.count < 200)
    }

    @Test("bytes round-trip through the C representation")
    func bytesRoundTrip() throws {
        let address = try #require(BluetoothAddress(bytes: [0xFF, 0x01, 0x02, 0x03, 0x04, 0xFE]))
        #expect(address.description == "FF:01:02:03:04:FE")
        #expect(try BluetoothAddress(parsing: address.description) == address)
        #expect(BluetoothAddress(bytes: [1, 2, 3]) == nil)
        #expect(BluetoothAddress.any.description == "00:00:00:00:00:00")
    }
}
