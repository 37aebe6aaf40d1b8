//! `orgadm.v1.PowerOfAttorneyService` and its conversions.

use chrono::NaiveDate;
use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::timestamp;
use super::pb::{self, power_of_attorney_service_server::PowerOfAttorneyService};
use crate::domain::poa::{DraftFields, DraftInput, IdentityDocumentInput, PoaState, Redelegation};
use crate::service::poa::{DocumentFile, IsAuthorised, ListPoas, PoaView};
use crate::service::poa_drafts::{CreateDraft, UpdateDraft};
use crate::service::poa_import::{ImportOutcome, ImportProblem};
use crate::service::{Core, ServiceError, etag, idempotency};

pub struct PoaApi {
    pub core: Core,
}

fn redelegation_in(v: i32) -> Option<Redelegation> {
    match pb::Redelegation::try_from(v).ok()? {
        pb::Redelegation::None => Some(Redelegation::None),
        pb::Redelegation::Once => Some(Redelegation::Once),
        pb::Redelegation::Onward => Some(Redelegation::Onward),
        pb::Redelegation::Unspecified => None,
    }
}

fn state_out(s: PoaState) -> i32 {
    (match s {
        PoaState::Draft => pb::PowerOfAttorneyState::Draft,
        PoaState::Discarded => pb::PowerOfAttorneyState::Discarded,
        PoaState::New => pb::PowerOfAttorneyState::New,
        PoaState::Active => pb::PowerOfAttorneyState::Active,
        PoaState::Expired => pb::PowerOfAttorneyState::Expired,
        PoaState::Revoked => pb::PowerOfAttorneyState::Revoked,
    }) as i32
}

fn state_in(v: i32) -> Result<Option<PoaState>, ServiceError> {
    Ok(match pb::PowerOfAttorneyState::try_from(v) {
        Ok(pb::PowerOfAttorneyState::Unspecified) => None,
        Ok(pb::PowerOfAttorneyState::Draft) => Some(PoaState::Draft),
        Ok(pb::PowerOfAttorneyState::Discarded) => Some(PoaState::Discarded),
        Ok(pb::PowerOfAttorneyState::New) => Some(PoaState::New),
        Ok(pb::PowerOfAttorneyState::Active) => Some(PoaState::Active),
        Ok(pb::PowerOfAttorneyState::Expired) => Some(PoaState::Expired),
        Ok(pb::PowerOfAttorneyState::Revoked) => Some(PoaState::Revoked),
        Err(_) => return Err(ServiceError::invalid("state", "is not a known state")),
    })
}

fn number_in(number: &str) -> Result<String, ServiceError> {
    uuid::Uuid::parse_str(number.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ServiceError::invalid("number", "must be a НомДовер (a UUID)"))
}

fn contents_in(c: Option<pb::DraftContents>) -> Result<DraftFields, ServiceError> {
    let Some(pb::DraftContents {
        internal_number,
        representative_person_oid,
        representative_document,
        head_position,
        start_date,
        end_date,
        redelegation,
        irrevocable,
        powers,
    }) = c
    else {
        return Err(ServiceError::invalid("contents", "is required"));
    };
    let input = DraftInput {
        internal_number,
        representative_person_oid,
        representative_document: representative_document.map(
            |pb::IdentityDocument {
                 kind_code,
                 series_number,
                 issue_date,
                 issuer,
                 issuer_code,
             }| IdentityDocumentInput {
                kind_code,
                series_number,
                issue_date,
                issuer,
                issuer_code,
            },
        ),
        head_position,
        start_date,
        end_date,
        redelegation: redelegation_in(redelegation),
        irrevocable,
        powers: powers
            .into_iter()
            .map(
                |pb::PowerGrant {
                     code,
                     information_system,
                 }| (code, information_system),
            )
            .collect(),
    };
    Ok(input.validate()?)
}

impl From<PoaView> for pb::PowerOfAttorney {
    fn from(v: PoaView) -> Self {
        let file_name = v.poa.file_name();
        let p = v.poa;
        pb::PowerOfAttorney {
            number: p.number,
            organization_oid: p.organization_oid,
            state: state_out(v.state),
            internal_number: p.internal_number,
            principal_person_oid: p.principal_person_oid,
            representative_person_oid: p.representative_person_oid.unwrap_or(0),
            start_date: p.start_date.to_string(),
            end_date: p.end_date.to_string(),
            redelegation: (match p.redelegation {
                Redelegation::None => pb::Redelegation::None,
                Redelegation::Once => pb::Redelegation::Once,
                Redelegation::Onward => pb::Redelegation::Onward,
            }) as i32,
            revocable: p.revocable,
            powers: p
                .powers
                .into_iter()
                .map(|g| pb::PowerGrant {
                    code: g.code,
                    information_system: g.information_system.unwrap_or_default(),
                })
                .collect(),
            file_name,
            status_url: v.status_url,
            create_time: timestamp(&p.created_at),
            update_time: timestamp(&p.updated_at),
            etag: etag(p.version),
        }
    }
}

