// SPDX-License-Identifier: Apache-2.0
import CBluetooth

// The record edge of libbluetooth: `sdp_extract_pdu` turns validated bytes into its attribute tree, which is
// copied into ``SDPDataElement`` values at once and freed.

// MARK: Raw calls

enum RawRecordCalls {
    /// `sdp_extract_pdu`: parses one record from `bytes` (never NULL; a bad record comes back partial).
    static func extractPDU(_ bytes: UnsafePointer<UInt8>, _ count: Int32, _ scanned: UnsafeMutablePointer<Int32>)
        -> UnsafeMutablePointer<sdp_record_t>?
    {
        sdp_extract_pdu(bytes, count, scanned)
    }

    /// `sdp_record_free`: frees a record and its attribute tree.
    static func free(_ record: UnsafeMutablePointer<sdp_record_t>) {
        sdp_record_free(record)
    }

    /// `sdp_data_free`: frees one data element (and a sequence's children).
    static func free(_ data: UnsafeMutablePointer<sdp_data_t>) {
        sdp_data_free(data)
    }

    /// What bare `sdp_extract_pdu` makes of `bytes`: the length it claims to have scanned and how many
    /// attributes it kept. Lets the tests pin down libbluetooth's behaviour on hostile input.
    static func probe(_ bytes: [UInt8]) -> (scanned: Int, attributes: Int) {
        var scanned: Int32 = 0
        guard let record = bytes.withUnsafeBufferPointer({ extractPDU($0.baseAddress!, Int32($0.count), &scanned) })
        else { return (0, 0) }
        defer { CheckedRecordCalls.free(record) }
        var count = 0
        var node = record.pointee.attrlist
        while let current = node {
            count += 1
            node = current.pointee.next
        }
        return (Int(scanned), count)
    }
}

// MARK: Checked calls

enum CheckedRecordCalls {
    /// Extracts the record occupying `range` of `bytes`, already checked by ``DataElementValidator``, into
    /// Swift values; throws if libbluetooth read it differently from the validator.
    static func attributes(
        of bytes: [UInt8], in range: Range<Int>, expectedAttributes: Int
    ) throws(SDPParseError) -> [UInt16: SDPDataElement] {
        var scanned: Int32 = 0
        let record = bytes.withUnsafeBufferPointer { buffer in
            RawRecordCalls.extractPDU(buffer.baseAddress! + range.lowerBound, Int32(range.count), &scanned)
        }
        guard let record else {
            throw SDPParseError(.malformed, at: range.lowerBound, "libbluetooth could not allocate the record")
        }
        defer { free(record) }
        var attributes: [UInt16: SDPDataElement] = [:]
        var node = record.pointee.attrlist
        while let current = node {
            if let data = current.pointee.data?.assumingMemoryBound(to: sdp_data_t.self) {
                attributes[data.pointee.attrId] = element(data)
            }
            node = current.pointee.next
        }
        guard Int(scanned) == range.count, attributes.count == expectedAttributes else {
            throw SDPParseError(
                .unsupported, at: range.lowerBound,
                "libbluetooth read \(attributes.count) of \(expectedAttributes) attributes in \(scanned) of \(range.count) bytes"
            )
        }
        return attributes
    }

    /// Frees `record` completely. `sdp_data_free` frees the children of sequences but not of alternatives
    /// (BlueZ 5.66), so a device answering with alternatives would leak memory into the daemon on every lookup;
    /// their children are freed here first.
    static func free(_ record: UnsafeMutablePointer<sdp_record_t>) {
        var node = record.pointee.attrlist
        while let current = node {
            if let data = current.pointee.data?.assumingMemoryBound(to: sdp_data_t.self) { releaseAlternatives(in: data) }
            node = current.pointee.next
        }
        RawRecordCalls.free(record)
    }

    /// Frees the children of every alternative inside `data` and detaches them; depth is bounded by validation.
    private static func releaseAlternatives(in data: UnsafeMutablePointer<sdp_data_t>) {
        let type = Int32(data.pointee.dtd)
        let isAlternative = (SDP_ALT8...SDP_ALT32).contains(type)
        guard isAlternative || (SDP_SEQ8...SDP_SEQ32).contains(type) else { return }
        var child = data.pointee.val.dataseq
        while let current = child {
            child = current.pointee.next
            releaseAlternatives(in: current)
            if isAlternative { RawRecordCalls.free(current) }
        }
        if isAlternative { data.pointee.val.dataseq = nil }
    }

    /// Copies one libbluetooth data element (and, for sequences, its children) into a Swift value.
    /// Recursion is bounded by ``DataElementValidator/maximumDepth``.
    static func element(_ data: UnsafeMutablePointer<sdp_data_t>) -> SDPDataElement {
        let value = data.pointee.val
        switch Int32(data.pointee.dtd) {
        case SDP_DATA_NIL: return .null
        case SDP_BOOL: return .bool(value.uint8 != 0)
        case SDP_UINT8: return .unsigned(UInt64(value.uint8))
        case SDP_UINT16: return .unsigned(UInt64(value.uint16))
        case SDP_UINT32: return .unsigned(UInt64(value.uint32))
        case SDP_UINT64: return .unsigned(value.uint64)
        case SDP_INT8: return .signed(Int64(value.int8))
        case SDP_INT16: return .signed(Int64(value.int16))
        case SDP_INT32: return .signed(Int64(value.int32))
        case SDP_INT64: return .signed(value.int64)
        case SDP_UINT128, SDP_INT128:
            // extract_int stores 128-bit integers in host order (ntoh128); give them back big-endian.
            let bytes = withUnsafeBytes(of: value.uint128.data) { Array($0) }
            return .wideInteger(isLittleEndian ? bytes.reversed() : bytes)
        case SDP_UUID16: return .uuid(BluetoothUUID(alias: UInt32(value.uuid.value.uuid16)))
        case SDP_UUID32: return .uuid(BluetoothUUID(alias: value.uuid.value.uuid32))
        case SDP_UUID128:
            let bytes = withUnsafeBytes(of: value.uuid.value.uuid128.data) { Array($0) }
            return .uuid(BluetoothUUID(bytes: bytes)!)
        case SDP_TEXT_STR8, SDP_TEXT_STR16, SDP_TEXT_STR32:
            return .text(string(data))
        case SDP_URL_STR8, SDP_URL_STR16, SDP_URL_STR32:
            return .url(string(data))
        case SDP_SEQ8, SDP_SEQ16, SDP_SEQ32:
            return .sequence(children(data))
        case SDP_ALT8, SDP_ALT16, SDP_ALT32:
            return .alternative(children(data))
        default:
            return .null
        }
    }

    private static let isLittleEndian = 1.littleEndian == 1

    /// A string element's bytes: extract_str keeps the length (plus one) in unitSize, so embedded NULs survive.
    private static func string(_ data: UnsafeMutablePointer<sdp_data_t>) -> String {
        guard let text = data.pointee.val.str else { return "" }
        let count = max(0, Int(data.pointee.unitSize) - 1)
        return text.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    private static func children(_ data: UnsafeMutablePointer<sdp_data_t>) -> [SDPDataElement] {
        var result: [SDPDataElement] = []
        var child = data.pointee.val.dataseq
        while let current = child {
            result.append(element(current))
            child = current.pointee.next
        }
        return result
    }
}
