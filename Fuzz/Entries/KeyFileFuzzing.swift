// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// A device record in the state directory. Root-owned, but written by the daemon from device-supplied strings and
/// possibly damaged: whatever decodes must encode back to a file that decodes to the same record.
enum KeyFileFuzzing {
    static func run(_ bytes: [UInt8]) -> String? {
        guard case .success(let device) = DeviceKeyFile.decode(bytes) else { return nil }
        let encoded = DeviceKeyFile.encode(device)
        switch DeviceKeyFile.decode(Array(encoded.utf8)) {
        case .success(let again) where again == device:
            return nil
        case .success(let again):
            return "a record read back differs from the one written: \(again) instead of \(device)"
        case .failure(let failure):
            return "a record the store wrote does not read back (\(failure)):\n\(encoded)"
        }
    }
}
