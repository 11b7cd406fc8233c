import Foundation

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// One element of a parsed XML document: just what the CIB importer reads (no text, comments or
/// namespaces — the CIB carries everything in attributes and child elements).
struct XElement: Sendable {
  var name: String
  var attributes: [String: String]
  var children: [XElement]
  /// Line of the start tag, for error messages.
  var line: Int

  subscript(attribute: String) -> String? { attributes[attribute] }

  var id: String? { attributes["id"] }

  func child(_ name: String) -> XElement? { children.first { $0.name == name } }

  func children(_ name: String) -> [XElement] { children.filter { $0.name == name } }

  /// Every element below this one (depth first, document order), not including itself.
  func descendants() -> [XElement] {
    var result: [XElement] = []
    for child in children {
      result.append(child)
      result.append(contentsOf: child.descendants())
    }
    return result
  }

  /// Parses a whole document into its root element.
  static func parse(_ text: String) throws(CIBImportError) -> XElement {
    let parser = XMLParser(data: Data(text.utf8))
    let builder = TreeBuilder()
    parser.delegate = builder
    parser.shouldProcessNamespaces = false
    parser.shouldResolveExternalEntities = false
    guard parser.parse(), let root = builder.root else {
      let message = parser.parserError.map { $0.localizedDescription } ?? "no root element"
      throw .malformedXML(line: parser.lineNumber, message: message)
    }
    return root
  }
}

/// Builds `XElement`s from parser callbacks with a stack of open elements.
private final class TreeBuilder: NSObject, XMLParserDelegate {
  var stack: [XElement] = []
  var root: XElement?

  func parser(
    _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
  ) {
    stack.append(
      XElement(name: elementName, attributes: attributeDict, children: [], line: parser.lineNumber))
  }

  func parser(
    _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
    qualifiedName qName: String?
  ) {
    guard let done = stack.popLast() else { return }
    if stack.isEmpty {
      root = done
    } else {
      stack[stack.count - 1].children.append(done)
    }
  }
}
