//! The TOML settings file, layered beneath flags and environment variables: each key becomes the
//! default of the argument of the same name, so clap's own precedence (flag, then environment,
//! then default) puts the file between the environment and the built-in defaults.
//!
//! Keys are the settings' names (`database_url`, `smtp_host`); a table joins its name to its
//! keys with `_`, so `[smtp] host = "…"` is `smtp_host`. Numbers and booleans may be written
//! bare or quoted; a repeatable setting takes an array. Unknown keys are refused, and each value
//! is checked by the argument's own parser before anything starts.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use clap::{Arg, ArgAction, Command};

use super::ConfigError;

/// The flattened keys of a settings file and their values as text.
pub type Entries = BTreeMap<String, Vec<String>>;

/// Reads and flattens `path`.
pub fn read(path: &Path) -> Result<Entries, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))
    })?;
    parse(path, &text)
}

/// Parses and flattens settings text (`path` only names it in messages).
pub fn parse(path: &Path, text: &str) -> Result<Entries, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_owned();
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        match line {
            Some(l) => ConfigError::new(format!("{}:{l}: {msg}", path.display())),
            None => ConfigError::new(format!("{}: {msg}", path.display())),
        }
    })?;
    let mut out = Entries::new();
    flatten(path, "", &table, &mut out)?;
    Ok(out)
}

fn flatten(
    path: &Path,
    prefix: &str,
    table: &toml::Table,
    out: &mut Entries,
) -> Result<(), ConfigError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}_{k}")
        };
        let values = match v {
            toml::Value::Table(t) => {
                flatten(path, &key, t, out)?;
                continue;
            }
            toml::Value::Array(items) => items
                .iter()
                .map(|i| scalar(path, &key, i))
                .collect::<Result<Vec<_>, _>>()?,
            other => vec![scalar(path, &key, other)?],
        };
        if out.insert(key.clone(), values).is_some() {
            return Err(ConfigError::new(format!(
                "{}: `{key}` is set twice",
                path.display()
            )));
        }
    }
    Ok(())
}

fn scalar(path: &Path, key: &str, v: &toml::Value) -> Result<String, ConfigError> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => {
            Err(ConfigError::new(format!(
                "{}: `{key}` must be a string, number or boolean",
                path.display()
            )))
        }
    }
}

/// Makes each entry the default of its argument in every command of `paths` (the root is `[]`)
/// that has it. An entry no settings command knows is refused; so is a value the argument's
/// parser refuses, or a list given to a setting that takes one value.
pub fn apply(
    mut root: Command,
    paths: &[&[&str]],
    path: &Path,
    entries: &Entries,
) -> Result<Command, ConfigError> {
    for (key, values) in entries {
        let mut found = false;
        for cmd_path in paths {
            let Some(arg) = find_arg(&root, cmd_path, key).cloned() else {
                continue;
            };
            if !found {
                check(path, key, &arg, values)?;
            }
            found = true;
            let values = values.clone();
            root = mut_at(root, cmd_path, key, move |a| a.default_values(values));
        }
        if !found {
            return Err(ConfigError::new(format!(
                "{}: unknown setting `{key}` (every setting is listed in docs/OPERATIONS.md)",
                path.display()
            )));
        }
    }
    Ok(root)
}

/// The settings arguments (not `config` itself, nor help and version).
pub fn is_setting(arg: &Arg) -> bool {
    let id = arg.get_id().as_str();
    id != "config" && id != "help" && id != "version" && arg.get_long().is_some()
}

pub fn find_arg<'a>(root: &'a Command, cmd_path: &[&str], id: &str) -> Option<&'a Arg> {
    let mut cmd = root;
    for name in cmd_path {
        cmd = cmd.find_subcommand(name)?;
    }
    cmd.get_arguments()
        .find(|a| a.get_id().as_str() == id && is_setting(a))
}

fn mut_at(cmd: Command, cmd_path: &[&str], id: &str, f: impl FnOnce(Arg) -> Arg) -> Command {
    match cmd_path.split_first() {
        None => cmd.mut_arg(id, f),
        Some((first, rest)) => cmd.mut_subcommand(*first, |sub| mut_at(sub, rest, id, f)),
    }
}

/// Checks the values with the argument's own parser.
fn check(path: &Path, key: &str, arg: &Arg, values: &[String]) -> Result<(), ConfigError> {
    let takes_many = matches!(arg.get_action(), ArgAction::Append);
    if values.len() != 1 && !takes_many {
        return Err(ConfigError::new(format!(
            "{}: `{key}` takes one value, not a list",
            path.display()
        )));
    }
    for v in values {
        let probe = Command::new("orgadm").no_binary_name(true).arg(
            Arg::new("v")
                .long("v")
                .action(ArgAction::Set)
                .allow_hyphen_values(true)
                .ignore_case(arg.is_ignore_case_set())
                .value_parser(arg.get_value_parser().clone()),
        );
        let mut argv: Vec<&OsStr> = vec![OsStr::new("--v")];
        argv.push(OsStr::new(v));
        if let Err(e) = probe.try_get_matches_from(argv) {
            let choices: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|p| p.get_name().to_owned())
                .collect();
            let reason = match std::error::Error::source(&e) {
                Some(cause) => cause.to_string(),
                None if !choices.is_empty() => format!("must be one of {}", choices.join(", ")),
                None => super::clap_reason(&e),
            };
            return Err(ConfigError::new(format!(
                "{}: `{key}`: invalid value {v:?}: {reason}",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tables_flatten_into_names() {
        let e = parse(
            Path::new("x.toml"),
            "database_url = \"sqlite://a\"\n[smtp]\nhost = \"mx\"\nport = 25\n[tls]\nclient_auth = \"required\"\n[token]\nscopes = [\"a\", \"b\"]\n",
        )
        .unwrap();
        assert_eq!(e["database_url"], ["sqlite://a"]);
        assert_eq!(e["smtp_host"], ["mx"]);
        assert_eq!(e["smtp_port"], ["25"]);
        assert_eq!(e["tls_client_auth"], ["required"]);
        assert_eq!(e["token_scopes"], ["a", "b"]);
    }

    #[test]
    fn twice_and_syntax_errors_are_refused_with_their_place() {
        let e = parse(
            Path::new("x.toml"),
            "smtp_host = \"a\"\n[smtp]\nhost = \"b\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`smtp_host` is set twice"), "{e}");
        let e = parse(Path::new("x.toml"), "a = 1\nb = \n").unwrap_err();
        assert!(e.to_string().starts_with("x.toml:2:"), "{e}");
    }
}
