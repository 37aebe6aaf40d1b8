//! Settings: one documented set, from flags, `ORGADM_…` environment variables, a TOML file
//! (`--config`) and built-in defaults, in that order of precedence.
//!
//! clap reads flags and environment variables; the file is layered beneath them by making its
//! values the arguments' defaults before the one parse ([`file`]), so every source yields the
//! same typed [`ServeArgs`], and `orgadm config check` reports exactly what `serve` uses, from
//! the same parse. A settings group is one `#[derive(clap::Args)]` struct flattened into
//! [`ServeArgs`] (or [`GlobalArgs`]): its flags, environment names, file keys, `--help` and
//! `config check` lines all follow from that struct; its methods check and apply the values.
//!
//! Written by hand because the crates that layer files (figment, config) replace clap's own
//! environment and default handling instead of sitting beneath it, which would split the
//! definition of each setting in two.

pub mod api_keys;
pub mod file;
pub mod groups;
pub mod mail;
pub mod report;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches};

pub use api_keys::{KeyArgs, TokenArgs};
pub use groups::{ServerArgs, SigningArgs, TlsArgs};
pub use mail::MailArgs;
pub use report::{Report, Setting, Source, mask, mask_url};

use crate::storage::DbConfig;

/// The commands whose arguments are settings (and so file keys): the root's global arguments,
/// `serve`, and `config check` (which takes the same arguments as `serve`).
pub const SETTINGS_COMMANDS: &[&[&str]] = &[&[], &["serve"], &["config", "check"]];

/// A bad configuration, said in one line.
#[derive(Debug)]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Why parsing stopped.
#[derive(Debug)]
pub enum ParseError {
    /// clap's own outcome: help, version, or a bad flag or environment value.
    Clap(clap::Error),
    /// The settings file.
    Config(ConfigError),
}

/// The reason inside a clap error, in one line (no usage, no "error:" prefix).
pub fn clap_reason(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// Help and version stay clap's; a bad value becomes one line naming the environment variable
/// it came from, when it did.
fn clap_error(cmd: &clap::Command, args: &[OsString], e: clap::Error) -> ParseError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return ParseError::Clap(e);
    }
    let mut msg = clap_reason(&e);
    if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
        let long = arg.split_whitespace().next().unwrap_or_default();
        let on_line = args.iter().any(|a| {
            a.to_str()
                .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")))
        });
        let env = SETTINGS_COMMANDS
            .iter()
            .filter_map(|path| {
                let mut c = cmd;
                for name in *path {
                    c = c.find_subcommand(name)?;
                }
                c.get_arguments()
                    .find(|a| a.get_long().is_some_and(|l| format!("--{l}") == long))
                    .and_then(|a| a.get_env())
                    .map(|e| e.to_string_lossy().into_owned())
            })
            .next();
        if let Some(env) = env.filter(|v| !on_line && std::env::var_os(v).is_some()) {
            msg.push_str(&format!(" (set by {env})"));
        }
    }
    ParseError::Config(ConfigError::new(msg))
}

/// Arguments every command takes: the settings file, the database and the log format.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// A TOML settings file, beneath environment variables and flags (docs/OPERATIONS.md lists
    /// every key).
    #[arg(long, env = "ORGADM_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "ORGADM_LOG_FORMAT", default_value = "text", global = true, value_parser = ["text", "json"])]
    pub log_format: String,
}

/// The database.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database URL: `postgres://user:pass@host/db` for PostgreSQL, `sqlite://path/to/file.db`
    /// (or a plain path) for the embedded SQLite store. Its password is masked in every output.
    #[arg(long, env = "ORGADM_DATABASE_URL", default_value = crate::app::DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,
    /// A file holding the database URL (trailing newline ignored), so the password stays out of
    /// the environment and the command line.
    #[arg(long, env = "ORGADM_DATABASE_URL_FILE", global = true)]
    pub database_url_file: Option<PathBuf>,
    /// Largest number of database connections this process holds. On SQLite the write lane
    /// keeps one of them for itself (when there are at least two); reads share the rest.
    #[arg(long, env = "ORGADM_DB_POOL_SIZE", default_value_t = 8, global = true)]
    pub db_pool_size: u32,
    /// How long to wait for a database connection, in seconds; an unreachable database stops
    /// the start after this long.
    #[arg(
        long,
        env = "ORGADM_DB_CONNECT_TIMEOUT_SECS",
        default_value_t = 5,
        global = true
    )]
    pub db_connect_timeout_secs: u64,
    /// SQLite durability: FULL survives power loss (default); NORMAL survives a process crash.
    #[arg(
        long,
        env = "ORGADM_SQLITE_SYNCHRONOUS",
        default_value = "FULL",
        global = true,
        value_parser = ["FULL", "NORMAL", "EXTRA"],
        ignore_case = true
    )]
    pub sqlite_synchronous: String,
    /// Cache prepared statements per PostgreSQL connection. Pass `false` when PostgreSQL is
    /// reached through PgBouncer in transaction mode before 1.21 (or without its
    /// `max_prepared_statements`): statements are then prepared unnamed as they run.
    #[arg(
        long,
        env = "ORGADM_DB_STATEMENT_CACHE",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub db_statement_cache: bool,
    /// PostgreSQL write lanes: transactions that group-commit concurrent writes (one
    /// organisation's writes always share one). 0 picks as many as this machine has cores, at
    /// least 2 and at most half of `db_pool_size`; more lanes than cores make smaller batches,
    /// more commits and more round trips for the same work. SQLite always has one.
    #[arg(
        long,
        env = "ORGADM_DB_WRITE_LANES",
        default_value_t = 0,
        global = true
    )]
    pub db_write_lanes: u32,
}