impl From<DocumentFile> for pb::Document {
    fn from(d: DocumentFile) -> Self {
        pb::Document {
            streebog256_hex: hex::encode(crate::crypto::streebog::streebog256(&d.content)),
            file_name: d.file_name,
            content: d.content,
            signature: d.signature.unwrap_or_default(),
        }
    }
}

impl From<ImportProblem> for pb::ImportProblem {
    fn from(p: ImportProblem) -> Self {
        pb::ImportProblem {
            reason: p.reason,
            field: p.field,
            line: p.line.map_or(0, |l| i32::try_from(l).unwrap_or(i32::MAX)),
            message: p.message,
        }
    }
}

impl From<ImportOutcome> for pb::ImportDocumentResponse {
    fn from(o: ImportOutcome) -> Self {
        let (verdict, problems, poa) = match o {
            ImportOutcome::Valid(v) => (pb::ImportVerdict::Valid, vec![], Some((*v).into())),
            ImportOutcome::Invalid(p) => (pb::ImportVerdict::Invalid, p, None),
            ImportOutcome::CannotValidate(p) => (pb::ImportVerdict::CannotValidate, p, None),
        };
        pb::ImportDocumentResponse {
            verdict: verdict as i32,
            problems: problems.into_iter().map(Into::into).collect(),
            power_of_attorney: poa,
        }
    }
}

#[tonic::async_trait]
impl PowerOfAttorneyService for PoaApi {
    async fn prepare_revocation(
        &self,
        req: Request<pb::PrepareRevocationRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let caller = caller(&req)?;
        let pb::PrepareRevocationRequest { number, reason } = req.into_inner();
        let number = number_in(&number)?;
        let reason = (!reason.trim().is_empty()).then(|| reason.trim().to_owned());
        Ok(Response::new(
            self.core
                .prepare_revocation(&caller, number, reason)
                .await?
                .into(),
        ))
    }

    async fn submit_revocation(
        &self,
        req: Request<pb::SubmitRevocationRequest>,
    ) -> Result<Response<pb::PowerOfAttorney>, Status> {
        let caller = caller(&req)?;
        let pb::SubmitRevocationRequest {
            number,
            statement,
            signature,
        } = req.into_inner();
        let number = number_in(&number)?;
        Ok(Response::new(
            self.core
                .submit_revocation(&caller, number, statement, signature)
                .await?
                .into(),
        ))
    }

    async fn get_revocation(
        &self,
        req: Request<pb::GetRevocationRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let caller = caller(&req)?;
        let pb::GetRevocationRequest { number } = req.into_inner();
        let d = self
            .core
            .get_revocation(&caller, number_in(&number)?)
            .await?;
        Ok(Response::new(d.into()))
    }

