// SPDX-License-Identifier: Apache-2.0
/// A 1-based line and column in an XML document; columns count Unicode scalars, not bytes.
public struct XMLPosition: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// The position at `line`:`column`.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`.
    public var description: String { "\(line):\(column)" }
}

/// Why a document was rejected, and where.
public struct XMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the reader stopped.
    public var position: XMLPosition
    /// A sentence saying what was expected.
    public var message: String

    /// An error at `position`.
    public init(_ message: String, at position: XMLPosition) {
        self.message = message
        self.position = position
    }

    /// `line:column: message`.
    public var description: String { "\(position): \(message)" }
}

/// The bounds that keep a hostile document from costing more than a profile should.
public struct XMLLimits: Sendable, Hashable {
    /// The deepest element nesting accepted (the root is depth 1).
    public var maximumDepth: Int
    /// The most UTF-8 bytes in one attribute value, after entity expansion.
    public var maximumAttributeBytes: Int
    /// The most attributes on one element.
    public var maximumAttributeCount: Int
    /// The largest document accepted, in bytes.
    public var maximumDocumentBytes: Int
    /// The most elements in one document, which bounds the memory of the tree (a 4 MiB file of `<a/>` would
    /// otherwise be a million of them).
    public var maximumElementCount: Int

    /// Limits generous for any hand-written profile: depth 64, 16 KiB attributes, 32 attributes, 4 MiB documents,
    /// 100,000 elements.
    public init(
        maximumDepth: Int = 64,
        maximumAttributeBytes: Int = 16 * 1024,
        maximumAttributeCount: Int = 32,
        maximumDocumentBytes: Int = 4 * 1024 * 1024,
        maximumElementCount: Int = 100_000
    ) {
        self.maximumDepth = maximumDepth
        self.maximumAttributeBytes = maximumAttributeBytes
        self.maximumAttributeCount = maximumAttributeCount
        self.maximumDocumentBytes = maximumDocumentBytes
        self.maximumElementCount = maximumElementCount
    }
}

/// One `name="value"` pair of an element, in document order.
public struct XMLAttribute: Sendable, Hashable {
    /// The attribute name.
    public var name: String
    /// The value with entities and character references expanded.
    public var value: String
    /// Where the attribute name starts.
    public var position: XMLPosition

    /// An attribute `name="value"` at `position`.
    public init(name: String, value: String, position: XMLPosition) {
        self.name = name
        self.value = value
        self.position = position
    }
}

/// A child of an element: another element or a run of character data (text and CDATA, comments dropped).
public enum XMLNode: Sendable {
    /// A nested element.
    case element(XMLElement)
    /// Character data starting at the position.
    case text(String, XMLPosition)
}

/// An element with its attributes and children.
///
/// A class, immutable once read: walking a tree of them copies references, not whole subtrees.
public final class XMLElement: Sendable {
    /// The element name.
    public let name: String
    /// The attributes in document order; names are unique.
    public let attributes: [XMLAttribute]
    /// Elements and text in document order.
    public let children: [XMLNode]
    /// Where the `<` of the start tag is.
    public let position: XMLPosition

    /// An element named `name` at `position`.
    public init(name: String, attributes: [XMLAttribute] = [], children: [XMLNode] = [], position: XMLPosition) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.position = position
    }

    /// The attribute called `name`, if present.
    public func attribute(_ name: String) -> XMLAttribute? {
        attributes.first { $0.name == name }
    }

    /// The child elements, in order.
    public var elements: [XMLElement] {
        children.compactMap { if case .element(let element) = $0 { element } else { nil } }
    }

    /// All character data directly inside this element, concatenated.
    public var text: String {
        var result = ""
        for case .text(let text, _) in children { result += text }
        return result
    }
}
