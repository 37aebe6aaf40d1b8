//! The bad-input sweep: every RPC of every orgadm service, found in the served descriptor set
//! (so a new RPC is swept without touching this file), is called by every kind of caller with
//! hostile requests — empty, not protobuf at all, and every field of the request message (nested
//! ones too) set to hostile values: SQL and XML injection text, NUL and bidi control characters,
//! 60 KB strings, negative and extreme integers, unknown enum values, junk bytes. Each call must
//! end in a clean status (never INTERNAL, UNKNOWN or DATA_LOSS, never a dropped connection), and
//! after each RPC every table of the database must hold exactly the rows it held before.
//!
//! One table is left out of the comparison on purpose: `token_refusals`, where the token
//! exchange records every refusal (the token issue asks for that record).

use std::collections::BTreeMap;

use orgadm::domain::caller::Role;
use orgadm::transport::grpc::pb;
use prost::Message;
use prost::bytes::{Buf, BufMut};
use prost::encoding::{WireType, encode_key, encode_varint};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;

use crate::both_backends;
use crate::support::*;

/// RPCs whose empty request is a valid one, so it is not swept: organisation 0 is the platform
/// chain, which an operator may export (an `audit.export` event) or checkpoint.
const VALID_WHEN_EMPTY: &[&str] = &[
    "/orgadm.v1.AuditService/ExportEvents",
    "/orgadm.v1.AuditService/CreateCheckpoint",
];

/// Tables whose rows may change on a refused request, by design.
const RECORDS_REFUSALS: &[&str] = &["token_refusals"];

/// Passes raw bytes through gRPC framing both ways.
#[derive(Clone, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let v = src.chunk().to_vec();
        src.advance(v.len());
        Ok(Some(v))
    }
}

/// One set of hostile values, applied to every field of a request.
struct Hostile {
    name: &'static str,
    text: String,
    int: i64,
    bytes: Vec<u8>,
    enum_value: i64,
}

fn hostile_sets() -> Vec<Hostile> {
    vec![
        Hostile {
            name: "injection",
            text: "' OR '1'='1'; DROP TABLE persons; --".into(),
            int: -1,
            bytes: vec![0, 0, 0],
            enum_value: 9999,
        },
        Hostile {
            name: "huge",
            text: "я".repeat(30_000),
            int: i64::MAX,
            bytes: vec![0xab; 65_536],
            enum_value: -1,
        },
        Hostile {
            name: "control",
            text: "\u{0}\u{202e}<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>"
                .into(),
            int: i64::MIN,
            bytes: b"0\x82\xff\xff\x06\x09*\x86H\x86\xf7\r\x01\x07\x02".to_vec(),
            enum_value: i64::from(i32::MAX),
        },
        Hostile {
            name: "blank",
            text: " \t\n".into(),
            // Not 0: organisation 0 is the platform chain, a valid target (an operator may
            // export it or sign its checkpoint, which are real changes, not refusals).
            int: -2,
            bytes: Vec::new(),
            enum_value: 0,
        },
    ]
}

/// The request and response types of one RPC.
struct Rpc {
    path: String,
    input: String,
    server_streaming: bool,
}

struct Catalogue {
    messages: BTreeMap<String, DescriptorProto>,
    rpcs: Vec<Rpc>,
}

fn catalogue() -> Catalogue {
    let set = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let mut messages = BTreeMap::new();
    let mut rpcs = Vec::new();
    fn collect(prefix: &str, m: &DescriptorProto, out: &mut BTreeMap<String, DescriptorProto>) {
        let name = format!("{prefix}.{}", m.name());
        for n in &m.nested_type {
            collect(&name, n, out);
        }
        out.insert(name, m.clone());
    }
    for f in &set.file {
        let pkg = format!(".{}", f.package());
        for m in &f.message_type {
            collect(&pkg, m, &mut messages);
        }
        for s in &f.service {
            for m in &s.method {
                rpcs.push(Rpc {
                    path: format!("/{}.{}/{}", f.package(), s.name(), m.name()),
                    input: m.input_type().to_owned(),
                    server_streaming: m.server_streaming(),
                });
            }
        }
    }
    Catalogue { messages, rpcs }
}

