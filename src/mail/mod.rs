//! Outgoing e-mail (a leaf module: knows nothing of storage or gRPC). Builds the invitation
//! message — Russian plain text and HTML naming the organisation and the inviter, with the link
//! and its expiry — with `lettre`, and delivers it over SMTP, or writes it as an `.eml` file
//! into a folder when no SMTP server is configured.

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDateTime;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Message, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (a relay on the same host or a test server).
    None,
    /// STARTTLS is required after connecting (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl TlsMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "starttls" => Some(Self::Starttls),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    // Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .finish()
    }
}

/// Where messages go.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// None: write `.eml` files into `outbox_dir`.
    pub smtp: Option<SmtpConfig>,
    /// The From mailbox, e.g. `Оргадм <noreply@example.ru>`.
    pub sender: String,
    pub outbox_dir: PathBuf,
}

/// Why a message was not delivered.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    /// A permanent refusal (e.g. SMTP 5xx, an address the message cannot carry): retrying
    /// will not help.
    pub permanent: bool,
    pub message: String,
}

impl MailError {
    fn permanent(m: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: m.into(),
        }
    }

    fn transient(m: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: m.into(),
        }
    }
}

/// What an invitation message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationMail {
    pub to: String,
    pub invitee_name: String,
    pub organization: String,
    pub inviter: String,
    /// The link with its secret: never logged.
    pub link: String,
    pub expires_at: NaiveDateTime,
    /// The invitation is bound to a SNILS.
    pub snils_bound: bool,
}

/// Whether an address is one a message can be sent to.
pub fn is_deliverable(address: &str) -> bool {
    address.parse::<Address>().is_ok()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Expiry as a Russian reader expects it: Moscow time (UTC+3, no daylight saving).
fn moscow(t: &NaiveDateTime) -> String {
    (*t + chrono::Duration::hours(3))
        .format("%d.%m.%Y %H:%M")
        .to_string()
}

/// The subject, plain text and HTML of an invitation.
pub fn invitation_texts(m: &InvitationMail) -> (String, String, String) {
    let subject = format!("Приглашение в организацию «{}»", m.organization);
    let expiry = moscow(&m.expires_at);
    let account = if m.snils_bound {
        "Войдите с подтверждённой учётной записью: приглашение принимается только владельцем СНИЛС, указанного при приглашении."
    } else {
        "Войдите с подтверждённой учётной записью."
    };
    let text = format!(
        "Здравствуйте, {invitee}!\r\n\r\n\
         {inviter} приглашает вас стать сотрудником организации «{org}».\r\n\r\n\
         Чтобы принять приглашение, откройте ссылку:\r\n{link}\r\n\r\n\
         Ссылка действительна до {expiry} (МСК) и может быть использована один раз.\r\n\
         {account}\r\n\r\n\
         Если вы не ждали этого письма, просто не отвечайте на него.\r\n",
        invitee = m.invitee_name,
        inviter = m.inviter,
        org = m.organization,
        link = m.link,
    );
    let html = format!(
        "<!DOCTYPE html>\r\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{subject}</title></head>\r\n\
         <body style=\"font-family: sans-serif\">\r\n\
         <p>Здравствуйте, {invitee}!</p>\r\n\
         <p>{inviter} приглашает вас стать сотрудником организации «{org}».</p>\r\n\
         <p><a href=\"{link}\">Принять приглашение</a></p>\r\n\
         <p>Ссылка действительна до {expiry} (МСК) и может быть использована один раз. {account}</p>\r\n\
         <p style=\"color: #666\">Если вы не ждали этого письма, просто не отвечайте на него.</p>\r\n\
         </body></html>\r\n",
        subject = escape(&subject),
        invitee = escape(&m.invitee_name),
        inviter = escape(&m.inviter),
        org = escape(&m.organization),
        link = escape(&m.link),
        account = escape(account),
    );
    (subject, text, html)
}

/// Builds the invitation message. `message_id` is stable per outbox message, so a retried
/// delivery carries the same Message-ID.
pub fn build_invitation(
    sender: &Mailbox,
    message_id: &str,
    m: &InvitationMail,
) -> Result<Message, MailError> {
    let to =
        m.to.parse::<Address>()
            .map_err(|e| MailError::permanent(format!("bad recipient address: {e}")))?;
    let (subject, text, html) = invitation_texts(m);
    let domain = sender.email.domain().to_owned();
    Message::builder()
        .from(sender.clone())
        .to(Mailbox::new(Some(m.invitee_name.clone()), to))
        .subject(subject)
        .message_id(Some(format!("<{message_id}@{domain}>")))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .header(ContentTransferEncoding::Base64)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .header(ContentTransferEncoding::Base64)
                        .body(html),
                ),
        )
        .map_err(|e| MailError::permanent(format!("cannot build the message: {e}")))
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Sends messages over SMTP or writes them as files.
pub struct Mailer {
    transport: Transport,
    sender: Mailbox,
    describe: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl Mailer {
    pub fn new(cfg: &MailConfig) -> Result<Self, MailError> {
        let sender: Mailbox = cfg
            .sender
            .parse()
            .map_err(|e| MailError::permanent(format!("bad sender {:?}: {e}", cfg.sender)))?;
        let (transport, describe) = match &cfg.smtp {
            Some(s) => {
                let tls = |host: &str| {
                    TlsParameters::new(host.to_owned())
                        .map_err(|e| MailError::permanent(format!("TLS parameters: {e}")))
                };
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(s.port)
                    .timeout(Some(s.timeout));
                b = match s.tls {
                    TlsMode::None => b.tls(Tls::None),
                    TlsMode::Starttls => b.tls(Tls::Required(tls(&s.host)?)),
                    TlsMode::Tls => b.tls(Tls::Wrapper(tls(&s.host)?)),
                };
                if let Some(u) = &s.username {
                    b = b.credentials(Credentials::new(
                        u.clone(),
                        s.password.clone().unwrap_or_default(),
                    ));
                }
                (
                    Transport::Smtp(b.build()),
                    format!("SMTP {}:{} ({:?})", s.host, s.port, s.tls),
                )
            }
            None => {
                std::fs::create_dir_all(&cfg.outbox_dir).map_err(|e| {
                    MailError::permanent(format!(
                        "cannot create the outbox folder {}: {e}",
                        cfg.outbox_dir.display()
                    ))
                })?;
                let dir = std::fs::canonicalize(&cfg.outbox_dir)
                    .unwrap_or_else(|_| cfg.outbox_dir.clone());
                let d = format!(".eml files in {}", dir.display());
                (Transport::Files(dir), d)
            }
        };
        Ok(Self {
            transport,
            sender,
            describe,
        })
    }

    /// Where messages go, for the log.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn sender(&self) -> &Mailbox {
        &self.sender
    }

