//! The `orgadm` binary: client management prints the token once, on the last line.

use std::process::Command;

fn orgadm(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .env_remove("ORGADM_DATABASE_URL")
        .arg("--database-url")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn client_create_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let (ok, out, err) = orgadm(
        &db,
        &["client", "create", "--name", "admin", "--role", "operator"],
    );
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap();
    assert!(token.starts_with("oa1_") && token.len() == 47, "{out}");
    let (ok, _, err) = orgadm(
        &db,
        &["client", "create", "--name", "admin", "--role", "operator"],
    );
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = orgadm(
        &db,
        &["client", "create", "--name", "v", "--role", "vendor"],
    );
    assert!(!ok);
    assert!(err.contains("--organization"), "{err}");
    let (ok, _, err) = orgadm(&db, &["client", "create", "--name", "x", "--role", "king"]);
    assert!(!ok);
    assert!(err.contains("--role"), "{err}");
    let (ok, out, _) = orgadm(&db, &["client", "list"]);
    assert!(ok);
    assert!(out.contains("admin\toperator\t-\tactive"), "{out}");
    assert!(!out.contains(token), "list never shows a token");
    let (ok, _, _) = orgadm(&db, &["client", "revoke", "admin"]);
    assert!(ok);
    let (_, out, _) = orgadm(&db, &["client", "list"]);
    assert!(out.contains("revoked"), "{out}");
    // The database holds no token in the clear.
    let bytes = std::fs::read(dir.path().join("cli.db")).unwrap();
    let wal = std::fs::read(dir.path().join("cli.db-wal")).unwrap_or_default();
    for hay in [bytes, wal] {
        assert!(
            !hay.windows(token.len()).any(|w| w == token.as_bytes()),
            "token stored in the clear"
        );
    }
    let (ok, out, _) = orgadm(&db, &["migrate"]);
    assert!(ok);
    assert!(out.contains("migrations applied"));
}

#[test]
fn help_explains_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_orgadm"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--listen") && text.contains("--database-url"),
        "{text}"
    );
}
