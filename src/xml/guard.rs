//! Guards for documents from outside: one streaming pass with quick-xml that refuses what is
//! unsafe or absurd before libxml2 or the model sees a byte, and builds a small element tree for
//! the model's reader.
//!
//! Refused as [`XmlError::Unsafe`]: any `DOCTYPE` (so no entity declarations: no entity
//! expansion bombs, no external entities or XXE), processing instructions, and every limit of
//! [`Limits`]: document size, nesting depth, element count, attributes per element, attribute
//! value, text and name lengths. Refused as [`XmlError::Malformed`]: bytes that are not UTF-8,
//! XML that is not well-formed, references to undefined entities. A declared encoding other
//! than UTF-8 is [`XmlError::Unsupported`]. Each check costs at most one look at each byte.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::error::XmlError;

/// Hard limits for documents from outside. The defaults leave wide room for real EMCHD_1
/// documents (a few kilobytes; at most nine levels deep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whole document, in bytes.
    pub max_bytes: usize,
    /// Element nesting.
    pub max_depth: usize,
    /// Elements in the document.
    pub max_elements: usize,
    /// Attributes on one element (namespace declarations included).
    pub max_attributes: usize,
    /// One attribute value, in bytes as written.
    pub max_attribute_bytes: usize,
    /// The text of one element (or one comment), in bytes as written.
    pub max_text_bytes: usize,
    /// One element or attribute name, in bytes.
    pub max_name_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_depth: 24,
            max_elements: 20_000,
            max_attributes: 32,
            max_attribute_bytes: 16 * 1024,
            max_text_bytes: 64 * 1024,
            max_name_bytes: 128,
        }
    }
}

/// An element of a guarded document: resolved namespace, local name, its unprefixed
/// attributes in document order (namespace declarations left out), children, text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Prefixed attributes other than namespace declarations (`xsi:…` and the like).
    pub qualified_attrs: Vec<String>,
    pub children: Vec<Element>,
    pub text: String,
    pub line: u32,
}

struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
}

impl Lines<'_> {
    fn at(&mut self, pos: u64) -> u32 {
        let pos = usize::try_from(pos)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if pos > self.pos {
            let n = self.bytes[self.pos..pos]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.line = self
                .line
                .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            self.pos = pos;
        }
        self.line
    }
}

fn line_of(bytes: &[u8], pos: u64) -> usize {
    let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(bytes.len());
    bytes[..pos].iter().filter(|b| **b == b'\n').count() + 1
}

fn unsafe_(what: impl Into<String>) -> XmlError {
    XmlError::Unsafe(what.into())
}

