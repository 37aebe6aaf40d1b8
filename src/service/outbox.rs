//! The mail delivery worker. Messages are written to `mail_outbox` in the transaction that caused
//! them; the worker claims due ones under a lease (PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//! replicas never claim the same message at once), makes the invitation's link — a fresh secret
//! whose Streebog-256 hash replaces the invitation's, so the database never holds a working
//! secret — sends, and records the outcome of every attempt in `mail_attempts`.
//!
//! Guarantees: a message is retried with exponential backoff until sent (or refused for good);
//! if the process stops mid-delivery the lease runs out and another worker delivers it; a
//! message recorded as sent is never claimed again. SMTP gives at-least-once delivery: a crash
//! between the server's acceptance and the recorded success sends the message again, with a new
//! link (the earlier link then no longer works).

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::watch;

use crate::mail::{InvitationMail, MailError, Mailer, build_invitation};
use crate::storage::{self, outbox::OutboxRow};

use super::Core;
use super::error::ServiceError;
use super::invitations::{INVITATION_MAIL, InvitationPayload, new_secret, secret_hash};

#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// The link's base: the secret is appended, or replaces `{secret}` if present.
    pub link_base: String,
    /// How often the worker looks for due messages when nothing woke it.
    pub poll_interval: Duration,
    /// How long a claimed message is reserved for its worker.
    pub lease: chrono::Duration,
    /// The first retry delay; doubled after each failure up to `backoff_max`.
    pub backoff_base: chrono::Duration,
    pub backoff_max: chrono::Duration,
    /// Attempts after which a message is given up as failed.
    pub max_attempts: i64,
    /// Messages claimed at once.
    pub batch: i64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            link_base: "http://localhost:8080/invitation?secret=".into(),
            poll_interval: Duration::from_secs(2),
            lease: chrono::Duration::minutes(2),
            backoff_base: chrono::Duration::seconds(10),
            backoff_max: chrono::Duration::hours(1),
            max_attempts: 50,
            batch: 16,
        }
    }
}

/// The link of an invitation with its secret.
pub fn link(base: &str, secret: &str) -> String {
    if base.contains("{secret}") {
        base.replace("{secret}", secret)
    } else {
        format!("{base}{secret}")
    }
}

/// The delay before attempt `attempts + 1`.
pub fn backoff(s: &OutboxSettings, attempts: i64) -> chrono::Duration {
    let exp = (attempts - 1).clamp(0, 30) as u32;
    let base_ms = s.backoff_base.num_milliseconds().max(1);
    let ms = base_ms.saturating_mul(1_i64 << exp);
    chrono::Duration::milliseconds(ms.min(s.backoff_max.num_milliseconds()))
}

/// One delivery worker (one per process; several processes may share a database).
pub struct Worker {
    core: Core,
    mailer: Arc<Mailer>,
    settings: OutboxSettings,
    owner: String,
}

