//! A thin layer over quick-xml's indenting writer: two-space indentation, the XML declaration
//! on the first line, attributes escaped by quick-xml (`<`, `>`, `&`, `'`, `"`), a final newline.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::error::XmlError;

pub(crate) struct XmlOut {
    w: Writer<Vec<u8>>,
}

fn start<'a>(name: &'a str, attrs: &[(&'a str, &'a str)]) -> BytesStart<'a> {
    let mut s = BytesStart::new(name);
    for a in attrs {
        s.push_attribute(*a);
    }
    s
}

impl XmlOut {
    pub fn new(capacity: usize) -> Result<Self, XmlError> {
        let mut w = Writer::new_with_indent(Vec::with_capacity(capacity), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(Self { w })
    }

    /// `<name a="…">` — children follow, then [`XmlOut::end`].
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), XmlError> {
        self.w.write_event(Event::Start(start(name, attrs)))?;
        Ok(())
    }

    /// `<name a="…"/>`
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), XmlError> {
        self.w.write_event(Event::Empty(start(name, attrs)))?;
        Ok(())
    }

    /// `<name a="…">text</name>` on one line.
    pub fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> Result<(), XmlError> {
        self.open(name, attrs)?;
        self.w.write_event(Event::Text(BytesText::new(text)))?;
        self.end(name)
    }

    pub fn end(&mut self, name: &str) -> Result<(), XmlError> {
        self.w.write_event(Event::End(BytesEnd::new(name)))?;
        Ok(())
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out = self.w.into_inner();
        out.push(b'\n');
        out
    }
}

/// Optional attributes: keeps the present ones, in order.
pub(crate) fn attrs<'a>(list: &[(&'a str, Option<&'a str>)]) -> Vec<(&'a str, &'a str)> {
    list.iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect()
}
