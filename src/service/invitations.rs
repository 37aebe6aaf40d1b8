//! Invitation use cases. Creating one is a single transaction: idempotency claim and the access
//! facts (one statement on PostgreSQL), the invitation, its outbox message and the audit event. The
//! link's secret is made by the delivery worker (`service::outbox`) and only its hash is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::streebog::streebog256;
use crate::domain::caller::Caller;
use crate::domain::employee::{
    Employee, EmployeeChanges, Invitation, InvitationState, NewInvitation, ORG_ADMIN, email_key,
};
use crate::domain::page;
use crate::domain::person::AccountLevel;
use crate::storage::idempotency::Claim;
pub use crate::storage::invitations::InvitationFilter;
use crate::storage::outbox::OutboxRow;
use crate::storage::{self, DbConnection, StorageError};

use super::audit_log::{self, EventSpec};
use super::authz;
use super::employees::{Claimed, access, claim_and_access};
use super::error::ServiceError;
use super::{Core, Page, idempotency, page_of, page_start, parse_etag};

/// The outbox message kind of an invitation.
pub const INVITATION_MAIL: &str = "invitation";
/// The inviter named in the message when the platform operator invites.
pub const OPERATOR_INVITER: &str = "Оператор платформы";

#[derive(Debug, Clone)]
pub struct CreateInvitation {
    pub request_id: Option<String>,
    pub invitation: NewInvitation,
}

#[derive(Debug, Clone, Default)]
pub struct ListInvitations {
    pub organization_oid: i64,
    pub filter: InvitationFilter,
    pub page_size: i32,
    pub page_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationChange {
    Resend,
    Revoke,
}

#[derive(Debug, Clone)]
pub struct ChangeInvitation {
    pub organization_oid: i64,
    pub id: String,
    /// Optional: when set, it must be the current etag.
    pub etag: String,
    pub change: InvitationChange,
}

/// What the delivery worker needs to write the message (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvitationPayload {
    pub organization: String,
    pub inviter: String,
    pub invitee_name: String,
    /// RFC 3339 UTC.
    pub expires_at: chrono::NaiveDateTime,
    pub snils_bound: bool,
}

/// The hash under which a link's secret is stored.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    streebog256(secret.as_bytes())
}

/// A link secret: 256 bits from the OS generator, base64url (43 characters).
pub fn new_secret() -> Result<String, ServiceError> {
    Ok(URL_SAFE_NO_PAD.encode(super::random_bytes::<32>()?))
}

fn parse_secret(s: &str) -> Result<String, ServiceError> {
    let t = s.trim();
    if t.len() != 43
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ServiceError::invalid(
            "secret",
            "must be the 43-character secret from the invitation's link",
        ));
    }
    Ok(t.to_owned())
}

fn not_pending(inv: &Invitation, now: chrono::NaiveDateTime) -> Option<ServiceError> {
    let subject = format!("invitation/{}", inv.id);
    let (reason, message) = match inv.state_at(now) {
        InvitationState::Pending => return None,
        InvitationState::Accepted => ("INVITATION_ACCEPTED", "the invitation was already accepted"),
        InvitationState::Declined => ("INVITATION_DECLINED", "the invitation was declined"),
        InvitationState::Revoked => ("INVITATION_REVOKED", "the invitation was revoked"),
        InvitationState::Expired => ("INVITATION_EXPIRED", "the invitation has expired"),
    };
    Some(ServiceError::precondition(reason, subject, message))
}

/// The outbox message of an invitation (what it says, never the secret).
fn invitation_mail(
    invitation_id: &str,
    email: &str,
    payload: InvitationPayload,
    now: chrono::NaiveDateTime,
) -> Result<OutboxRow, ServiceError> {
    let payload = serde_json::to_string(&payload)
        .map_err(|e| ServiceError::Internal(format!("payload: {e}")))?;
    Ok(OutboxRow::new(
        uuid::Uuid::now_v7().to_string(),
        INVITATION_MAIL,
        Some(invitation_id.to_owned()),
        email.to_owned(),
        payload,
        now,
    ))
}