/// Encodes `message` with every field set from `h`; nested messages likewise, to a depth.
fn encode_hostile(cat: &Catalogue, message: &str, h: &Hostile, depth: u32, out: &mut Vec<u8>) {
    let Some(m) = cat.messages.get(message) else {
        return; // a well-known type from outside the set: sent empty
    };
    for f in &m.field {
        let tag = f.number() as u32;
        let times = if f.label() == Label::Repeated { 2 } else { 1 };
        for _ in 0..times {
            match f.r#type() {
                Type::String => {
                    encode_key(tag, WireType::LengthDelimited, out);
                    encode_varint(h.text.len() as u64, out);
                    out.extend_from_slice(h.text.as_bytes());
                }
                Type::Bytes => {
                    encode_key(tag, WireType::LengthDelimited, out);
                    encode_varint(h.bytes.len() as u64, out);
                    out.extend_from_slice(&h.bytes);
                }
                Type::Message if depth < 4 => {
                    let mut inner = Vec::new();
                    encode_hostile(cat, f.type_name(), h, depth + 1, &mut inner);
                    encode_key(tag, WireType::LengthDelimited, out);
                    encode_varint(inner.len() as u64, out);
                    out.extend_from_slice(&inner);
                }
                Type::Message | Type::Group => {}
                Type::Enum => {
                    encode_key(tag, WireType::Varint, out);
                    encode_varint(h.enum_value as u64, out);
                }
                Type::Bool => {
                    encode_key(tag, WireType::Varint, out);
                    encode_varint(1, out);
                }
                Type::Sint32 | Type::Sint64 => {
                    encode_key(tag, WireType::Varint, out);
                    encode_varint(((h.int << 1) ^ (h.int >> 63)) as u64, out);
                }
                Type::Fixed64 | Type::Sfixed64 | Type::Double => {
                    encode_key(tag, WireType::SixtyFourBit, out);
                    out.extend_from_slice(&h.int.to_le_bytes());
                }
                Type::Fixed32 | Type::Sfixed32 | Type::Float => {
                    encode_key(tag, WireType::ThirtyTwoBit, out);
                    out.extend_from_slice(&(h.int as i32).to_le_bytes());
                }
                Type::Int32 | Type::Int64 | Type::Uint32 | Type::Uint64 => {
                    encode_key(tag, WireType::Varint, out);
                    encode_varint(h.int as u64, out);
                }
            }
        }
    }
}

