// SPDX-License-Identifier: Apache-2.0
/// A small, strict XML reader for configuration files.
///
/// It reads elements, attributes, character data, CDATA sections, comments and processing instructions, expands
/// the five predefined entities and character references, and nothing else: a document type declaration, and
/// with it any custom or external entity, is an error, so a document can never make the reader expand or fetch
/// anything. Depth, attribute size and document size are bounded by ``XMLLimits``; hostile input gets an
/// ``XMLError``, never a crash or a blow-up.
public enum XMLReader {
    /// Parses `bytes` (UTF-8) and returns the root element.
    ///
    /// With `keepingWhitespace` false, runs of character data that are only spaces, tabs and line breaks next to
    /// child elements (indentation) are not kept as text children; whitespace alone in a leaf element is.
    public static func parse(
        _ bytes: [UInt8], limits: XMLLimits = XMLLimits(), keepingWhitespace: Bool = true
    ) throws(XMLError) -> XMLElement {
        var scanner = XMLScanner(bytes: bytes, limits: limits, keepingWhitespace: keepingWhitespace)
        return try scanner.document()
    }

    /// Parses a document held in a string.
    public static func parse(
        _ text: String, limits: XMLLimits = XMLLimits(), keepingWhitespace: Bool = true
    ) throws(XMLError) -> XMLElement {
        try parse(Array(text.utf8), limits: limits, keepingWhitespace: keepingWhitespace)
    }
}

private enum ASCII {
    static let lessThan = UInt8(ascii: "<")
    static let greaterThan = UInt8(ascii: ">")
    static let ampersand = UInt8(ascii: "&")
    static let semicolon = UInt8(ascii: ";")
    static let hash = UInt8(ascii: "#")
    static let slash = UInt8(ascii: "/")
    static let equals = UInt8(ascii: "=")
    static let question = UInt8(ascii: "?")
    static let bang = UInt8(ascii: "!")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let tab = UInt8(ascii: "\t")
    static let space = UInt8(ascii: " ")
    static let closeBracket = UInt8(ascii: "]")
}

private let commentOpen = Array("<!--".utf8)
private let cdataOpen = Array("<![CDATA[".utf8)
private let cdataClose = Array("]]>".utf8)
private let doctypeOpen = Array("<!DOCTYPE".utf8)
private let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
private let maximumNameBytes = 256

/// A cursor over the document bytes that keeps the line and column of the next byte.
private struct XMLScanner {
    let bytes: [UInt8]
    let limits: XMLLimits
    let keepingWhitespace: Bool
    var index = 0
    var line = 1
    var column = 1
    var elementCount = 0
    /// Reused for character data: text is flushed before a child element is read, so one buffer serves every
    /// level of nesting.
    var text: [UInt8] = []
    /// Reused for attribute values that need entity expansion or whitespace normalisation.
    var attributeValue: [UInt8] = []

    init(bytes: [UInt8], limits: XMLLimits, keepingWhitespace: Bool) {
        self.bytes = bytes
        self.limits = limits
        self.keepingWhitespace = keepingWhitespace
    }

    var position: XMLPosition { XMLPosition(line: line, column: column) }
    var atEnd: Bool { index >= bytes.count }
    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    func fail(_ message: String) -> XMLError { XMLError(message, at: position) }

    mutating func advance() {
        let byte = bytes[index]
        index += 1
        switch byte {
        case ASCII.newline:
            line += 1
            column = 1
        case ASCII.carriageReturn:
            // CR LF counts once, at the LF; a lone CR is a line break of its own.
            if current != ASCII.newline {
                line += 1
                column = 1
            }
        default:
            if byte & 0xC0 != 0x80 { column += 1 }
        }
    }

    func starts(with literal: [UInt8]) -> Bool {
        guard bytes.count - index >= literal.count else { return false }
        for offset in 0..<literal.count where bytes[index + offset] != literal[offset] { return false }
        return true
    }

    mutating func skip(_ literal: [UInt8]) -> Bool {
        guard starts(with: literal) else { return false }
        for _ in 0..<literal.count { advance() }
        return true
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == ASCII.space || byte == ASCII.tab || byte == ASCII.newline || byte == ASCII.carriageReturn
    }

    @discardableResult
    mutating func skipWhitespace() -> Bool {
        var skipped = false
        while let byte = current, Self.isWhitespace(byte) {
            advance()
            skipped = true
        }
        return skipped
    }

    // MARK: Document