fn queue_mail(
    c: &mut DbConnection,
    inv: &Invitation,
    organization: &str,
    inviter: &str,
    now: chrono::NaiveDateTime,
) -> Result<(), ServiceError> {
    let payload = InvitationPayload {
        organization: organization.to_owned(),
        inviter: inviter.to_owned(),
        invitee_name: inv.full_name(),
        expires_at: inv.expires_at,
        snils_bound: inv.snils.is_some(),
    };
    storage::outbox::insert(c, &invitation_mail(&inv.id, &inv.email, payload, now)?)?;
    Ok(())
}

fn invitation_not_found(id: &str) -> ServiceError {
    ServiceError::not_found("invitation", id)
}

impl Core {
    pub async fn create_invitation(
        &self,
        caller: &Caller,
        cmd: CreateInvitation,
    ) -> Result<Invitation, ServiceError> {
        if !crate::mail::is_deliverable(&cmd.invitation.email) {
            return Err(ServiceError::invalid(
                "email",
                "must be an e-mail address a message can be sent to",
            ));
        }
        let fp = idempotency::fingerprint(&(caller.acting_person, &cmd.invitation));
        let clock = self.clock.clone();
        let caller = caller.clone();
        let validity = self.invitations.validity;
        let chain = cmd.invitation.organization_oid;
        let inv = self
            .db
            .write_for(chain, move |c| {
                let now = clock.now();
                let n = &cmd.invitation;
                let org = n.organization_oid;
                let id = uuid::Uuid::now_v7().to_string();
                let key = email_key(&n.email);
                let probe = Some((key.as_str(), n.snils.as_deref()));
                let claim = cmd.request_id.as_deref().map(|rid| Claim {
                    client_id: &caller.client_id,
                    operation: "invitation.create",
                    request_id: rid,
                    fingerprint: &fp,
                    result_id: &id,
                    now,
                });
                let (a, facts) = match claim_and_access(c, &caller, org, probe, claim)? {
                    Claimed::Replay(prior) => {
                        return storage::invitations::get_by_id(c, &prior)?.ok_or_else(|| {
                            ServiceError::Internal("bad idempotency record".into())
                        });
                    }
                    Claimed::New(a, facts) => (a, facts),
                };
                let allowed = authz::invite(&caller, &a)?;
                if facts.invitee_employed {
                    return Err(ServiceError::precondition(
                        "ALREADY_EMPLOYEE",
                        format!("organization/{org}"),
                        "a person with this e-mail or SNILS is already an employee of the organisation",
                    ));
                }
                let inviter = caller.acting_person;
                let expires = now + validity;
                let inviter_name = match (&caller.acting_person, &facts.actor_name) {
                    (Some(_), Some(name)) => name.clone(),
                    _ => OPERATOR_INVITER.to_owned(),
                };
                let invitee = match &n.patronymic {
                    Some(p) => format!("{} {} {p}", n.surname, n.given_name),
                    None => format!("{} {}", n.surname, n.given_name),
                };
                let mail = invitation_mail(
                    &id,
                    &n.email,
                    InvitationPayload {
                        organization: facts.org_name.clone(),
                        inviter: inviter_name,
                        invitee_name: invitee,
                        expires_at: expires,
                        snils_bound: n.snils.is_some(),
                    },
                    now,
                )?;
                // The event is known before the insert, so on PostgreSQL the invitation, its
                // message and the event are usually one statement (`storage::invitations`).
                let event = audit_log::event(
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: "invitation.create",
                        target_type: "invitation",
                        target_id: id.clone(),
                        details: serde_json::json!({
                            "add_to_org_admin": n.add_to_org_admin,
                            "snils_bound": n.snils.is_some(),
                            "expires_at": crate::domain::audit::canonical_time(&expires),
                        }),
                    },
                );
                let insert = |c: &mut DbConnection| {
                    storage::invitations::insert_with_mail(
                        c, &id, n, inviter, expires, now, &mail, &event,
                    )
                };
                let (inv, appended) = match insert(c)? {
                    Some(i) => i,
                    None if storage::invitations::expire_pending_for_email(c, org, &key, now)? > 0 => {
                        insert(c)?
                            .ok_or_else(|| ServiceError::Retry("pending invitation raced".into()))?
                    }
                    None => {
                        return Err(ServiceError::AlreadyExists {
                            reason: "INVITATION_PENDING",
                            resource: "invitation",
                            field: Some("email"),
                            message: "the organisation already has a pending invitation for this e-mail; resend or revoke it".into(),
                        });
                    }
                };
                if appended.is_none() {
                    audit_log::append_event(c, &event, now)?;
                }
                Ok(inv)
            })
            .await?;
        self.outbox_wakeup.notify_one();
        Ok(inv)
    }

    pub async fn get_invitation(
        &self,
        caller: &Caller,
        org: i64,
        id: String,
    ) -> Result<Invitation, ServiceError> {
        let caller = caller.clone();
        self.db
            .read(move |c| {
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_invitations(&caller, &a)?;
                storage::invitations::get(c, org, &id)?.ok_or_else(|| invitation_not_found(&id))
            })
            .await
    }

    pub async fn list_invitations(
        &self,
        caller: &Caller,
        q: ListInvitations,
    ) -> Result<Page<Invitation>, ServiceError> {
        let f = q.filter;
        let org = q.organization_oid;
        let fp = page::fingerprint(&[
            &org.to_string(),
            f.state.map(|s| s.as_str()).unwrap_or(""),
            f.email.as_deref().unwrap_or(""),
        ]);
        let (size, after) = page_start(q.page_size, &q.page_token, &fp)?;
        let caller = caller.clone();
        let clock = self.clock.clone();
        let items = self
            .db
            .read(move |c| {
                let now = clock.now();
                let (a, _) = access(c, &caller, org, None)?;
                authz::read_invitations(&caller, &a)?;
                Ok(storage::invitations::list(
                    c,
                    org,
                    &f,
                    after.as_deref(),
                    size + 1,
                    now,
                )?)
            })
            .await?;
        Ok(page_of(items, size, &fp, |i| i.id.clone()))
    }

    /// Resend (a new link; the old secret stops working) or revoke a pending invitation.
    pub async fn change_invitation(
        &self,
        caller: &Caller,
        cmd: ChangeInvitation,
    ) -> Result<Invitation, ServiceError> {
        let version = if cmd.etag.is_empty() {
            None
        } else {
            Some(parse_etag(&cmd.etag)?)
        };
        let clock = self.clock.clone();
        let caller = caller.clone();
        let inv = self
            .db
            .write(move |c| {
                let now = clock.now();
                let org = cmd.organization_oid;
                let (a, facts) = access(c, &caller, org, None)?;
                let allowed = authz::manage_invitations(&caller, &a)?;
                let inv = storage::invitations::get(c, org, &cmd.id)?
                    .ok_or_else(|| invitation_not_found(&cmd.id))?;
                if version.is_some_and(|v| v != inv.version) {
                    return Err(ServiceError::stale_etag("invitation"));
                }
                if let Some(e) = not_pending(&inv, now) {
                    return Err(e);
                }
                storage::outbox::cancel_for_invitation(c, &inv.id)?;
                let action = match cmd.change {
                    InvitationChange::Resend => {
                        if !storage::invitations::void_secret(c, &inv.id, now)? {
                            return Err(ServiceError::Retry("invitation changed".into()));
                        }
                        let inviter_name = match (&caller.acting_person, &facts.actor_name) {
                            (Some(_), Some(name)) => name.clone(),
                            _ => OPERATOR_INVITER.to_owned(),
                        };
                        queue_mail(c, &inv, &facts.org_name, &inviter_name, now)?;
                        "invitation.resend"
                    }
                    InvitationChange::Revoke => {
                        if !storage::invitations::transition(
                            c,
                            &inv.id,
                            InvitationState::Revoked,
                            None,
                            true,
                            now,
                        )? {
                            return Err(ServiceError::Retry("invitation changed".into()));
                        }
                        "invitation.revoke"
                    }
                };
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action,
                        target_type: "invitation",
                        target_id: inv.id.clone(),
                        details: serde_json::json!({}),
                    },
                    now,
                )?;
                storage::invitations::get(c, org, &inv.id)?
                    .ok_or_else(|| invitation_not_found(&inv.id))
            })
            .await?;
        self.outbox_wakeup.notify_one();
        Ok(inv)
    }

    /// Accepts an invitation with its link's secret. The conditional UPDATE on the invitation's
    /// state is the serialisation point: of concurrent accepts (on any replica) exactly one
    /// makes an employee.
    pub async fn accept_invitation(
        &self,
        caller: &Caller,
        secret: &str,
    ) -> Result<Employee, ServiceError> {
        let (allowed, person) = authz::answer_invitation(caller)?;
        let hash = secret_hash(&parse_secret(secret)?);
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let inv = storage::invitations::find_by_secret(c, &hash)?
                    .ok_or_else(|| invitation_not_found("(by secret)"))?;
                if let Some(e) = not_pending(&inv, now) {
                    return Err(e);
                }
                let p = storage::persons::get(c, person)?
                    .ok_or_else(|| ServiceError::not_found("person", person))?;
                if p.level != AccountLevel::Confirmed {
                    return Err(ServiceError::precondition(
                        "ACCOUNT_NOT_CONFIRMED",
                        format!("person/{person}"),
                        "only a confirmed account may join an organisation",
                    ));
                }
                if let Some(s) = &inv.snils
                    && p.snils.as_deref() != Some(s.as_str())
                {
                    return Err(ServiceError::precondition(
                        "SNILS_MISMATCH",
                        format!("person/{person}"),
                        "the invitation names another person's SNILS",
                    ));
                }
                if !storage::invitations::transition(
                    c,
                    &inv.id,
                    InvitationState::Accepted,
                    Some(person),
                    true,
                    now,
                )? {
                    return Err(ServiceError::precondition(
                        "INVITATION_ACCEPTED",
                        format!("invitation/{}", inv.id),
                        "the invitation was accepted or withdrawn meanwhile",
                    ));
                }
                let org = inv.organization_oid;
                let already = || {
                    ServiceError::precondition(
                        "ALREADY_EMPLOYEE",
                        format!("employee/{org}/{person}"),
                        "the person is already an employee of the organisation",
                    )
                };
                let joined = storage::employees::join(
                    c,
                    org,
                    person,
                    &EmployeeChanges {
                        position: inv.position.clone(),
                        work_email: Some(inv.email.clone()),
                        phone: None,
                    },
                    now,
                )
                .map_err(|e| match e {
                    StorageError::UniqueViolation(_) => already(),
                    other => other.into(),
                })?;
                if !joined {
                    return Err(already());
                }
                let mut groups = Vec::new();
                if inv.add_to_org_admin {
                    storage::employees::add_member(c, org, ORG_ADMIN, person, now)?;
                    groups.push(ORG_ADMIN);
                }
                storage::outbox::cancel_for_invitation(c, &inv.id)?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: org,
                        action: "invitation.accept",
                        target_type: "invitation",
                        target_id: inv.id.clone(),
                        details: serde_json::json!({ "person_oid": person, "groups": groups }),
                    },
                    now,
                )?;
                let head = storage::organizations::get(c, org)?
                    .map(|o| o.head_oid)
                    .unwrap_or_default();
                storage::employees::get(c, org, person, head)?
                    .ok_or_else(|| ServiceError::Internal("the new employee is missing".into()))
            })
            .await
    }

    pub async fn decline_invitation(
        &self,
        caller: &Caller,
        secret: &str,
    ) -> Result<Invitation, ServiceError> {
        let (allowed, _person) = authz::answer_invitation(caller)?;
        let hash = secret_hash(&parse_secret(secret)?);
        let clock = self.clock.clone();
        let caller = caller.clone();
        self.db
            .write(move |c| {
                let now = clock.now();
                let inv = storage::invitations::find_by_secret(c, &hash)?
                    .ok_or_else(|| invitation_not_found("(by secret)"))?;
                if let Some(e) = not_pending(&inv, now) {
                    return Err(e);
                }
                if !storage::invitations::transition(
                    c,
                    &inv.id,
                    InvitationState::Declined,
                    None,
                    true,
                    now,
                )? {
                    return Err(ServiceError::precondition(
                        "INVITATION_ACCEPTED",
                        format!("invitation/{}", inv.id),
                        "the invitation was accepted or withdrawn meanwhile",
                    ));
                }
                storage::outbox::cancel_for_invitation(c, &inv.id)?;
                audit_log::append(
                    c,
                    &allowed,
                    &caller,
                    EventSpec {
                        chain: inv.organization_oid,
                        action: "invitation.decline",
                        target_type: "invitation",
                        target_id: inv.id.clone(),
                        details: serde_json::json!({}),
                    },
                    now,
                )?;
                storage::invitations::get_by_id(c, &inv.id)?
                    .ok_or_else(|| invitation_not_found(&inv.id))
            })
            .await
    }
}