    /// Delivers one message. In file mode the file is named after the message id and written
    /// atomically, so a repeated delivery replaces it.
    pub async fn send(&self, message_id: &str, msg: Message) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp(t) => match t.send(msg).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(MailError::permanent(e.to_string())),
                Err(e) => Err(MailError::transient(e.to_string())),
            },
            Transport::Files(dir) => {
                let name: String = message_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                let tmp = dir.join(format!(".{name}.tmp"));
                let path = dir.join(format!("{name}.eml"));
                tokio::fs::write(&tmp, msg.formatted()).await.map_err(|e| {
                    MailError::transient(format!("cannot write {}: {e}", tmp.display()))
                })?;
                tokio::fs::rename(&tmp, &path).await.map_err(|e| {
                    MailError::transient(format!("cannot write {}: {e}", path.display()))
                })?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn message_names_organisation_inviter_link_and_expiry() {
        let m = InvitationMail {
            to: "ivan@example.ru".into(),
            invitee_name: "Иванов Иван".into(),
            organization: "ООО \"Ромашка\"".into(),
            inviter: "Петров Пётр Петрович".into(),
            link: "https://lk.example.ru/invite?secret=abc".into(),
            expires_at: chrono::NaiveDate::from_ymd_opt(2026, 3, 16)
                .unwrap()
                .and_hms_opt(7, 0, 0)
                .unwrap(),
            snils_bound: false,
        };
        let (subject, text, html) = invitation_texts(&m);
        assert_eq!(subject, "Приглашение в организацию «ООО \"Ромашка\"»");
        assert!(text.contains("Петров Пётр Петрович приглашает"));
        assert!(text.contains("https://lk.example.ru/invite?secret=abc"));
        assert!(text.contains("до 16.03.2026 10:00 (МСК)"));
        assert!(html.contains("ООО &quot;Ромашка&quot;"));
        let sender: Mailbox = "Оргадм <noreply@example.ru>".parse().unwrap();
        let msg = build_invitation(&sender, "m1", &m).unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <m1@example.ru>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(is_deliverable("ivan@example.ru"));
        assert!(!is_deliverable("ivan@"));
    }
}
