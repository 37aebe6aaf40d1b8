//! Powers of attorney (МЧД): reading them, their exact document bytes, and the public status
//! check anyone can run by НомДовер (the `СведСист` URL written into every document).

use chrono::{NaiveDate, NaiveDateTime};

use crate::domain::caller::Caller;
use crate::domain::organization::Organization;
use crate::domain::page;
use crate::domain::poa::{PoaState, PowerOfAttorney, StoredState};
use crate::storage::poa::PoaFilter;
use crate::storage::{self, DbConnection};

use super::error::ServiceError;
use super::{Core, Page, authz, page_of, page_start};

#[derive(Debug, Clone, Default)]
pub struct ListPoas {
    pub organization_oid: i64,
    pub representative_person_oid: Option<i64>,
    pub power_code: Option<String>,
    pub state: Option<PoaState>,
    pub active_on: Option<NaiveDate>,
    pub page_size: i32,
    pub page_token: String,
}

/// A power of attorney with the state it is in today and where its status can be checked.
#[derive(Debug, Clone)]
pub struct PoaView {
    pub poa: PowerOfAttorney,
    pub state: PoaState,
    pub status_url: String,
}

/// The exact bytes of a document.
#[derive(Debug, Clone)]
pub struct DocumentFile {
    pub file_name: String,
    pub content: Vec<u8>,
    /// The detached signature stored with it (DER), if signed.
    pub signature: Option<Vec<u8>>,
}

/// The public page where anyone checks a power of attorney's status (`СведСист`).
pub fn status_url(base: &str, number: &str) -> String {
    format!(
        "{}/poa/check-status?guid={number}",
        base.trim_end_matches('/')
    )
}

/// What the public status check shows: no personal data of the representative.
#[derive(Debug, Clone)]
pub struct PoaStatus {
    pub number: String,
    pub state: PoaState,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub principal_name: String,
    pub principal_inn: String,
    pub principal_ogrn: String,
    pub revoked_at: Option<NaiveDateTime>,
}

pub(super) fn org_of(conn: &mut DbConnection, oid: i64) -> Result<Organization, ServiceError> {
    storage::organizations::get(conn, oid)?
        .ok_or_else(|| ServiceError::not_found("organization", oid))
}

impl Core {
    pub(super) fn poa_view(&self, poa: PowerOfAttorney, today: NaiveDate) -> PoaView {
        PoaView {
            state: poa.state_on(today),
            status_url: status_url(&self.public_base_url, &poa.number),
            poa,
        }
    }