/// One query returning every row of every table as `table|row text`.
fn snapshot_query(db: &TestDb) -> String {
    let pg = db.url.starts_with("postgres");
    let tables = if pg {
        query_texts(
            db,
            "SELECT tablename AS v FROM pg_tables WHERE schemaname = 'public'",
        )
    } else {
        query_texts(
            db,
            "SELECT name AS v FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
    };
    tables
        .iter()
        .filter(|t| !RECORDS_REFUSALS.contains(&t.as_str()))
        .map(|t| {
            if pg {
                format!("SELECT '{t}|' || t::text AS v FROM \"{t}\" t")
            } else {
                let cols = query_texts(
                    db,
                    &format!("SELECT name AS v FROM pragma_table_info('{t}')"),
                );
                let row = cols
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                format!("SELECT '{t}|' || {row} AS v FROM \"{t}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Every row of every table, as text, by table.
fn snapshot(db: &TestDb, query: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in query_texts(db, query) {
        let (t, row) = v.split_once('|').unwrap_or((&v, ""));
        out.entry(t.to_owned()).or_default().push(row.to_owned());
    }
    for rows in out.values_mut() {
        rows.sort();
    }
    out
}

fn difference(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut tables: Vec<_> = before.keys().chain(after.keys()).collect();
    tables.sort();
    tables.dedup();
    tables
        .into_iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .map(|t| {
            let b = before.get(t).map_or(0, Vec::len);
            let a = after.get(t).map_or(0, Vec::len);
            format!("{t} ({b} rows before, {a} after)")
        })
        .collect()
}

/// A caller: credentials and the acting person.
struct As {
    name: &'static str,
    token: Option<String>,
    person: Option<i64>,
}

async fn call(
    ch: &tonic::transport::Channel,
    who: &As,
    rpc: &Rpc,
    body: Vec<u8>,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut req = tonic::Request::new(body);
    if let Some(t) = &who.token {
        let v: MetadataValue<_> = format!("Bearer {t}").parse().unwrap();
        req.metadata_mut().insert("authorization", v);
    }
    if let Some(p) = who.person {
        req.metadata_mut()
            .insert("x-orgadm-person", p.to_string().parse().unwrap());
    }
    let path = rpc.path.parse().unwrap();
    if rpc.server_streaming {
        let mut stream = grpc
            .server_streaming::<_, Vec<u8>, _>(req, path, RawCodec)
            .await?
            .into_inner();
        while stream.message().await?.is_some() {}
        Ok(())
    } else {
        grpc.unary::<_, Vec<u8>, _>(req, path, RawCodec)
            .await
            .map(|_| ())
    }
}

async fn every_rpc_refuses_hostile_input_and_changes_nothing(s: &TestServer) {
    // A small world the callers belong to.
    let mut op = s.as_operator().await;
    let head = confirmed_person(&mut op, "Руководитель", 1).await;
    let org = op
        .orgs
        .register_organization(pb::RegisterOrganizationRequest {
            vendor: true,
            ..org_req(head)
        })
        .await
        .unwrap()
        .into_inner()
        .oid;
    let portal = s.client("portal", Role::Portal, None).await;
    let vendor = s.client("vendor", Role::Vendor, Some(org)).await;
    let auditor = s.client("auditor", Role::Auditor, Some(org)).await;
    let callers = [
        As {
            name: "operator",
            token: Some(s.operator.clone()),
            person: None,
        },
        As {
            name: "portal as the head",
            token: Some(portal),
            person: Some(head),
        },
        As {
            name: "vendor",
            token: Some(vendor),
            person: None,
        },
        As {
            name: "auditor",
            token: Some(auditor),
            person: None,
        },
        As {
            name: "anonymous",
            token: None,
            person: None,
        },
    ];

    let cat = catalogue();
    assert!(
        cat.rpcs.len() >= 50,
        "only {} RPCs found in the descriptor set",
        cat.rpcs.len()
    );
    let ch = s.channel().await;
    let sets = hostile_sets();
    let everything = snapshot_query(&s.db);
    let mut calls = 0;
    let mut faults = Vec::new();
    let mut codes: BTreeMap<String, u32> = BTreeMap::new();
    for rpc in &cat.rpcs {
        let mut bodies: Vec<(&str, Vec<u8>)> = vec![(
            "not protobuf",
            vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80],
        )];
        if !VALID_WHEN_EMPTY.contains(&rpc.path.as_str()) {
            bodies.push(("empty", Vec::new()));
        }
        for h in &sets {
            let mut b = Vec::new();
            encode_hostile(&cat, &rpc.input, h, 0, &mut b);
            bodies.push((h.name, b));
        }
        let before = snapshot(&s.db, &everything);
        for who in &callers {
            for (what, body) in &bodies {
                let r = call(&ch, who, rpc, body.clone()).await;
                calls += 1;
                let code = r.as_ref().err().map_or(Code::Ok, tonic::Status::code);
                if matches!(code, Code::Internal | Code::Unknown | Code::DataLoss) {
                    faults.push(format!(
                        "{} as {}, {what} request: {code:?} {}",
                        rpc.path,
                        who.name,
                        r.err().map(|e| e.message().to_owned()).unwrap_or_default()
                    ));
                }
                *codes.entry(format!("{code:?}")).or_default() += 1;
            }
        }
        let after = snapshot(&s.db, &everything);
        let changed = difference(&before, &after);
        if !changed.is_empty() {
            faults.push(format!(
                "{} changed the database on hostile input: {changed:?}",
                rpc.path
            ));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
    println!("{} RPCs, {calls} hostile calls: {codes:?}", cat.rpcs.len());
    // Still serving after all of it.
    let mut op = s.as_operator().await;
    confirmed_person(&mut op, "Последний", 2).await;
}

both_backends!(every_rpc_refuses_hostile_input_and_changes_nothing);
