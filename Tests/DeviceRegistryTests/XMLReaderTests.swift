// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import DeviceRegistry

@Suite("Strict XML reader")
struct XMLReaderTests {
    func error(_ text: String, limits: XMLLimits = XMLLimits()) -> XMLError? {
        do {
            _ = try XMLReader.parse(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("elements, attributes, text, CDATA, comments and processing instructions are read")
    func readsDocument() throws {
        let root = try XMLReader.parse("""
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <a x="1" y='two'>
              <b>hello <![CDATA[<raw> & more]]> world</b>
              <?tool hint?>
              <c/>
            </a>
            """)
        #expect(root.name == "a")
        #expect(root.attribute("x")?.value == "1")
        #expect(root.attribute("y")?.value == "two")
        #expect(root.elements.map(\.name) == ["b", "c"])
        #expect(root.elements[0].text == "hello <raw> & more world")
    }

    @Test("the five predefined entities and character references are expanded")
    func entities() throws {
        let root = try XMLReader.parse("<a v=\"&lt;&gt;&amp;&apos;&quot;\">&#65;&#x42;&#x1F600;</a>")
        #expect(root.attribute("v")?.value == "<>&'\"")
        #expect(root.text == "AB😀")
    }

    @Test("every element and attribute knows its 1-based line and column")
    func positions() throws {
        let root = try XMLReader.parse("<a>\n  <b k=\"v\"/>\n\t<c>é<d/></c>\n</a>")
        #expect(root.position == XMLPosition(line: 1, column: 1))
        let b = root.elements[0]
        #expect(b.position == XMLPosition(line: 2, column: 3))
        #expect(b.attribute("k")?.position == XMLPosition(line: 2, column: 6))
        // Columns count characters: "é" is two bytes but one column.
        #expect(root.elements[1].elements[0].position == XMLPosition(line: 3, column: 6))
    }

    @Test("CR LF counts as one line break and is read as LF")
    func crlf() throws {
        let root = try XMLReader.parse("<a>\r\nx\r\n<b/></a>")
        #expect(root.elements[0].position == XMLPosition(line: 3, column: 1))
        #expect(root.text == "\nx\n")
    }

    @Test("a DOCTYPE is refused, so billion laughs never expands")
    func billionLaughs() throws {
        let laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [
             <!ENTITY lol "lol">
             <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
             <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
            ]>
            <lolz>&lol3;</lolz>
            """
        let failure = try #require(error(laughs))
        #expect(failure.position == XMLPosition(line: 2, column: 1))
        #expect(failure.message.contains("DOCTYPE"))
    }

    @Test("an external entity declaration is refused")
    func externalEntity() throws {
        let failure = try #require(error("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>"))
        #expect(failure.message.contains("DOCTYPE"))
    }

    @Test("a reference to an undeclared custom entity is an error, not an expansion")
    func customEntity() throws {
        let failure = try #require(error("<a>\n  &xxe;</a>"))
        #expect(failure.position == XMLPosition(line: 2, column: 3))
        #expect(failure.message.contains("&xxe;"))
    }

    @Test("deep nesting gives an error, not a stack overflow")
    func deepNesting() throws {
        let depth = 100_000
        let text = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        let failure = try #require(error(text))
        #expect(failure.message.contains("deeper than 64"))
        #expect(failure.position == XMLPosition(line: 1, column: 64 * 3 + 1))
        // 64 levels are fine.
        #expect(error(String(repeating: "<a>", count: 64) + String(repeating: "</a>", count: 64)) == nil)
    }

    @Test("a huge attribute value is refused")
    func hugeAttribute() throws {
        let text = "<a v=\"" + String(repeating: "x", count: 20_000) + "\"/>"
        let failure = try #require(error(text))
        #expect(failure.message.contains("longer than 16384 bytes"))
        // Entity expansion is counted too.
        let expanded = "<a v=\"" + String(repeating: "&amp;", count: 17_000) + "\"/>"
        #expect(error(expanded)?.message.contains("longer than") == true)
    }

    @Test("a wide document is bounded too, and text among many siblings costs linear time")
    func wideDocument() throws {
        let wide = "<a>" + String(repeating: "<b/> ", count: 100_001) + "</a>"
        #expect(error(wide)?.message.contains("more than 100000 elements") == true)
        let fine = "<a>" + String(repeating: "<b/> ", count: 99_000) + "</a>"
        #expect(try XMLReader.parse(fine, keepingWhitespace: false).children.count == 99_000)
    }

    @Test("too many attributes are refused")
    func manyAttributes() throws {
        let attributes = (0..<40).map { "a\($0)=\"\($0)\"" }.joined(separator: " ")
        #expect(error("<a \(attributes)/>")?.message.contains("more than 32 attributes") == true)
    }

    @Test("an oversized document is refused before it is read")
    func oversizedDocument() throws {
        let limits = XMLLimits(maximumDocumentBytes: 100)
        let failure = try #require(error("<a>" + String(repeating: " ", count: 200) + "</a>", limits: limits))
        #expect(failure.message.contains("at most 100"))
    }

    @Test("malformed documents are refused with a position", arguments: [
        ("<a><b></a>", 1, 7, "expected </b>"),
        ("<a>\n<b>", 2, 1, "never closed"),
        ("<a x=\"1\" x=\"2\"/>", 1, 10, "appears twice"),
        ("<a/><b/>", 1, 5, "one root element"),
        ("text", 1, 1, "expected the root element"),
        ("<a>&bogus</a>", 1, 4, "entity reference"),
        ("<a>&#0;</a>", 1, 4, "does not allow"),
        ("<a><!-- x -- y --></a>", 1, 11, "'--' is not allowed"),
        ("<a v=\"<\"/>", 1, 7, "'<' is not allowed"),
        ("<a>]]></a>", 1, 4, "']]>' is not allowed"),
        ("<a/>\n<?xml version=\"1.0\"?>", 2, 1, "only allowed at the very start"),
        ("", 1, 1, "has none"),
        ("<a b></a>", 1, 5, "expected '='"),
    ])
    func malformed(text: String, line: Int, column: Int, message: String) throws {
        let failure = try #require(error(text), "\(text) was accepted")
        #expect(failure.position == XMLPosition(line: line, column: column), "\(failure)")
        #expect(failure.message.contains(message), "\(failure)")
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() throws {
        var bytes = Array("<a>".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("</a>".utf8)
        let failure = #expect(throws: XMLError.self) { try XMLReader.parse(bytes) }
        #expect(failure?.position == XMLPosition(line: 1, column: 4))
        #expect(failure?.message.contains("not valid UTF-8") == true)
        // Overlong encodings and surrogates are not UTF-8 either.
        #expect(throws: XMLError.self) { try XMLReader.parse([0x3C, 0x61, 0x3E, 0xC0, 0xAF, 0x3C, 0x2F, 0x61, 0x3E]) }
        #expect(throws: XMLError.self) { try XMLReader.parse([0x3C, 0x61, 0x3E, 0xED, 0xA0, 0x80, 0x3C, 0x2F, 0x61, 0x3E]) }
        #expect((try? XMLReader.parse("<a>é😀</a>"))?.text == "é😀")
    }

    @Test("random bytes never crash the reader")
    func randomBytes() {
        var random = SplitMix64(seed: 0xF00D)
        let alphabet = Array("<>/=\"'&;#x!-[]?CDATA abc\n".utf8)
        for _ in 0..<2_000 {
            let count = Int(random.next() % 200)
            let bytes = (0..<count).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            _ = try? XMLReader.parse(bytes)
        }
    }
}

@Suite("Strict XML reader, whitespace")
struct XMLWhitespaceTests {
    @Test("indentation can be dropped while a leaf element keeps a whitespace value")
    func indentation() throws {
        let text = "<a>\n  <b> </b>\n  <c>x</c>\n</a>"
        let kept = try XMLReader.parse(text)
        #expect(kept.children.count == 5)
        let dropped = try XMLReader.parse(text, keepingWhitespace: false)
        #expect(dropped.children.count == 2)
        #expect(dropped.elements[0].text == " ")
    }
}