/// Checks `bytes` against `limits` and returns the element tree of the document.
pub(crate) fn scan(bytes: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(unsafe_(format!(
            "document of {} bytes exceeds the limit of {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(XmlError::Malformed(format!(
            "not UTF-8: invalid byte sequence at offset {} (line {})",
            e.valid_up_to(),
            line_of(bytes, e.valid_up_to() as u64)
        )));
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = NsReader::from_reader(body);
    {
        let c = reader.config_mut();
        c.trim_text(false);
        c.expand_empty_elements = false;
        c.check_end_names = true;
        c.check_comments = true;
    }
    let mut lines = Lines {
        bytes: body,
        pos: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;

    loop {
        let at = reader.buffer_position();
        let (ns, ev) = match reader.read_resolved_event() {
            Ok((ns, ev)) => (ns_string(&ns)?, ev),
            Err(e) => {
                return Err(XmlError::Malformed(format!(
                    "{e} (line {})",
                    line_of(body, reader.error_position())
                )));
            }
        };
        match ev {
            Event::Decl(d) => {
                if let Some(enc) = d.encoding() {
                    let enc = enc.map_err(|e| XmlError::Malformed(e.to_string()))?;
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(XmlError::Unsupported(format!(
                            "declared encoding {}: only UTF-8 documents are accepted",
                            String::from_utf8_lossy(&enc)
                        )));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(unsafe_(format!(
                    "DOCTYPE declaration at line {}: document type and entity declarations are not accepted",
                    lines.at(at)
                )));
            }
            Event::PI(_) => {
                return Err(unsafe_(format!(
                    "processing instruction at line {}: not accepted",
                    lines.at(at)
                )));
            }
            Event::Comment(c) => {
                if c.len() > limits.max_text_bytes {
                    return Err(unsafe_(format!(
                        "comment at line {} is too long",
                        lines.at(at)
                    )));
                }
            }
            Event::Start(ref s) | Event::Empty(ref s) => {
                let line = lines.at(at);
                elements += 1;
                if elements > limits.max_elements {
                    return Err(unsafe_(format!(
                        "more than {} elements (line {line})",
                        limits.max_elements
                    )));
                }
                if stack.is_empty() && root.is_some() {
                    return Err(XmlError::Malformed(format!(
                        "a second root element at line {line}"
                    )));
                }
                if stack.len() + 1 > limits.max_depth {
                    return Err(unsafe_(format!(
                        "nesting deeper than {} levels at line {line}",
                        limits.max_depth
                    )));
                }
                let el = element(&reader, s, ns, line, limits)?;
                if matches!(ev, Event::Empty(_)) {
                    close(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => match stack.pop() {
                Some(el) => close(&mut stack, &mut root, el),
                None => {
                    return Err(XmlError::Malformed(format!(
                        "unexpected end tag at line {}",
                        lines.at(at)
                    )));
                }
            },
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| XmlError::Malformed(e.to_string()))?;
                push_text(&mut stack, &s, limits, &mut lines, at)?;
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                if stack.is_empty() {
                    return Err(XmlError::Malformed(format!(
                        "CDATA outside the root element at line {}",
                        lines.at(at)
                    )));
                }
                push_text(&mut stack, &s, limits, &mut lines, at)?;
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| XmlError::Malformed(e.to_string()))?
                        .map(String::from)
                } else {
                    let name = r.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
                };
                match resolved {
                    Some(s) if !stack.is_empty() => {
                        push_text(&mut stack, &s, limits, &mut lines, at)?
                    }
                    _ => {
                        return Err(XmlError::Malformed(format!(
                            "undefined entity reference &{}; at line {}",
                            String::from_utf8_lossy(&r),
                            lines.at(at)
                        )));
                    }
                }
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed(format!(
            "document ends inside element {}",
            stack.last().map(|e| e.name.as_str()).unwrap_or_default()
        )));
    }
    root.ok_or_else(|| XmlError::Malformed("no root element".into()))
}

fn ns_string(ns: &ResolveResult<'_>) -> Result<String, XmlError> {
    match ns {
        ResolveResult::Bound(n) => Ok(String::from_utf8_lossy(n.as_ref()).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(XmlError::Malformed(format!(
            "undeclared namespace prefix {}",
            String::from_utf8_lossy(p)
        ))),
    }
}

fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn push_text(
    stack: &mut [Element],
    s: &str,
    limits: &Limits,
    lines: &mut Lines<'_>,
    at: u64,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(el) => {
            if el.text.len() + s.len() > limits.max_text_bytes {
                return Err(unsafe_(format!(
                    "text of element {} at line {} exceeds {} bytes",
                    el.name,
                    lines.at(at),
                    limits.max_text_bytes
                )));
            }
            el.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed(format!(
            "text outside the root element at line {}",
            lines.at(at)
        ))),
    }
}

fn element(
    reader: &NsReader<&[u8]>,
    s: &BytesStart<'_>,
    ns: String,
    line: u32,
    limits: &Limits,
) -> Result<Element, XmlError> {
    let qname = s.name();
    if qname.as_ref().len() > limits.max_name_bytes {
        return Err(unsafe_(format!(
            "element name longer than {} bytes at line {line}",
            limits.max_name_bytes
        )));
    }
    let name = String::from_utf8_lossy(qname.local_name().as_ref()).into_owned();
    let mut el = Element {
        ns,
        name,
        line,
        ..Element::default()
    };
    let mut count = 0usize;
    for a in s.attributes() {
        let a = a.map_err(|e| XmlError::Malformed(format!("{e} (line {line})")))?;
        count += 1;
        if count > limits.max_attributes {
            return Err(unsafe_(format!(
                "element {} at line {line} has more than {} attributes",
                el.name, limits.max_attributes
            )));
        }
        let key = a.key.as_ref();
        if key.len() > limits.max_name_bytes {
            return Err(unsafe_(format!(
                "attribute name longer than {} bytes at line {line}",
                limits.max_name_bytes
            )));
        }
        if a.value.len() > limits.max_attribute_bytes {
            return Err(unsafe_(format!(
                "attribute {} of element {} at line {line} exceeds {} bytes",
                String::from_utf8_lossy(key),
                el.name,
                limits.max_attribute_bytes
            )));
        }
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let value = a
            .unescape_value()
            .map_err(|e| XmlError::Malformed(format!("{e} (line {line})")))?
            .into_owned();
        let (ans, _) = reader.resolve_attribute(a.key);
        match ans {
            ResolveResult::Unbound => {
                el.attrs
                    .push((String::from_utf8_lossy(key).into_owned(), value));
            }
            ResolveResult::Bound(_) => el
                .qualified_attrs
                .push(String::from_utf8_lossy(key).into_owned()),
            ResolveResult::Unknown(p) => {
                return Err(XmlError::Malformed(format!(
                    "undeclared namespace prefix {} at line {line}",
                    String::from_utf8_lossy(&p)
                )));
            }
        }
    }
    Ok(el)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(r: Result<Element, XmlError>) -> &'static str {
        match r {
            Ok(_) => "OK",
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn builds_a_tree_with_entities_resolved() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a xmlns=\"urn:x\" k=\"&quot;1&amp;\">\n <b>x &lt; y &#1046;</b><c/></a>\n";
        let t = scan(doc.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(t.ns, "urn:x");
        assert_eq!(t.attrs, [("k".to_owned(), "\"1&".to_owned())]);
        assert_eq!(t.children[0].text, "x < y Ж");
        assert_eq!(t.children[0].line, 3);
        assert_eq!(t.children[1].name, "c");
    }

    #[test]
    fn refuses() {
        let l = Limits::default();
        assert_eq!(
            kind(scan(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", &l)),
            "UNSAFE"
        );
        assert_eq!(kind(scan(b"<a>&x;</a>", &l)), "MALFORMED");
        assert_eq!(kind(scan(b"<a><b></a>", &l)), "MALFORMED");
        assert_eq!(kind(scan(b"<a>", &l)), "MALFORMED");
        assert_eq!(kind(scan(b"<a/><b/>", &l)), "MALFORMED");
        assert_eq!(kind(scan(b"<a>\xff</a>", &l)), "MALFORMED");
        assert_eq!(
            kind(scan(
                b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><a/>",
                &l
            )),
            "UNSUPPORTED"
        );
        assert_eq!(kind(scan(b"<?pi x?><a/>", &l)), "UNSAFE");
        assert_eq!(kind(scan(b"<p:a/>", &l)), "MALFORMED");
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(kind(scan(deep.as_bytes(), &l)), "UNSAFE");
        let wide = format!(
            "<a {}/>",
            (0..40)
                .map(|i| format!("a{i}=\"1\""))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(kind(scan(wide.as_bytes(), &l)), "UNSAFE");
        let long = format!("<a b=\"{}\"/>", "x".repeat(20_000));
        assert_eq!(kind(scan(long.as_bytes(), &l)), "UNSAFE");
    }
}
