//! What a parse left: each setting with its value and source, rendered by `config check` as a
//! TOML file with secrets masked.

use std::path::PathBuf;

/// Where a setting's value came from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Unset,
    Default,
    File,
    Env,
    Flag,
}

/// One setting as the parse left it.
#[derive(Debug, Clone)]
pub struct Setting {
    pub key: String,
    pub env: Option<String>,
    pub values: Vec<String>,
    pub source: Source,
    pub secret: bool,
    /// Repeatable: shown as an array.
    pub many: bool,
    /// Said after the source, e.g. "read from database_url_file".
    pub note: Option<String>,
}

/// The settings of the command that ran, with their sources, and the file (if any).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub file: Option<PathBuf>,
    pub settings: Vec<Setting>,
}

impl Report {
    pub fn source(&self, key: &str) -> Source {
        self.settings
            .iter()
            .find(|s| s.key == key)
            .map_or(Source::Unset, |s| s.source)
    }

    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut Setting> {
        self.settings.iter_mut().find(|s| s.key == key)
    }

    /// The settings as a TOML file (usable as one), secrets masked, each with its source.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# orgadm settings in effect: flags > ORGADM_* environment > config file > defaults\n",
        );
        match &self.file {
            Some(f) => out.push_str(&format!("# config file: {}\n", f.display())),
            None => out.push_str("# config file: none\n"),
        }
        for s in &self.settings {
            let source = match s.source {
                Source::Unset => {
                    out.push_str(&format!("# {} is not set\n", s.key));
                    continue;
                }
                Source::Default => "default".to_owned(),
                Source::File => "config file".to_owned(),
                Source::Env => format!("env {}", s.env.as_deref().unwrap_or("?")),
                Source::Flag => format!("flag --{}", s.key.replace('_', "-")),
            };
            let shown: Vec<String> = s
                .values
                .iter()
                .map(|v| toml_value(&mask(&s.key, s.secret, v)))
                .collect();
            let value = if !s.many && shown.len() == 1 {
                shown.join("")
            } else {
                format!("[{}]", shown.join(", "))
            };
            let note = s
                .note
                .as_deref()
                .map(|n| format!("; {n}"))
                .unwrap_or_default();
            out.push_str(&format!("{} = {value}  # {source}{note}\n", s.key));
        }
        out
    }
}

/// A value as TOML: bare when a number or boolean, otherwise a quoted string.
fn toml_value(v: &str) -> String {
    if v == "true"
        || v == "false"
        || v.parse::<i64>().is_ok()
        || v.parse::<f64>().is_ok_and(f64::is_finite)
    {
        v.to_owned()
    } else {
        serde_json::Value::String(v.to_owned()).to_string()
    }
}

/// A secret's value as it may be shown: a URL keeps everything but its password.
pub fn mask(key: &str, secret: bool, value: &str) -> String {
    if !secret {
        return value.to_owned();
    }
    if key.ends_with("_url") {
        return mask_url(value);
    }
    if value.is_empty() {
        String::new()
    } else {
        "********".to_owned()
    }
}

/// `scheme://user:secret@host/…?password=secret` → `scheme://user:****@host/…?password=****`.
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "****");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{base}{}", masked.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_all_but_the_password() {
        assert_eq!(
            mask_url("postgres://orgadm:s3cr@t@db.local:5432/orgadm?sslmode=require"),
            "postgres://orgadm:****@db.local:5432/orgadm?sslmode=require"
        );
        assert_eq!(
            mask_url("postgres://db/orgadm?user=a&password=x&sslmode=require"),
            "postgres://db/orgadm?user=a&password=****&sslmode=require"
        );
        assert_eq!(
            mask_url("sqlite://data/orgadm.db"),
            "sqlite://data/orgadm.db"
        );
        assert_eq!(mask_url("postgres://orgadm@db/x"), "postgres://orgadm@db/x");
    }

    #[test]
    fn values_print_as_toml() {
        assert_eq!(toml_value("8"), "8");
        assert_eq!(toml_value("true"), "true");
        assert_eq!(toml_value("1.5"), "1.5");
        assert_eq!(toml_value("a \"b\""), "\"a \\\"b\\\"\"");
        assert_eq!(toml_value("inf"), "\"inf\"");
    }
}