    pub async fn get_power_of_attorney(
        &self,
        caller: &Caller,
        number: String,
    ) -> Result<PoaView, ServiceError> {
        let today = self.clock.now().date();
        let caller = caller.clone();
        let poa = self
            .db
            .read(move |c| {
                let p = storage::poa::get(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let org = org_of(c, p.organization_oid)?;
                authz::read_power_of_attorney(&caller, &org, p.representative_person_oid)?;
                Ok(p)
            })
            .await?;
        Ok(self.poa_view(poa, today))
    }

    pub async fn get_document(
        &self,
        caller: &Caller,
        number: String,
    ) -> Result<DocumentFile, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let p = storage::poa::get(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let org = org_of(c, p.organization_oid)?;
                authz::read_power_of_attorney(&caller, &org, p.representative_person_oid)?;
                let content = storage::poa::document(c, &number)?
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let signature = storage::poa_signed::signature(c, &number)?;
                Ok(DocumentFile {
                    file_name: p.file_name(),
                    content,
                    signature,
                })
            })
            .await
    }

    pub async fn list_powers_of_attorney(
        &self,
        caller: &Caller,
        q: ListPoas,
    ) -> Result<Page<PoaView>, ServiceError> {
        let today = self.clock.now().date();
        let fp = page::fingerprint(&[
            &q.organization_oid.to_string(),
            &q.representative_person_oid.unwrap_or(0).to_string(),
            q.power_code.as_deref().unwrap_or(""),
            q.state.map(|s| s.as_str()).unwrap_or(""),
            &q.active_on.map(|d| d.to_string()).unwrap_or_default(),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let after = after
            .map(|a| {
                a.split_once('|')
                    .and_then(|(t, n)| {
                        NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                            .ok()
                            .map(|t| (t, n.to_owned()))
                    })
                    .ok_or_else(|| {
                        ServiceError::invalid("page_token", "is not a token this list returned")
                    })
            })
            .transpose()?;
        let mut f = PoaFilter {
            organization_oid: q.organization_oid,
            representative_person_oid: q.representative_person_oid,
            power_code: q.power_code.clone(),
            active_on: q.active_on,
            ..Default::default()
        };
        // The state seen today is the stored state plus the dates.
        match q.state {
            None => {}
            Some(PoaState::Draft) => f.stored_states = Some(vec![StoredState::Draft]),
            Some(PoaState::Discarded) => f.stored_states = Some(vec![StoredState::Discarded]),
            Some(PoaState::Revoked) => f.stored_states = Some(vec![StoredState::Revoked]),
            Some(PoaState::Active) => f.active_on = Some(f.active_on.unwrap_or(today)),
            Some(PoaState::New) => {
                f.stored_states = Some(vec![StoredState::Signed]);
                f.start_after = Some(today);
            }
            Some(PoaState::Expired) => {
                f.stored_states = Some(vec![StoredState::Signed]);
                f.end_before = Some(today);
            }
        }
        let caller = caller.clone();
        let org_oid = q.organization_oid;
        let items = self
            .db
            .read(move |c| {
                let org = org_of(c, org_oid)?;
                authz::list_powers_of_attorney(&caller, &org)?;
                Ok(storage::poa::list(c, &f, after, size + 1)?)
            })
            .await?;
        let page = page_of(items, size, &fp, |p| {
            format!(
                "{}|{}",
                p.created_at.format("%Y-%m-%dT%H:%M:%S%.f"),
                p.number
            )
        });
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|p| self.poa_view(p, today))
                .collect(),
            next_page_token: page.next_page_token,
        })
    }

    /// The public status of a signed (or revoked) power of attorney; drafts are not public.
    pub async fn poa_status(&self, number: String) -> Result<PoaStatus, ServiceError> {
        let today = self.clock.now().date();
        self.db
            .read(move |c| {
                let p = storage::poa::get(c, &number)?
                    .filter(|p| {
                        matches!(p.stored_state, StoredState::Signed | StoredState::Revoked)
                    })
                    .ok_or_else(|| ServiceError::not_found("power_of_attorney", &number))?;
                let org = org_of(c, p.organization_oid)?;
                let revoked_at = storage::poa::revoked_at(c, &number)?;
                Ok(PoaStatus {
                    state: p.state_on(today),
                    number: p.number,
                    start_date: p.start_date,
                    end_date: p.end_date,
                    principal_name: org.full_name,
                    principal_inn: org.inn,
                    principal_ogrn: org.ogrn,
                    revoked_at,
                })
            })
            .await
    }

    /// Whether an active power of attorney of `org` grants `person` the power on `day`.
    pub async fn is_authorised(
        &self,
        caller: &Caller,
        q: IsAuthorised,
    ) -> Result<Option<(String, NaiveDate)>, ServiceError> {
        let day = q.on.unwrap_or_else(|| self.clock.now().date());
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let org = org_of(c, q.organization_oid)?;
                authz::check_authorisation(&caller, &org, q.person_oid)?;
                Ok(storage::poa::granting(
                    c,
                    org.oid,
                    q.person_oid,
                    &q.power_code,
                    q.information_system.as_deref().unwrap_or(""),
                    day,
                )?)
            })
            .await
    }
}

/// An `IsAuthorised` question.
#[derive(Debug, Clone)]
pub struct IsAuthorised {
    pub person_oid: i64,
    pub organization_oid: i64,
    pub power_code: String,
    pub information_system: Option<String>,
    pub on: Option<NaiveDate>,
}
