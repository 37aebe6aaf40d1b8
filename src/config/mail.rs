//! Settings of invitations and their e-mail delivery.

use clap::Args;

use crate::service::outbox::OutboxSettings;

/// Invitations and their e-mail delivery.
#[derive(Args, Debug, Clone)]
pub struct MailArgs {
    /// The invitation link's base: the secret is appended (or replaces `{secret}`).
    #[arg(
        long,
        env = "ORGADM_INVITATION_BASE_URL",
        default_value = "http://localhost:8080/invitation?secret="
    )]
    pub invitation_base_url: String,
    /// How many days an invitation can be accepted.
    #[arg(long, env = "ORGADM_INVITATION_VALIDITY_DAYS", default_value_t = 60)]
    pub invitation_validity_days: u32,
    /// SMTP server; without it messages are written as .eml files into --outbox-dir.
    #[arg(long, env = "ORGADM_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 25 for none, 587 for starttls, 465 for tls).
    #[arg(long, env = "ORGADM_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// SMTP connection protection: none, starttls or tls.
    #[arg(long, env = "ORGADM_SMTP_TLS", default_value = "starttls")]
    pub smtp_tls: String,
    /// The SMTP user name (with --smtp-password or --smtp-password-file).
    #[arg(long, env = "ORGADM_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// The SMTP password (prefer --smtp-password-file: arguments are visible to other users).
    #[arg(long, env = "ORGADM_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// A file holding the SMTP password (trailing newline ignored).
    #[arg(long, env = "ORGADM_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<std::path::PathBuf>,
    /// The From mailbox of outgoing messages.
    #[arg(
        long,
        env = "ORGADM_MAIL_SENDER",
        default_value = "orgadm <noreply@localhost.localdomain>"
    )]
    pub mail_sender: String,
    /// Where messages are written as .eml files when no SMTP server is configured.
    #[arg(long, env = "ORGADM_OUTBOX_DIR", default_value = "data/outbox")]
    pub outbox_dir: std::path::PathBuf,
}

impl MailArgs {
    pub fn config(&self) -> anyhow::Result<(crate::mail::MailConfig, OutboxSettings, i64)> {
        use crate::mail::{MailConfig, SmtpConfig, TlsMode};
        if self.invitation_validity_days == 0 {
            anyhow::bail!("invitation_validity_days must be at least 1");
        }
        let smtp = match &self.smtp_host {
            None => None,
            Some(host) => {
                let tls = TlsMode::parse(&self.smtp_tls)
                    .ok_or_else(|| anyhow::anyhow!("smtp_tls must be none, starttls or tls"))?;
                let port = self.smtp_port.unwrap_or(match tls {
                    TlsMode::None => 25,
                    TlsMode::Starttls => 587,
                    TlsMode::Tls => 465,
                });
                let password = match (&self.smtp_password, &self.smtp_password_file) {
                    (_, Some(f)) => Some(
                        std::fs::read_to_string(f)
                            .map_err(|e| {
                                anyhow::anyhow!("smtp_password_file {}: {e}", f.display())
                            })?
                            .trim_end_matches(['\r', '\n'])
                            .to_owned(),
                    ),
                    (Some(p), None) => Some(p.clone()),
                    (None, None) => None,
                };
                Some(SmtpConfig {
                    host: host.clone(),
                    port,
                    tls,
                    username: self.smtp_username.clone(),
                    password,
                    timeout: std::time::Duration::from_secs(30),
                })
            }
        };
        let outbox = OutboxSettings {
            link_base: self.invitation_base_url.clone(),
            ..OutboxSettings::default()
        };
        Ok((
            MailConfig {
                smtp,
                sender: self.mail_sender.clone(),
                outbox_dir: self.outbox_dir.clone(),
            },
            outbox,
            i64::from(self.invitation_validity_days),
        ))
    }
}
