// SPDX-License-Identifier: Apache-2.0
/// Checks the shape of SDP bytes before libbluetooth sees them.
///
/// `sdp_extract_pdu` bounds its reads by the buffer size, but it recurses once per nesting level, does not check
/// that an attribute id is a 16-bit integer, and stops silently where data ends, returning a partial record as if
/// it were whole. Walking the headers here first, without recursion, means libbluetooth only ever reads bytes
/// that form a complete, shallow, well-typed record, and a hostile device gets a clean ``SDPParseError``.
enum DataElementValidator {
    /// The deepest nesting accepted. Real records nest four levels (record, protocol list, descriptor, value).
    static let maximumDepth = 16

    /// One element header: its type code (high 5 bits), where its payload starts and how long it is.
    struct Header {
        var type: UInt8
        var payloadStart: Int
        var payloadLength: Int
        var end: Int { payloadStart + payloadLength }
        var isContainer: Bool { type == 6 || type == 7 }
    }

    /// Reads the header at `offset`, checking that the whole element fits before `limit`.
    static func header(in bytes: [UInt8], at offset: Int, limit: Int) throws(SDPParseError) -> Header {
        guard offset < limit else { throw SDPParseError(.truncated, at: offset, "an element header is missing") }
        let descriptor = bytes[offset]
        let type = descriptor >> 3
        let sizeIndex = Int(descriptor & 0x07)
        var payloadStart = offset + 1
        let payloadLength: Int
        switch (type, sizeIndex) {
        case (0, 0):
            payloadLength = 0
        case (5, 0):
            payloadLength = 1
        case (1, 0...4), (2, 0...4):
            payloadLength = 1 << sizeIndex
        case (3, 1), (3, 2), (3, 4):
            payloadLength = 1 << sizeIndex
        case (4, 5...7), (6, 5...7), (7, 5...7), (8, 5...7):
            let width = 1 << (sizeIndex - 5)
            guard payloadStart + width <= limit else {
                throw SDPParseError(.truncated, at: offset, "the length of an element is cut off")
            }
            payloadLength = bytes[payloadStart..<(payloadStart + width)].reduce(0) { $0 << 8 | Int($1) }
            payloadStart += width
            if sizeIndex == 7, type == 4 || type == 8 {
                throw SDPParseError(.unsupported, at: offset, "strings with 32-bit lengths are not supported")
            }
        default:
            throw SDPParseError(.malformed, at: offset, "0x\(String(descriptor, radix: 16)) is not a data element type")
        }
        guard payloadStart + payloadLength <= limit else {
            throw SDPParseError(
                limit == bytes.count ? .truncated : .malformed, at: offset,
                "an element of \(payloadLength) bytes overruns \(limit == bytes.count ? "the data" : "its sequence")"
            )
        }
        return Header(type: type, payloadStart: payloadStart, payloadLength: payloadLength)
    }

    /// Validates one service record, a sequence of (uint16 attribute id, value) pairs starting at `offset`;
    /// returns its end and the number of attributes. An attribute id may appear once: of two, `sdp_extract_pdu`
    /// (BlueZ 5.66) keeps the later and drops the earlier's data without freeing it, so a device repeating ids
    /// would leak memory into the daemon on every lookup (found by fuzz-sdp under LeakSanitizer).
    static func validateRecord(_ bytes: [UInt8], at offset: Int, limit: Int) throws(SDPParseError) -> (end: Int, attributes: Int) {
        let record = try header(in: bytes, at: offset, limit: limit)
        guard record.type == 6 else {
            throw SDPParseError(.malformed, at: offset, "a service record must be a data element sequence")
        }
        var ids = Set<UInt16>()
        var position = record.payloadStart
        while position < record.end {
            let id = try header(in: bytes, at: position, limit: record.end)
            guard bytes[position] == 0x09 else {
                throw SDPParseError(.malformed, at: position, "an attribute id must be a 16-bit unsigned integer")
            }
            let value = UInt16(bytes[id.payloadStart]) << 8 | UInt16(bytes[id.payloadStart + 1])
            guard ids.insert(value).inserted else {
                throw SDPParseError(.malformed, at: position, "attribute 0x\(String(value, radix: 16)) appears twice in the record")
            }
            guard id.end < record.end else {
                throw SDPParseError(.malformed, at: position, "attribute id without a value")
            }
            position = try validateElement(bytes, at: id.end, limit: record.end)
        }
        return (record.end, ids.count)
    }

    /// Validates the element at `offset` and everything inside it, iteratively; returns its end.
    static func validateElement(_ bytes: [UInt8], at offset: Int, limit: Int) throws(SDPParseError) -> Int {
        let first = try header(in: bytes, at: offset, limit: limit)
        // Each open container's end; the innermost is last.
        var open: [Int] = first.isContainer ? [first.end] : []
        var position = first.isContainer ? first.payloadStart : first.end
        while let end = open.last {
            if position == end {
                open.removeLast()
                continue
            }
            let element = try header(in: bytes, at: position, limit: end)
            if element.isContainer {
                guard open.count < maximumDepth else {
                    throw SDPParseError(.tooDeep, at: position, "sequences nest deeper than \(maximumDepth) levels")
                }
                open.append(element.end)
                position = element.payloadStart
            } else {
                position = element.end
            }
        }
        return first.end
    }
}