    async fn import_document(
        &self,
        req: Request<pb::ImportDocumentRequest>,
    ) -> Result<Response<pb::ImportDocumentResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ImportDocumentRequest {
            document,
            signature,
        } = req.into_inner();
        Ok(Response::new(
            self.core
                .import_document(&caller, document, signature)
                .await?
                .into(),
        ))
    }

    async fn create_draft(
        &self,
        req: Request<pb::CreateDraftRequest>,
    ) -> Result<Response<pb::PowerOfAttorney>, Status> {
        let caller = caller(&req)?;
        let pb::CreateDraftRequest {
            request_id,
            organization_oid,
            contents,
        } = req.into_inner();
        let request_id = idempotency::parse_request_id(&request_id)?;
        if organization_oid <= 0 {
            return Err(ServiceError::invalid("organization_oid", "is required").into());
        }
        let cmd = CreateDraft {
            request_id,
            organization_oid,
            contents: contents_in(contents)?,
        };
        Ok(Response::new(
            self.core.create_draft(&caller, cmd).await?.into(),
        ))
    }

    async fn update_draft(
        &self,
        req: Request<pb::UpdateDraftRequest>,
    ) -> Result<Response<pb::PowerOfAttorney>, Status> {
        let caller = caller(&req)?;
        let pb::UpdateDraftRequest {
            number,
            etag,
            contents,
        } = req.into_inner();
        let cmd = UpdateDraft {
            number: number_in(&number)?,
            etag,
            contents: contents_in(contents)?,
        };
        Ok(Response::new(
            self.core.update_draft(&caller, cmd).await?.into(),
        ))
    }

    async fn discard_draft(
        &self,
        req: Request<pb::DiscardDraftRequest>,
    ) -> Result<Response<pb::PowerOfAttorney>, Status> {
        let caller = caller(&req)?;
        let pb::DiscardDraftRequest { number, etag } = req.into_inner();
        let number = number_in(&number)?;
        Ok(Response::new(
            self.core.discard_draft(&caller, number, etag).await?.into(),
        ))
    }

    async fn get_document(
        &self,
        req: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let caller = caller(&req)?;
        let pb::GetDocumentRequest { number } = req.into_inner();
        let d = self.core.get_document(&caller, number_in(&number)?).await?;
        Ok(Response::new(d.into()))
    }

    async fn submit_signature(
        &self,
        req: Request<pb::SubmitSignatureRequest>,
    ) -> Result<Response<pb::PowerOfAttorney>, Status> {
        let caller = caller(&req)?;
        let pb::SubmitSignatureRequest {
            number,
            etag,
            signature,
        } = req.into_inner();
        let number = number_in(&number)?;
        Ok(Response::new(
            self.core
                .submit_signature(&caller, number, etag, signature)
                .await?
                .into(),
        ))
    }

    async fn is_authorised(
        &self,
        req: Request<pb::IsAuthorisedRequest>,
    ) -> Result<Response<pb::IsAuthorisedResponse>, Status> {
        let caller = caller(&req)?;
        let pb::IsAuthorisedRequest {
            person_oid,
            organization_oid,
            power_code,
            information_system,
            on,
        } = req.into_inner();
        let mut v = crate::domain::Violations::new();
        if person_oid <= 0 {
            v.add("person_oid", "is required");
        }
        if organization_oid <= 0 {
            v.add("organization_oid", "is required");
        }
        let code = crate::domain::power::code(&mut v, "power_code", &power_code);
        let system = if information_system.trim().is_empty() {
            None
        } else {
            crate::domain::poa::client_id(&mut v, "information_system", &information_system)
        };
        let on = if on.trim().is_empty() {
            None
        } else {
            match NaiveDate::parse_from_str(on.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    v.add("on", "must be a date YYYY-MM-DD");
                    None
                }
            }
        };
        v.into_result().map_err(ServiceError::from)?;
        let q = IsAuthorised {
            person_oid,
            organization_oid,
            power_code: code.unwrap_or_default(),
            information_system: system,
            on,
        };
        let r = self.core.is_authorised(&caller, q).await?;
        Ok(Response::new(match r {
            Some((number, end)) => pb::IsAuthorisedResponse {
                authorised: true,
                number,
                end_date: end.to_string(),
            },
            None => pb::IsAuthorisedResponse::default(),
        }))
    }

    async fn get_power_of_attorney(
        &self,
        req: Request<pb::GetPowerOfAttorneyRequest>,
    ) -> Result<Response<pb::PowerOfAttorney>, Status> {
        let caller = caller(&req)?;
        let pb::GetPowerOfAttorneyRequest { number } = req.into_inner();
        Ok(Response::new(
            self.core
                .get_power_of_attorney(&caller, number_in(&number)?)
                .await?
                .into(),
        ))
    }

    async fn list_powers_of_attorney(
        &self,
        req: Request<pb::ListPowersOfAttorneyRequest>,
    ) -> Result<Response<pb::ListPowersOfAttorneyResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListPowersOfAttorneyRequest {
            organization_oid,
            representative_person_oid,
            power_code,
            state,
            active_on,
            page_size,
            page_token,
        } = req.into_inner();
        if organization_oid <= 0 {
            return Err(ServiceError::invalid("organization_oid", "is required").into());
        }
        let active_on = if active_on.trim().is_empty() {
            None
        } else {
            Some(
                NaiveDate::parse_from_str(active_on.trim(), "%Y-%m-%d")
                    .map_err(|_| ServiceError::invalid("active_on", "must be a date YYYY-MM-DD"))?,
            )
        };
        let q = ListPoas {
            organization_oid,
            representative_person_oid: (representative_person_oid > 0)
                .then_some(representative_person_oid),
            power_code: (!power_code.trim().is_empty()).then(|| power_code.trim().to_owned()),
            state: state_in(state)?,
            active_on,
            page_size,
            page_token,
        };
        let page = self.core.list_powers_of_attorney(&caller, q).await?;
        Ok(Response::new(pb::ListPowersOfAttorneyResponse {
            powers_of_attorney: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
