//! Configuration through the real binary: precedence (defaults < file < environment < flags) as
//! `orgadm config check` shows it, masked secrets, secrets read from files, and one clear line
//! with a non-zero exit for every bad configuration.

use std::path::Path;
use std::process::{Command, Output};

/// The binary with no `ORGADM_*` variable of the caller's environment, logs off, run in `dir`.
pub fn orgadm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orgadm"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ORGADM_") {
            c.env_remove(k);
        }
    }
    c.env("ORGADM_LOG", "off").current_dir(dir);
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The line of `config check` output for `key`.
fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{key} = ")) || *l == format!("# {key} is not set"))
        .unwrap_or_else(|| panic!("no line for {key} in\n{out}"))
}

/// Runs a command expected to fail: returns its one line of standard error.
pub fn fails(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    let (out, err) = text(&o);
    assert!(!o.status.success(), "should fail; stdout:\n{out}");
    let err = err.trim_end().to_owned();
    assert_eq!(err.lines().count(), 1, "one line expected:\n{err}");
    assert!(err.starts_with("orgadm: "), "{err}");
    err
}

#[test]
fn flags_beat_environment_beats_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("orgadm.toml"),
        "listen = \"127.0.0.1:1111\"\n\
         db_pool_size = 3\n\
         public_base_url = \"https://file.example\"\n\
         [smtp]\nhost = \"mx.file.example\"\nport = 2525\n\
         [token]\nscopes = [\"http://a.example/x\", \"http://b.example/y\"]\n",
    )
    .unwrap();
    let o = orgadm(dir.path())
        .env("ORGADM_LISTEN", "127.0.0.1:2222")
        .env("ORGADM_DB_POOL_SIZE", "4")
        .args(["config", "check", "--config", "orgadm.toml"])
        .args(["--listen", "127.0.0.1:3333"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        line(&out, "listen"),
        "listen = \"127.0.0.1:3333\"  # flag --listen"
    );
    assert_eq!(
        line(&out, "db_pool_size"),
        "db_pool_size = 4  # env ORGADM_DB_POOL_SIZE"
    );
    assert_eq!(
        line(&out, "public_base_url"),
        "public_base_url = \"https://file.example\"  # config file"
    );
    assert_eq!(
        line(&out, "smtp_host"),
        "smtp_host = \"mx.file.example\"  # config file"
    );
    assert_eq!(line(&out, "smtp_port"), "smtp_port = 2525  # config file");
    assert_eq!(
        line(&out, "token_scopes"),
        "token_scopes = [\"http://a.example/x\", \"http://b.example/y\"]  # config file"
    );
    assert_eq!(
        line(&out, "token_lifetime_secs"),
        "token_lifetime_secs = 86400  # default"
    );
    assert_eq!(line(&out, "smtp_username"), "# smtp_username is not set");
    assert!(out.contains("# config file: orgadm.toml"), "{out}");

    // The output is itself a settings file that yields the same settings (sources aside).
    std::fs::write(dir.path().join("again.toml"), &out).unwrap();
    let o = orgadm(dir.path())
        .args(["config", "check", "--config", "again.toml"])
        .output()
        .unwrap();
    let (again, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for key in ["listen", "db_pool_size", "smtp_host", "token_scopes"] {
        let first = line(&out, key).split("  # ").next().unwrap().to_owned();
        assert_eq!(line(&again, key), format!("{first}  # config file"));
    }

    // The environment beats the file when no flag is given.
    let o = orgadm(dir.path())
        .env("ORGADM_LISTEN", "127.0.0.1:2222")
        .env("ORGADM_CONFIG", "orgadm.toml")
        .args(["config", "check"])
        .output()
        .unwrap();
    let (out, _) = text(&o);
    assert_eq!(
        line(&out, "listen"),
        "listen = \"127.0.0.1:2222\"  # env ORGADM_LISTEN"
    );
    assert_eq!(
        line(&out, "db_pool_size"),
        "db_pool_size = 3  # config file"
    );
}

#[test]
fn secrets_are_masked_and_may_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("orgadm.toml"),
        "smtp_host = \"mx.example\"\nsmtp_username = \"orgadm\"\nsmtp_password = \"hunter2-file\"\n",
    )
    .unwrap();
    let o = orgadm(dir.path())
        .env(
            "ORGADM_DATABASE_URL",
            "postgres://orgadm:hunter2-env@db.example:5432/orgadm?sslmode=require",
        )
        .args(["config", "check", "--config", "orgadm.toml"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(!out.contains("hunter2"), "a secret is shown:\n{out}");
    assert_eq!(
        line(&out, "database_url"),
        "database_url = \"postgres://orgadm:****@db.example:5432/orgadm?sslmode=require\"  # env ORGADM_DATABASE_URL"
    );
    assert_eq!(
        line(&out, "smtp_password"),
        "smtp_password = \"********\"  # config file"
    );

    // From files: the database URL named in the settings file, the SMTP password by the
    // environment; both take precedence over the plain values of lower sources.
    std::fs::write(
        dir.path().join("db.url"),
        "postgres://orgadm:from-a-file@db.example/orgadm\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("smtp.pass"), "also-from-a-file\n").unwrap();
    std::fs::write(
        dir.path().join("files.toml"),
        "database_url_file = \"db.url\"\nsmtp_host = \"mx.example\"\nsmtp_password = \"plain\"\n",
    )
    .unwrap();
    let o = orgadm(dir.path())
        .env("ORGADM_SMTP_PASSWORD_FILE", "smtp.pass")
        .args(["config", "check", "--config", "files.toml"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(!out.contains("from-a-file"), "{out}");
    assert_eq!(
        line(&out, "database_url"),
        "database_url = \"postgres://orgadm:****@db.example/orgadm\"  # config file; read from database_url_file db.url"
    );
    assert_eq!(
        line(&out, "smtp_password"),
        "smtp_password = \"********\"  # env ORGADM_SMTP_PASSWORD_FILE; read from smtp_password_file smtp.pass"
    );

    // A secret and its file at the same level is ambiguous.
    let err = fails(
        orgadm(dir.path())
            .env("ORGADM_SMTP_PASSWORD", "x")
            .env("ORGADM_SMTP_PASSWORD_FILE", "smtp.pass")
            .args(["config", "check", "--smtp-host", "mx"]),
    );
    assert_eq!(
        err,
        "orgadm: set smtp_password or smtp_password_file, not both"
    );

    // The database URL from a file is what commands use: migrate creates the SQLite file named
    // there.
    std::fs::write(dir.path().join("sqlite.url"), "sqlite://from-file.db\n").unwrap();
    let o = orgadm(dir.path())
        .env("ORGADM_DATABASE_URL_FILE", "sqlite.url")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(dir.path().join("from-file.db").exists());
}

#[test]
fn every_bad_configuration_is_one_clear_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, body: &str| std::fs::write(d.join(name), body).unwrap();
    let check = |file: &str| {
        let mut c = orgadm(d);
        c.args(["config", "check", "--config", file]);
        c
    };

    write(
        "unknown.toml",
        "listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"\n",
    );
    let err = fails(&mut check("unknown.toml"));
    assert!(err.contains("unknown setting `listen_adress`"), "{err}");
    write("unknown2.toml", "[smtp]\nhots = \"x\"\n");
    let err = fails(&mut check("unknown2.toml"));
    assert!(err.contains("unknown setting `smtp_hots`"), "{err}");

    write("value.toml", "db_pool_size = \"many\"\n");
    let err = fails(&mut check("value.toml"));
    assert!(
        err.ends_with(
            "value.toml: `db_pool_size`: invalid value \"many\": invalid digit found in string"
        ),
        "{err}"
    );
    write("choice.toml", "tls_client_auth = \"sometimes\"\n");
    let err = fails(&mut check("choice.toml"));
    assert!(
        err.ends_with(
            "`tls_client_auth`: invalid value \"sometimes\": must be one of optional, required"
        ),
        "{err}"
    );
    write("list.toml", "listen = [\"a:1\", \"b:2\"]\n");
    let err = fails(&mut check("list.toml"));
    assert!(err.contains("`listen` takes one value"), "{err}");
    write("syntax.toml", "listen = \"127.0.0.1:1\"\nsmtp_port = \n");
    let err = fails(&mut check("syntax.toml"));
    assert!(err.contains("syntax.toml:2:"), "{err}");
    let err = fails(&mut check("missing.toml"));
    assert!(
        err.contains("cannot read the config file missing.toml"),
        "{err}"
    );

    let err = fails(
        orgadm(d)
            .env("ORGADM_DB_POOL_SIZE", "lots")
            .args(["config", "check"]),
    );
    assert!(
        err.contains("invalid value 'lots'") && err.contains("(set by ORGADM_DB_POOL_SIZE)"),
        "{err}"
    );
    let err = fails(orgadm(d).args(["config", "check", "--public-base-url", "ftp://x"]));
    assert!(err.contains("public_base_url must be an http"), "{err}");

    // Files the settings name.
    write(
        "signing.toml",
        "signing_key = \"nowhere/key.pem\"\nsigning_cert = \"nowhere/cert.pem\"\n",
    );
    let err = fails(&mut check("signing.toml"));
    assert!(
        err.contains("cannot use the signing key") && err.contains("nowhere/key.pem"),
        "{err}"
    );
    write("half.toml", "signing_key = \"key.pem\"\n");
    let err = fails(&mut check("half.toml"));
    assert!(
        err.contains("signing_key and signing_cert go together"),
        "{err}"
    );
    write("trust.toml", "trust_dir = \"no-such-dir\"\n");
    let err = fails(&mut check("trust.toml"));
    assert!(
        err.contains("cannot use the trust directory no-such-dir"),
        "{err}"
    );
    write("garbage.pem", "not a certificate\n");
    write(
        "tls.toml",
        "tls_cert = \"garbage.pem\"\ntls_key = \"garbage.pem\"\n",
    );
    let err = fails(&mut check("tls.toml"));
    assert!(err.contains("tls_cert garbage.pem"), "{err}");
    write("tls-half.toml", "tls_cert = \"garbage.pem\"\n");
    let err = fails(&mut check("tls-half.toml"));
    assert!(err.contains("tls_cert and tls_key go together"), "{err}");
    write("tls-ca.toml", "tls_client_ca = \"garbage.pem\"\n");
    let err = fails(&mut check("tls-ca.toml"));
    assert!(err.contains("tls_client_ca needs tls_cert"), "{err}");
    write("hashkey", "not hex\n");
    write("hash.toml", "api_key_hash_key_file = \"hashkey\"\n");
    let err = fails(&mut check("hash.toml"));
    assert!(err.contains("api_key_hash_key_file hashkey"), "{err}");

    // An unreachable database stops `serve` (its password never shown).
    let err = fails(orgadm(d).args([
        "serve",
        "--database-url",
        "postgres://orgadm:hunter2@127.0.0.1:1/orgadm",
        "--db-connect-timeout-secs",
        "1",
        "--listen",
        "127.0.0.1:0",
    ]));
    assert!(
        err.contains("database postgres://orgadm:****@127.0.0.1:1/orgadm"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    // A listen address that cannot be bound.
    let err = fails(orgadm(d).args(["serve", "--listen", "192.0.2.1:1"]));
    assert!(err.contains("cannot listen on 192.0.2.1:1"), "{err}");
}
