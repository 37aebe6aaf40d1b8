//! The powers-of-attorney scenario: rendering, bare CMS verification and `SubmitSignature`.

use super::*;

/// Powers of attorney: rendering, bare verification and signature submission, one run.
pub async fn run_signatures(a: SigArgs) -> anyhow::Result<()> {
    use orgadm::crypto::{cert::Certificate, cms, keys, trust::TrustStore};
    use orgadm::domain::poa::{DraftFields, PowerGrant, Redelegation};
    use orgadm::service::poa_drafts::CreateDraft;

    let c = &a.common;
    let db = fresh(c, "sig")?;
    let mut cfg = DbConfig::new(db.url.clone());
    cfg.pool_size = a.pool_size;
    cfg.sqlite_synchronous = c.sqlite_synchronous.clone();
    let trust = TrustStore::from_dir(&a.trust_dir)
        .map_err(|e| anyhow::anyhow!("trust dir {}: {e}", a.trust_dir.display()))?;
    let core = orgadm::app::open(cfg, None)
        .await?
        .with_trust(trust.clone());
    let trust = Arc::new(trust);
    let key = keys::private_key_from_pem(&std::fs::read_to_string(a.pki_dir.join("head.key.pem"))?)
        .map_err(|e| anyhow::anyhow!("head key: {e}"))?;
    let cert = Certificate::from_pem(&std::fs::read_to_string(a.pki_dir.join("head.cert.pem"))?)
        .map_err(|e| anyhow::anyhow!("head certificate: {e}"))?;

    // The head and organisation the test PKI's head certificate names.
    let op = caller(&core, Role::Operator, "load-operator", None).await?;
    let head = core
        .register_person(
            &op,
            RegisterPerson {
                request_id: None,
                fields: PersonInput {
                    surname: "Петров".into(),
                    given_name: "Пётр".into(),
                    patronymic: "Петрович".into(),
                    snils: "12345678964".into(),
                    inn: "771234567859".into(),
                    level: Some(AccountLevel::Confirmed),
                    ..Default::default()
                }
                .validate()
                .map_err(|v| anyhow::anyhow!("{v:?}"))?,
            },
        )
        .await
        .map_err(e)?
        .oid;
    let rep = person(&core, &op, 1).await?;
    let org = core
        .register_organization(
            &op,
            RegisterOrganization {
                request_id: None,
                org: OrganizationInput {
                    kind: Some(OrgKind::LegalEntity),
                    full_name: "Общество с ограниченной ответственностью \"Ромашка\"".into(),
                    short_name: "ООО \"Ромашка\"".into(),
                    ogrn: "1037800000017".into(),
                    inn: "7810010017".into(),
                    kpp: "781001001".into(),
                    address: "г. Санкт-Петербург".into(),
                    head_oid: head,
                    consumer: true,
                    vendor: false,
                }
                .validate()
                .map_err(|v| anyhow::anyhow!("{v:?}"))?,
            },
        )
        .await
        .map_err(e)?
        .oid;
    let (_, portal_token) = core
        .create_client("load-portal".into(), Role::Portal, None)
        .await
        .map_err(e)?;
    let head_caller = Arc::new(
        core.authenticate(Some(&portal_token), Some(head), "load".into())
            .await
            .map_err(e)?,
    );
    let today = core.clock.now().date();
    let contents = DraftFields {
        internal_number: "LOAD/1".into(),
        representative_person_oid: rep,
        representative_document: None,
        head_position: Some("Генеральный директор".into()),
        start_date: today,
        end_date: today + chrono::Duration::days(180),
        redelegation: Redelegation::None,
        revocable: true,
        powers: vec![PowerGrant {
            code: "ORGADM_API_KEY_ISSUE".into(),
            information_system: Some("ROMASHKA_CRM".into()),
        }],
    };

    // 1. Drafts: each renders the EMCHD_1 document, stores it and its audit event.
    let core2 = core.clone();
    let hc = head_caller.clone();
    let cn = contents.clone();
    let drafts_run = drive(c.count, c.concurrency, move |_| {
        let (core, hc, contents) = (core2.clone(), hc.clone(), cn.clone());
        async move {
            core.create_draft(
                &hc,
                CreateDraft {
                    request_id: None,
                    organization_oid: org,
                    contents,
                },
            )
            .await
            .map(|_| ())
        }
    })
    .await;
    // Bare rendering (one thread, no database): the document of the first draft, parsed back
    // into the model and rendered again and again.
    let list = core
        .list_powers_of_attorney(
            &head_caller,
            orgadm::service::poa::ListPoas {
                organization_oid: org,
                page_size: 500,
                ..Default::default()
            },
        )
        .await
        .map_err(e)?;
    let first = list.items.first().context("no drafts")?;
    let doc = core
        .get_document(&head_caller, first.poa.number.clone())
        .await
        .map_err(e)?;
    let model = orgadm::xml::parse(&doc.content).map_err(|e| anyhow::anyhow!("{e}"))?;
    let renders = 2000;
    let t = Instant::now();
    for _ in 0..renders {
        let out = model.render().map_err(|e| anyhow::anyhow!("{e}"))?;
        std::hint::black_box(out);
    }
    let render_rate = renders as f64 / t.elapsed().as_secs_f64();

    // 2. The head signs every draft (not measured).
    let mut numbers = Vec::new();
    let mut token = String::new();
    loop {
        let page = core
            .list_powers_of_attorney(
                &head_caller,
                orgadm::service::poa::ListPoas {
                    organization_oid: org,
                    page_size: 500,
                    page_token: token.clone(),
                    ..Default::default()
                },
            )
            .await
            .map_err(e)?;
        numbers.extend(
            page.items
                .into_iter()
                .map(|v| (v.poa.number, v.poa.version)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let at = core.clock.now().and_utc();
    let mut signed = Vec::with_capacity(numbers.len());
    for (number, version) in numbers {
        let d = core
            .get_document(&head_caller, number.clone())
            .await
            .map_err(e)?;
        let sig =
            cms::sign_detached(&key, &cert, &d.content, at).map_err(|e| anyhow::anyhow!("{e}"))?;
        signed.push((number, version, d.content, sig));
    }
    let signed = Arc::new(signed);
    let n = signed.len();

    // 3. Bare verification: CMS signature + chain with CRLs, on the blocking pool at the
    // same concurrency (what SubmitSignature's verification costs, without the database).
    let s2 = signed.clone();
    let t2 = trust.clone();
    let verify_op = move |i: usize| {
        let (signed, trust) = (s2.clone(), t2.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let (_, _, content, sig) = &signed[i % signed.len()];
                let v = cms::verify_detached(sig, content, &[])
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                trust
                    .verify_chain(&v.signer, &v.certificates, at)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                Ok(())
            })
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
        }
    };
    let verify1 = drive(n, c.concurrency, verify_op.clone()).await;

    // 4. Submissions: verified and stored.
    let core3 = core.clone();
    let s3 = signed.clone();
    let hc = head_caller.clone();
    let submit = drive(n, c.concurrency, move |i| {
        let (core, signed, hc) = (core3.clone(), s3.clone(), hc.clone());
        async move {
            let (number, version, _, sig) = &signed[i];
            core.submit_signature(&hc, number.clone(), format!("v{version}"), sig.clone())
                .await
                .map(|_| ())
        }
    })
    .await;
    let verify2 = drive(n, c.concurrency, verify_op).await;
    let verify_rate = (verify1.rate() + verify2.rate()) / 2.0;
    let backend = match c.backend {
        Backend::Sqlite => format!("sqlite(synchronous={})", c.sqlite_synchronous),
        Backend::Postgres => "postgres".into(),
    };
    println!(
        "scenario=signatures backend={backend} concurrency={} pool={} documents={n}",
        c.concurrency, a.pool_size
    );
    println!("  {}", drafts_run.line("drafts created (render+store)"));
    println!("  bare render (1 thread): {render_rate:.0}/s");
    println!("  {}", verify1.line("bare CMS verify (before)     "));
    println!("  {}", submit.line("SubmitSignature              "));
    println!("  {}", verify2.line("bare CMS verify (after)      "));
    println!(
        "  ratio submissions/bare verify = {:.2} (bare mean {:.0}/s)",
        submit.rate() / verify_rate,
        verify_rate
    );
    if drafts_run.errors > 0 || submit.errors > 0 || verify1.errors > 0 || verify2.errors > 0 {
        anyhow::bail!("some operations failed");
    }
    Ok(())
}
