//! The client's token: from `--token-file` (a file only its owner may read) or
//! `ONEPOINT_TOKEN`; `--token` works but warns that `ps` shows it. The server's token file
//! is held to the same rule, and a token listed twice is refused at start.

mod cli_support;
mod remote_support;

use std::os::unix::fs::PermissionsExt;

use cli_support::Store;
use onepoint::server::{Role, Tokens};
use remote_support::serve;

const OP: &str = "operator-token-123";

fn secret(dir: &std::path::Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
    let f = dir.join(name);
    std::fs::write(&f, text).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
    f
}

#[test]
fn the_client_reads_its_token_from_a_private_file_and_warns_about_token_in_ps() {
    let mut tokens = Tokens::default();
    tokens.insert(OP, Role::Operator);
    let s = serve(Some(tokens));
    let url = s.url();
    let store = Store::new();
    let dir = tempfile::tempdir().unwrap();
    let file = secret(dir.path(), "token", &format!("{OP}\n"), 0o600);
    let f = file.to_str().unwrap();

    let r = store.run(&[
        "--remote",
        &url,
        "--token-file",
        f,
        "member",
        "join",
        "--name",
        "Kim",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("warning"), "{r:?}");

    let open = secret(dir.path(), "open", &format!("{OP}\n"), 0o644);
    let r = store.run(&[
        "--remote",
        &url,
        "--token-file",
        open.to_str().unwrap(),
        "member",
        "list",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.error_line().contains("chmod 600"), "{r:?}");
    assert!(!r.stderr.contains(OP), "the token never shows: {r:?}");

    let r = store.run(&["--remote", &url, "--token", OP, "member", "list"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("warning: --token shows in `ps`"), "{r:?}");

    let r = store
        .command(&["--remote", &url, "member", "list"])
        .env("ONEPOINT_TOKEN", OP)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&r.stderr).contains("warning"));

    let r = store.run(&["--remote", &url, "member", "list"]);
    assert_eq!(r.code, 3, "no token: {r:?}");
}

#[test]
fn serve_refuses_an_open_token_file_and_a_token_listed_twice() {
    let store = Store::new();
    let dir = tempfile::tempdir().unwrap();
    let open = secret(dir.path(), "open", &format!("operator:{OP}\n"), 0o640);
    let r = store.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        open.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.error_line().contains("chmod 600"), "{r:?}");
    let twice = secret(
        dir.path(),
        "twice",
        &format!("operator:{OP}\nviewer:{OP}\n"),
        0o600,
    );
    let r = store.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        twice.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.error_line().contains("line 2"), "{r:?}");
    assert!(!r.stderr.contains(OP), "{r:?}");
}
