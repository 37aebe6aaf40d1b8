//! XML: one `<event>` element per line between a two-line header and the manifest line.
//! Written with `quick_xml::escape` plus character references for line breaks and other control
//! characters (so an event never spans lines); read with quick-xml's reader.

use std::borrow::Cow;

use base64::Engine;
use quick_xml::Reader;
use quick_xml::events::Event;

use super::{EventText, Manifest, hash_from_hex};
use crate::domain::audit::{AuditEvent, canonical_time};

pub const HEADER: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<auditExport xmlns=\"urn:orgadm:audit-export:v1\">\n";
const FOOTER: &str = "</auditExport>";

const EVENT_FIELDS: [&str; 12] = [
    "chain",
    "seq",
    "time",
    "actor_client",
    "actor_person",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "details",
    "prev_hash",
    "hash",
];

/// Escapes text content: the five XML specials, and control characters as character
/// references.
fn push_text(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b < 0x20) {
        out.extend_from_slice(quick_xml::escape::escape(s).as_bytes());
        return;
    }
    for part in s.split_inclusive(|c: char| (c as u32) < 0x20) {
        let (body, ctl) = match part.chars().last() {
            Some(c) if (c as u32) < 0x20 => (&part[..part.len() - 1], Some(c)),
            _ => (part, None),
        };
        out.extend_from_slice(quick_xml::escape::escape(body).as_bytes());
        if let Some(c) = ctl {
            out.extend_from_slice(format!("&#{};", c as u32).as_bytes());
        }
    }
}

fn element(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
    push_text(out, value);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

pub fn write_event(e: &AuditEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<event>");
    let person = e.actor_person.map(|p| p.to_string()).unwrap_or_default();
    let values: [&str; 10] = [
        &e.chain.to_string(),
        &e.seq.to_string(),
        &canonical_time(&e.occurred_at),
        &e.actor_client,
        &person,
        &e.action,
        &e.target_type,
        &e.target_id,
        &e.request_id,
        &e.details,
    ];
    for (name, v) in EVENT_FIELDS.iter().zip(values) {
        element(out, name, v);
    }
    element(out, "prev_hash", &hex::encode(&e.prev_hash));
    element(out, "hash", &hex::encode(&e.hash));
    out.extend_from_slice(b"</event>\n");
}

pub fn manifest_line(m: &Manifest, signature: &[u8]) -> Vec<u8> {
    let mut out = b"<manifest>".to_vec();
    for (name, v) in m.fields() {
        element(&mut out, name, &v);
    }
    element(
        &mut out,
        "signature",
        &base64::engine::general_purpose::STANDARD.encode(signature),
    );
    out.extend_from_slice(b"</manifest>");
    out.extend_from_slice(FOOTER.as_bytes());
    out.push(b'\n');
    out
}

/// Reads `<root><name>text</name>…</root>` from one line into (name, text) pairs.
fn read_flat(line: &str, root: &str, trailer: &str) -> Result<Vec<(String, String)>, String> {
    let body = line
        .strip_suffix(trailer)
        .ok_or_else(|| format!("the line does not end with {trailer}"))?;
    let mut r = Reader::from_str(body);
    let err = |e: quick_xml::Error| format!("not well-formed XML: {e}");
    match r.read_event().map_err(err)? {
        Event::Start(s) if s.name().as_ref() == root.as_bytes() => {}
        _ => return Err(format!("the line is not a <{root}> element")),
    }
    let mut out = Vec::with_capacity(24);
    let mut current: Option<(String, String)> = None;
    loop {
        match r.read_event().map_err(err)? {
            Event::Start(s) => {
                if current.is_some() {
                    return Err(format!("<{root}> fields must not nest"));
                }
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                current = Some((name, String::new()));
            }
            Event::Empty(s) => {
                out.push((
                    String::from_utf8_lossy(s.name().as_ref()).into_owned(),
                    String::new(),
                ));
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| format!("bad text: {e}"))?;
                match &mut current {
                    Some((_, v)) => v.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(format!("stray text in <{root}>")),
                }
            }
            Event::GeneralRef(g) => {
                let Some((_, v)) = &mut current else {
                    return Err(format!("stray reference in <{root}>"));
                };
                if g.is_char_ref() {
                    match g.resolve_char_ref() {
                        Ok(Some(c)) => v.push(c),
                        _ => return Err("a bad character reference".into()),
                    }
                } else {
                    let name = g.decode().map_err(|e| format!("bad reference: {e}"))?;
                    let s = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    v.push_str(s);
                }
            }
            Event::End(e) => {
                if e.name().as_ref() == root.as_bytes() {
                    if current.is_some() {
                        return Err(format!("unclosed field in <{root}>"));
                    }
                    break;
                }
                match current.take() {
                    Some((name, v)) if name.as_bytes() == e.name().as_ref() => out.push((name, v)),
                    _ => return Err("mismatched closing tag".into()),
                }
            }
            Event::Eof => return Err(format!("<{root}> is not closed on its line")),
            _ => return Err(format!("unexpected markup in <{root}>")),
        }
    }
    match r.read_event().map_err(err)? {
        Event::Eof => Ok(out),
        _ => Err(format!("text after </{root}>")),
    }
}

fn to_str(line: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(line).map_err(|_| "the line is not UTF-8".to_owned())
}

pub fn parse_event(line: &[u8]) -> Result<EventText<'static>, String> {
    let pairs = read_flat(to_str(line)?, "event", "")?;
    if pairs.len() != EVENT_FIELDS.len() || pairs.iter().zip(EVENT_FIELDS).any(|((n, _), f)| n != f)
    {
        return Err(format!(
            "an <event> has the fields {} in this order",
            EVENT_FIELDS.join(", ")
        ));
    }
    let mut v = pairs.into_iter().map(|(_, v)| v);
    let mut next = || v.next().unwrap_or_default();
    let num = |name: &str, s: String| -> Result<i64, String> {
        s.parse::<i64>()
            .map_err(|_| format!("{name} is not a number: {s:?}"))
    };
    let chain = num("chain", next())?;
    let seq = num("seq", next())?;
    let time = next();
    let actor_client = next();
    let person = next();
    let actor_person = if person.is_empty() {
        None
    } else {
        Some(num("actor_person", person)?)
    };
    Ok(EventText {
        chain,
        seq,
        time: Cow::Owned(time),
        actor_client: Cow::Owned(actor_client),
        actor_person,
        action: Cow::Owned(next()),
        target_type: Cow::Owned(next()),
        target_id: Cow::Owned(next()),
        request_id: Cow::Owned(next()),
        details: Cow::Owned(next()),
        prev_hash: hash_from_hex("prev_hash", &next())?,
        hash: hash_from_hex("hash", &next())?,
    })
}

pub fn parse_manifest(line: &[u8]) -> Result<Vec<(String, String)>, String> {
    read_flat(to_str(line)?, "manifest", FOOTER)
        .map_err(|e| format!("the last line is not a manifest: {e}"))
}