    mutating func document() throws(XMLError) -> XMLElement {
        if bytes.count > limits.maximumDocumentBytes {
            throw fail("the document is \(bytes.count) bytes; at most \(limits.maximumDocumentBytes) are accepted")
        }
        try validateUTF8()
        if starts(with: byteOrderMark) { index += byteOrderMark.count }
        if starts(with: Array("<?xml".utf8)), let after = byte(at: index + 5), Self.isWhitespace(after) {
            try processingInstruction(atDocumentStart: true)
        }
        var root: XMLElement?
        while true {
            skipWhitespace()
            guard let byte = current else { break }
            if starts(with: commentOpen) {
                try comment()
            } else if starts(with: doctypeOpen) {
                throw fail("a document type declaration (<!DOCTYPE>) is not allowed; devsync reads no DTDs and expands no custom entities")
            } else if byte == ASCII.lessThan, self.byte(at: index + 1) == ASCII.question {
                try processingInstruction(atDocumentStart: false)
            } else if byte == ASCII.lessThan, self.byte(at: index + 1) == ASCII.bang {
                throw fail("expected a comment or an element; markup declarations are not allowed")
            } else if byte == ASCII.lessThan {
                if let root {
                    throw fail("expected the end of the document after </\(root.name)>; a document has one root element")
                }
                root = try element(depth: 1)
            } else {
                throw fail(root == nil ? "expected the root element, found text" : "expected the end of the document, found text after the root element")
            }
        }
        guard let root else { throw fail("expected a root element; the document has none") }
        return root
    }