/// Everything `serve` takes besides the global arguments: one flattened struct per group.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub signing: SigningArgs,
    #[command(flatten)]
    pub mail: MailArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub tokens: TokenArgs,
    #[command(flatten)]
    pub telemetry: crate::telemetry::TelemetryArgs,
}

/// The `--config` value from the arguments, else `ORGADM_CONFIG`: the file must be read before
/// the parse it feeds.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut found = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--config" {
            found = it.next().map(PathBuf::from);
        } else if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--config=")) {
            found = Some(PathBuf::from(v));
        }
    }
    found.or_else(|| {
        std::env::var_os("ORGADM_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Parses `args` (the program name first) with the settings file beneath flags and environment.
pub fn parse<C: CommandFactory + FromArgMatches>(
    args: Vec<OsString>,
) -> Result<(C, Report), ParseError> {
    let mut cmd = C::command();
    let file = config_path(&args);
    let mut entries = file::Entries::new();
    if let Some(path) = &file {
        entries = file::read(path).map_err(ParseError::Config)?;
        cmd = file::apply(cmd, SETTINGS_COMMANDS, path, &entries).map_err(ParseError::Config)?;
    }
    let matches = cmd
        .clone()
        .try_get_matches_from(&args)
        .map_err(|e| clap_error(&cmd, &args, e))?;
    let value = C::from_arg_matches(&matches).map_err(ParseError::Clap)?;
    cmd.build();
    // The command that ran, and its matches (global arguments are propagated into them).
    let (mut leaf_cmd, mut leaf) = (&cmd, &matches);
    while let Some((name, sub)) = leaf.subcommand() {
        match leaf_cmd.find_subcommand(name) {
            Some(c) => (leaf_cmd, leaf) = (c, sub),
            None => break,
        }
    }
    // Shown in definition order (mut_arg moved the file's arguments), global ones first.
    let mut fresh = C::command();
    fresh.build();
    let mut order_cmd = &fresh;
    let mut m = &matches;
    while let Some((name, sub)) = m.subcommand() {
        match order_cmd.find_subcommand(name) {
            Some(c) => (order_cmd, m) = (c, sub),
            None => break,
        }
    }
    let rank = |id: &str| -> (bool, usize) {
        order_cmd
            .get_arguments()
            .position(|a| a.get_id().as_str() == id)
            .map_or((true, usize::MAX), |i| {
                let global = order_cmd
                    .get_arguments()
                    .nth(i)
                    .is_some_and(clap::Arg::is_global_set);
                (!global, i)
            })
    };
    let mut settings: Vec<Setting> = leaf_cmd
        .get_arguments()
        .filter(|a| file::is_setting(a))
        .map(|a| {
            let key = a.get_id().as_str().to_owned();
            let values: Vec<String> = leaf
                .try_get_raw(&key)
                .ok()
                .flatten()
                .map(|vs| vs.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let source = match leaf.value_source(&key) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Env,
                Some(_) if entries.contains_key(&key) => Source::File,
                Some(_) => Source::Default,
                None => Source::Unset,
            };
            Setting {
                env: a.get_env().map(|e| e.to_string_lossy().into_owned()),
                secret: a.is_hide_env_values_set(),
                many: matches!(a.get_action(), clap::ArgAction::Append),
                key,
                values,
                source,
                note: None,
            }
        })
        .collect();
    settings.sort_by_key(|s| rank(&s.key));
    Ok((value, Report { file, settings }))
}

/// Reads a secret from its `…_file` setting when that one takes precedence (a higher source;
/// both at the same level is refused). The report then says where the value came from.
fn secret_from_file(
    report: &mut Report,
    key: &str,
    value: Option<String>,
    file: Option<&Path>,
) -> anyhow::Result<Option<String>> {
    let file_key = format!("{key}_file");
    let (rv, rf) = (report.source(key), report.source(&file_key));
    let Some(path) = file else {
        return Ok(value);
    };
    if rf < rv {
        return Ok(value);
    }
    if rf == rv {
        anyhow::bail!("set {key} or {file_key}, not both");
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{file_key} {}: {e}", path.display()))?;
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        anyhow::bail!("{file_key} {}: the file is empty", path.display());
    }
    let file_env = report
        .settings
        .iter()
        .find(|s| s.key == file_key)
        .and_then(|s| s.env.clone());
    if let Some(s) = report.get_mut(key) {
        s.values = vec![secret.clone()];
        s.source = rf;
        s.env = file_env;
        s.note = Some(format!("read from {file_key} {}", path.display()));
    }
    Ok(Some(secret))
}

/// The database settings of any command, its URL read from `database_url_file` when that wins.
pub fn database(global: &GlobalArgs, report: &mut Report) -> anyhow::Result<DbConfig> {
    let url = secret_from_file(
        report,
        "database_url",
        Some(global.db.database_url.clone()),
        global.db.database_url_file.as_deref(),
    )?
    .unwrap_or_default();
    let mut db = DbConfig::new(url);
    db.pool_size = global.db.db_pool_size.max(1);
    db.sqlite_synchronous = global.db.sqlite_synchronous.to_ascii_uppercase();
    db.connect_timeout = std::time::Duration::from_secs(global.db.db_connect_timeout_secs.max(1));
    db.statement_cache = global.db.db_statement_cache;
    db.write_lanes = (global.db.db_write_lanes > 0).then_some(global.db.db_write_lanes);
    Ok(db)
}

/// The one typed set of settings `serve` runs with (and `config check` shows).
#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbConfig,
    pub serve: ServeArgs,
    pub tls: Option<crate::transport::tls::TlsSettings>,
    pub report: Report,
}

impl Settings {
    /// Resolves secrets held in files and checks the values (files named by the settings are
    /// loaded later, by `app::prepare`).
    pub fn new(
        global: &GlobalArgs,
        serve: &ServeArgs,
        mut report: Report,
    ) -> anyhow::Result<Settings> {
        let mut db = database(global, &mut report)?;
        db.slow_query = Some(serve.telemetry.slow_query());
        let mut serve = serve.clone();
        serve.mail.smtp_password = secret_from_file(
            &mut report,
            "smtp_password",
            serve.mail.smtp_password.take(),
            serve.mail.smtp_password_file.as_deref(),
        )?;
        serve.mail.smtp_password_file = None;
        serve.server.validate()?;
        let tls = serve.tls.settings()?;
        Ok(Settings {
            db,
            serve,
            tls,
            report,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn every_setting_is_documented() {
        let cmd = ServeArgs::augment_args(GlobalArgs::augment_args(clap::Command::new("orgadm")));
        let doc = include_str!("../../docs/OPERATIONS.md");
        let mut n = 0;
        for a in cmd.get_arguments().filter(|a| file::is_setting(a)) {
            let key = a.get_id().as_str();
            let env = a.get_env().unwrap().to_string_lossy().into_owned();
            let long = a.get_long().unwrap();
            assert!(
                doc.contains(&format!("| `{key}` | `--{long}` | `{env}` |")),
                "{key} is not in docs/OPERATIONS.md"
            );
            n += 1;
        }
        assert!(n > 40, "{n}");
    }

    #[test]
    fn file_values_become_defaults_beneath_env_and_flags() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            global: GlobalArgs,
        }
        let mut path = std::env::temp_dir();
        path.push(format!("orgadm-config-{}.toml", std::process::id()));
        std::fs::write(&path, "db_pool_size = 3\nsqlite_synchronous = \"normal\"\n").unwrap();
        let args = |extra: &[&str]| -> Vec<OsString> {
            let mut v: Vec<OsString> =
                vec!["orgadm".into(), "--config".into(), path.clone().into()];
            v.extend(extra.iter().map(OsString::from));
            v
        };
        let (cli, report) = parse::<Cli>(args(&[])).unwrap();
        assert_eq!(cli.global.db.db_pool_size, 3);
        assert_eq!(report.source("db_pool_size"), Source::File);
        assert_eq!(report.source("db_connect_timeout_secs"), Source::Default);
        let (cli, report) = parse::<Cli>(args(&["--db-pool-size", "5"])).unwrap();
        assert_eq!(cli.global.db.db_pool_size, 5);
        assert_eq!(report.source("db_pool_size"), Source::Flag);
        std::fs::remove_file(&path).unwrap();
    }
}