/// Stops a spawned worker.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Worker {
    pub fn new(core: Core, mailer: Mailer, settings: OutboxSettings) -> Self {
        let owner = format!(
            "worker-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        Self {
            core,
            mailer: Arc::new(mailer),
            settings,
            owner,
        }
    }

    /// Runs until stopped, woken by new mail or every poll interval.
    pub fn spawn(self) -> WorkerHandle {
        let (tx, mut rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            tracing::info!(worker = %self.owner, delivery = self.mailer.describe(), "mail delivery worker started");
            loop {
                let wake = self.core.outbox_wakeup.clone();
                let notified = wake.notified();
                match self.deliver_due().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "mail delivery: cannot claim messages"),
                }
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = rx.changed() => break,
                }
            }
            tracing::info!(worker = %self.owner, "mail delivery worker stopped");
        });
        WorkerHandle { stop: tx, task }
    }

    /// Claims and delivers the messages due now; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, ServiceError> {
        let clock = self.core.clock.clone();
        let owner = self.owner.clone();
        let lease = self.settings.lease;
        let batch = self.settings.batch;
        let claimed = self
            .core
            .db
            .write(move |c| {
                let now = clock.now();
                let rows = storage::outbox::claim(c, &owner, now, now + lease, batch)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if r.kind != INVITATION_MAIL {
                        storage::outbox::mark_failed(
                            c,
                            &r.id,
                            r.attempts,
                            "unknown message kind",
                            None,
                            now,
                        )?;
                        continue;
                    }
                    let inv = r.invitation_id.clone().unwrap_or_default();
                    let secret = new_secret()?;
                    if storage::invitations::set_secret(c, &inv, &secret_hash(&secret), now)? {
                        out.push((r, secret));
                    } else {
                        storage::outbox::cancel(
                            c,
                            &r.id,
                            r.attempts,
                            "the invitation is no longer pending",
                            now,
                        )?;
                    }
                }
                Ok(out)
            })
            .await?;
        let n = claimed.len();
        for (row, secret) in claimed {
            self.deliver(row, secret).await;
        }
        Ok(n)
    }

    async fn deliver(&self, row: OutboxRow, secret: String) {
        let result = match serde_json::from_str::<InvitationPayload>(&row.payload) {
            Ok(p) => {
                let mail = InvitationMail {
                    to: row.recipient.clone(),
                    invitee_name: p.invitee_name,
                    organization: p.organization,
                    inviter: p.inviter,
                    link: link(&self.settings.link_base, &secret),
                    expires_at: p.expires_at,
                    snils_bound: p.snils_bound,
                };
                match build_invitation(self.mailer.sender(), &row.id, &mail) {
                    Ok(m) => self.mailer.send(&row.id, m).await,
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(MailError {
                permanent: true,
                message: format!("bad payload: {e}"),
            }),
        };
        drop(secret);
        match &result {
            Ok(()) => tracing::info!(message = %row.id, attempt = row.attempts, "mail sent"),
            Err(e) => {
                tracing::warn!(message = %row.id, attempt = row.attempts, permanent = e.permanent, error = %e, "mail not sent")
            }
        }
        let clock = self.core.clock.clone();
        let settings = self.settings.clone();
        let id = row.id.clone();
        let attempt = row.attempts;
        // Recording the outcome is retried: a send the database never hears of would be repeated.
        for i in 0..5u32 {
            let result = result.clone();
            let settings = settings.clone();
            let msg = id.clone();
            let clock = clock.clone();
            let r = self
                .core
                .db
                .write(move |c| {
                    let now: NaiveDateTime = clock.now();
                    match &result {
                        Ok(()) => storage::outbox::mark_sent(c, &msg, attempt, now)?,
                        Err(e) => {
                            let next = (!e.permanent && attempt < settings.max_attempts)
                                .then(|| now + backoff(&settings, attempt));
                            storage::outbox::mark_failed(c, &msg, attempt, &e.message, next, now)?;
                        }
                    }
                    Ok(())
                })
                .await;
            match r {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(message = %id, error = %e, "cannot record the delivery outcome; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(i + 1))).await;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = OutboxSettings {
            backoff_base: chrono::Duration::seconds(10),
            backoff_max: chrono::Duration::seconds(60),
            ..Default::default()
        };
        assert_eq!(backoff(&s, 1).num_seconds(), 10);
        assert_eq!(backoff(&s, 2).num_seconds(), 20);
        assert_eq!(backoff(&s, 3).num_seconds(), 40);
        assert_eq!(backoff(&s, 4).num_seconds(), 60);
        assert_eq!(backoff(&s, 40).num_seconds(), 60);
    }

    #[test]
    fn links() {
        assert_eq!(link("https://x/i?s=", "abc"), "https://x/i?s=abc");
        assert_eq!(link("https://x/{secret}/go", "abc"), "https://x/abc/go");
    }
}
