//! Throughput of the xml module: EMCHD_1 documents rendered, parsed (guards + XSD + model +
//! field rules) and schema-validated per second, on the `full.xml` fixture's model and on one
//! with twelve powers.
//!
//! `cargo bench --bench xml`

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orgadm::xml::{
    Address, AddressLine, FullName, IdentityDocument, Individual, MachinePower, PowerOfAttorney,
    Principal, Redelegation, Revocability, parse, validate_against_schema,
};
use uuid::Uuid;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn model(powers: usize) -> PowerOfAttorney {
    let number = Uuid::from_u128(0x2b1c9a4e_5f7d_4c3b_9e8a_1d2f3a4b5c6d);
    PowerOfAttorney {
        number,
        internal_number: "42/2026".into(),
        issue_date: date(2026, 11, 23),
        end_date: date(2027, 11, 22),
        revocability: Revocability::Revocable,
        redelegation: Redelegation::None,
        status_url: format!("https://orgadm.example.test/poa/check-status?guid={number}"),
        principal: Principal {
            name: "Общество с ограниченной ответственностью \"Ромашка & Ко\"".into(),
            inn: "7707083893".into(),
            kpp: "773601001".into(),
            ogrn: "1027700132195".into(),
            address: Some(Address {
                region: "77".into(),
                fias_id: None,
                line: Some(AddressLine::Plain(
                    "г. Москва, ул. Вавилова, д. 19 <офис 1>".into(),
                )),
            }),
        },
        head: Individual {
            name: FullName {
                surname: "Иванов".into(),
                given_name: "Иван".into(),
                patronymic: Some("Иванович".into()),
            },
            inn: Some("500100732259".into()),
            snils: "11223344595".into(),
            position: Some("Генеральный директор".into()),
            birth_date: None,
            identity_document: None,
        },
        representative: Individual {
            name: FullName {
                surname: "Петрова-Д'Артаньян".into(),
                given_name: "Анна".into(),
                patronymic: Some("Сергеевна".into()),
            },
            inn: Some("136426212906".into()),
            snils: "94580730233".into(),
            position: None,
            birth_date: Some(date(1990, 5, 17)),
            identity_document: Some(IdentityDocument {
                kind_code: "21".into(),
                series_number: "45 08 123456".into(),
                issue_date: date(2010, 6, 1),
                issuer: Some("ОВД \"Хамовники\" г. Москвы".into()),
                issuer_code: Some("770-001".into()),
                expiry_date: None,
            }),
        },
        powers: (1..=powers)
            .map(|i| MachinePower {
                code: format!("ORGADM_POWER_{i:03}"),
                name: format!("Полномочие № {i} — «проверка» & <экранирование>"),
                mnemonic: None,
                restrictions: vec![],
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    for powers in [1usize, 12] {
        let poa = model(powers);
        let Ok(bytes) = poa.render() else { return };
        let mut g = c.benchmark_group(format!("emchd_{powers}_powers"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("render", |b| b.iter(|| black_box(&poa).render()));
        g.bench_function("schema_validate", |b| {
            b.iter(|| validate_against_schema(black_box(&bytes)))
        });
        g.bench_function("parse", |b| b.iter(|| parse(black_box(&bytes))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