    func byte(at offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

    /// Checks the whole document once, so that every string is then decoded without a second look; the error
    /// points at the first byte that is not part of a well-formed UTF-8 sequence.
    mutating func validateUTF8() throws(XMLError) {
        var offset = 0
        let count = bytes.count
        while offset < count {
            let lead = bytes[offset]
            if lead < 0x80 {
                offset += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: length = 0
            }
            var valid = length > 0 && offset + length <= count
            if valid {
                for position in (offset + 1)..<(offset + length) {
                    let byte = bytes[position]
                    let (low, high) = position == offset + 1 ? (lower, upper) : (0x80, 0xBF)
                    if byte < low || byte > high {
                        valid = false
                        break
                    }
                }
            }
            guard valid else {
                while index < offset { advance() }
                throw fail("the document is not valid UTF-8 (byte 0x\(String(lead, radix: 16, uppercase: true)))")
            }
            offset += length
        }
    }

    // MARK: Markup that carries no data

    mutating func comment() throws(XMLError) {
        let start = position
        _ = skip(commentOpen)
        while !atEnd {
            if bytes[index] == UInt8(ascii: "-"), byte(at: index + 1) == UInt8(ascii: "-") {
                if byte(at: index + 2) == ASCII.greaterThan {
                    advance(); advance(); advance()
                    return
                }
                throw fail("expected '-->'; '--' is not allowed inside a comment")
            }
            advance()
        }
        throw XMLError("the comment opened here is never closed with '-->'", at: start)
    }

    mutating func processingInstruction(atDocumentStart: Bool) throws(XMLError) {
        let start = position
        advance(); advance()  // "<?"
        let target = try name(what: "processing instruction target")
        if target.lowercased() == "xml", !atDocumentStart {
            throw XMLError("an XML declaration (<?xml …?>) is only allowed at the very start of the document", at: start)
        }
        while !atEnd {
            if bytes[index] == ASCII.question, byte(at: index + 1) == ASCII.greaterThan {
                advance(); advance()
                return
            }
            advance()
        }
        throw XMLError("the processing instruction opened here is never closed with '?>'", at: start)
    }

    // MARK: Names

    static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte >= 0x80
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    mutating func name(what: String) throws(XMLError) -> String {
        guard let first = current, Self.isNameStart(first) else { throw fail("expected a \(what)") }
        let start = index
        while let byte = current, Self.isNameByte(byte) {
            if index - start >= maximumNameBytes { throw fail("a \(what) longer than \(maximumNameBytes) bytes is not accepted") }
            advance()
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // MARK: Elements

    mutating func element(depth: Int) throws(XMLError) -> XMLElement {
        let start = position
        if depth > limits.maximumDepth {
            throw fail("elements are nested deeper than \(limits.maximumDepth) levels")
        }
        elementCount += 1
        if elementCount > limits.maximumElementCount {
            throw fail("the document has more than \(limits.maximumElementCount) elements")
        }
        advance()  // "<"
        let elementName = try name(what: "element name")
        var attributes: [XMLAttribute] = []
        while true {
            let hadSpace = skipWhitespace()
            guard let byte = current else { throw XMLError("the start tag <\(elementName)> is never closed with '>'", at: start) }
            if byte == ASCII.slash {
                advance()
                guard current == ASCII.greaterThan else { throw fail("expected '>' after '/' in <\(elementName)/>") }
                advance()
                return XMLElement(name: elementName, attributes: attributes, position: start)
            }
            if byte == ASCII.greaterThan {
                advance()
                break
            }
            guard hadSpace else { throw fail("expected whitespace, '>' or '/>' after the name or an attribute of <\(elementName)>") }
            let attribute = try attribute(of: elementName)
            if attributes.contains(where: { $0.name == attribute.name }) {
                throw XMLError("the attribute '\(attribute.name)' appears twice on <\(elementName)>", at: attribute.position)
            }
            if attributes.count >= limits.maximumAttributeCount {
                throw XMLError("<\(elementName)> has more than \(limits.maximumAttributeCount) attributes", at: attribute.position)
            }
            attributes.append(attribute)
        }
        var children: [XMLNode] = []
        try content(of: elementName, at: start, into: &children, depth: depth)
        return XMLElement(name: elementName, attributes: attributes, children: children, position: start)
    }

    mutating func attribute(of elementName: String) throws(XMLError) -> XMLAttribute {
        let start = position
        let attributeName = try name(what: "attribute name")
        skipWhitespace()
        guard current == ASCII.equals else { throw fail("expected '=' after the attribute name '\(attributeName)'") }
        advance()
        skipWhitespace()
        guard let quote = current, quote == ASCII.quote || quote == ASCII.apostrophe else {
            throw fail("expected a quoted value for the attribute '\(attributeName)'")
        }
        advance()
        // Most values are plain: no entity, no line break. Take them straight from the document.
        let valueStart = index
        var end = index
        while end < bytes.count, bytes[end] != quote, end - valueStart <= limits.maximumAttributeBytes {
            let byte = bytes[end]
            if byte == ASCII.ampersand || byte == ASCII.lessThan || byte == ASCII.carriageReturn || byte == ASCII.newline
                || byte == ASCII.tab
            {
                break
            }
            end += 1
        }
        if end < bytes.count, bytes[end] == quote, end - valueStart <= limits.maximumAttributeBytes {
            while index < end { advance() }
            advance()
            return XMLAttribute(name: attributeName, value: String(decoding: bytes[valueStart..<end], as: UTF8.self), position: start)
        }
        attributeValue.removeAll(keepingCapacity: true)
        while true {
            guard let byte = current else { throw XMLError("the value of the attribute '\(attributeName)' is never closed", at: start) }
            if byte == quote {
                advance()
                break
            }
            switch byte {
            case ASCII.lessThan:
                throw fail("'<' is not allowed in an attribute value; write &lt;")
            case ASCII.ampersand:
                Self.append(try reference(), to: &attributeValue)
            case ASCII.carriageReturn:
                advance()
                if current == ASCII.newline { advance() }
                attributeValue.append(ASCII.space)
            case ASCII.newline, ASCII.tab:
                advance()
                attributeValue.append(ASCII.space)
            default:
                advance()
                attributeValue.append(byte)
            }
            if attributeValue.count > limits.maximumAttributeBytes {
                throw XMLError("the value of the attribute '\(attributeName)' is longer than \(limits.maximumAttributeBytes) bytes", at: start)
            }
        }
        let text = String(decoding: attributeValue, as: UTF8.self)
        return XMLAttribute(name: attributeName, value: text, position: start)
    }

    mutating func content(of elementName: String, at elementPosition: XMLPosition, into children: inout [XMLNode], depth: Int) throws(XMLError) {
        text.removeAll(keepingCapacity: true)
        var textStart = position
        var hasElementChild = false
        while true {
            guard let next = current else {
                throw XMLError("<\(elementName)> is never closed; expected </\(elementName)>", at: elementPosition)
            }
            if text.isEmpty { textStart = position }
            if next == ASCII.lessThan {
                if byte(at: index + 1) == ASCII.slash {
                    try flushText(into: &children, at: textStart, besideElements: hasElementChild)
                    let endTag = position
                    advance(); advance()
                    let closing = try name(what: "element name in the end tag")
                    guard closing == elementName else {
                        throw XMLError("expected </\(elementName)> (opened at \(elementPosition)), found </\(closing)>", at: endTag)
                    }
                    skipWhitespace()
                    guard current == ASCII.greaterThan else { throw fail("expected '>' to close </\(closing)>") }
                    advance()
                    return
                } else if starts(with: commentOpen) {
                    try comment()
                } else if starts(with: cdataOpen) {
                    let start = position
                    _ = skip(cdataOpen)
                    while true {
                        if atEnd { throw XMLError("the CDATA section opened here is never closed with ']]>'", at: start) }
                        if skip(cdataClose) { break }
                        appendCharacter()
                    }
                } else if starts(with: doctypeOpen) {
                    throw fail("a document type declaration (<!DOCTYPE>) is not allowed")
                } else if byte(at: index + 1) == ASCII.bang {
                    throw fail("expected a comment, a CDATA section or an element after '<!'")
                } else if byte(at: index + 1) == ASCII.question {
                    try processingInstruction(atDocumentStart: false)
                } else {
                    try flushText(into: &children, at: textStart, besideElements: true)
                    children.append(.element(try self.element(depth: depth + 1)))
                    hasElementChild = true
                }
            } else if next == ASCII.ampersand {
                Self.append(try reference(), to: &text)
            } else {
                if starts(with: cdataClose) { throw fail("']]>' is not allowed in text outside a CDATA section") }
                appendCharacter()
            }
        }
    }

    /// Ends the current run of character data as a text child of `element`.
    mutating func flushText(into children: inout [XMLNode], at position: XMLPosition, besideElements: Bool) throws(XMLError) {
        guard !text.isEmpty else { return }
        // Indentation sits next to child elements; whitespace alone in a leaf element is its value and is kept.
        if !keepingWhitespace, besideElements, text.allSatisfy(Self.isWhitespace) {
            text.removeAll(keepingCapacity: true)
            return
        }
        children.append(.text(String(decoding: text, as: UTF8.self), position))
        text.removeAll(keepingCapacity: true)
    }

    /// Appends the next byte to the text, turning CR LF and a lone CR into LF as XML requires.
    mutating func appendCharacter() {
        let byte = bytes[index]
        advance()
        if byte == ASCII.carriageReturn {
            if current == ASCII.newline { advance() }
            text.append(ASCII.newline)
        } else {
            text.append(byte)
        }
    }

    // MARK: References

    static func append(_ scalar: Unicode.Scalar, to buffer: inout [UInt8]) {
        if scalar.isASCII {
            buffer.append(UInt8(scalar.value))
        } else {
            buffer.append(contentsOf: UTF8.encode(scalar)!)
        }
    }

    /// Reads `&…;` and returns the character it stands for.
    mutating func reference() throws(XMLError) -> Unicode.Scalar {
        let start = position
        advance()  // "&"
        if current == ASCII.hash {
            advance()
            var radix: UInt32 = 10
            if current == UInt8(ascii: "x") {
                radix = 16
                advance()
            }
            var value: UInt32 = 0
            var digits = 0
            while let byte = current, byte != ASCII.semicolon {
                guard let digit = Self.digit(byte, radix: radix) else {
                    throw fail("expected a \(radix == 16 ? "hexadecimal" : "decimal") digit or ';' in the character reference")
                }
                value = value * radix + digit
                digits += 1
                if value > 0x10FFFF { throw XMLError("the character reference is beyond U+10FFFF", at: start) }
                advance()
            }
            guard current == ASCII.semicolon, digits > 0 else { throw XMLError("the character reference is not closed with ';'", at: start) }
            advance()
            guard Self.isXMLCharacter(value), let scalar = Unicode.Scalar(value) else {
                throw XMLError("the character reference names U+\(String(value, radix: 16, uppercase: true)), which XML does not allow", at: start)
            }
            return scalar
        }
        let nameStart = index
        while let byte = current, byte != ASCII.semicolon, Self.isNameByte(byte), index - nameStart < 32 { advance() }
        let entity = String(decoding: bytes[nameStart..<index], as: UTF8.self)
        guard current == ASCII.semicolon, !entity.isEmpty else {
            throw XMLError("expected an entity reference such as &amp; or &#38;; write a bare '&' as &amp;", at: start)
        }
        advance()
        switch entity {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "apos": return "'"
        case "quot": return "\""
        default:
            throw XMLError("the entity &\(entity); is not one of XML's five predefined entities; custom entities are never expanded", at: start)
        }
    }

    static func digit(_ byte: UInt8, radix: UInt32) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// XML 1.0's `Char` production.
    static func isXMLCharacter(_ value: UInt32) -> Bool {
        value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
            || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
    }
}
