//! Bearer-token auth: a token file of `operator:TOKEN` / `viewer:TOKEN` lines. Operators may
//! write, viewers only read (403 on writes); a missing or unknown token is 401. Tokens are
//! compared, never logged or echoed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::reply::Failure;
use crate::api::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Operator,
    Viewer,
}

/// The tokens a server accepts. `None` in the server means no auth (loopback only).
#[derive(Clone, Default)]
pub struct Tokens(HashMap<String, Role>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} redacted)", self.0.len())
    }
}

impl Tokens {
    pub fn parse(text: &str, origin: &str) -> Result<Tokens> {
        let mut map = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let field = format!("{origin} line {}", n + 1);
            let (role, token) = line
                .split_once(':')
                .ok_or_else(|| Error::invalid(&field, "must be operator:TOKEN or viewer:TOKEN"))?;
            let role = match role.trim() {
                "operator" => Role::Operator,
                "viewer" => Role::Viewer,
                _ => return Err(Error::invalid(&field, "role must be operator or viewer")),
            };
            let token = token.trim();
            if token.len() < 8 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid(
                    &field,
                    "token must be at least 8 visible ASCII characters",
                ));
            }
            if map.insert(token.to_string(), role).is_some() {
                // Which role would win is not for the file's order to decide.
                return Err(Error::invalid(
                    &field,
                    "repeats a token listed on an earlier line: each token has one role",
                ));
            }
        }
        if map.is_empty() {
            return Err(Error::invalid(
                origin,
                "holds no operator: or viewer: token",
            ));
        }
        Ok(Tokens(map))
    }

    /// Reads a token file; like ssh with its keys, refuses one that group or others may
    /// read or write.
    pub fn load(path: &Path) -> Result<Tokens> {
        let text = read_private(path, "--token-file")?;
        Tokens::parse(&text, &path.display().to_string())
    }

    pub fn insert(&mut self, token: &str, role: Role) {
        self.0.insert(token.to_string(), role);
    }

    pub fn count(&self, role: Role) -> usize {
        self.0.values().filter(|r| **r == role).count()
    }

    fn role_of(&self, token: &str) -> Option<Role> {
        // Compare against every token in full, so timing says little about near misses.
        let mut found = None;
        for (t, r) in &self.0 {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(*r);
            }
        }
        found
    }
}

/// A file only its owner may read or write, read whole; `field` names it in errors.
fn read_private(path: &Path, field: &str) -> Result<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            return Err(Error::invalid(
                field,
                &format!(
                    "is readable or writable by group or others (mode {:o}): run chmod 600 {}",
                    meta.permissions().mode() & 0o777,
                    path.display()
                ),
            ));
        }
    }
    std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(field, &format!("cannot be read ({e}): {}", path.display())))
}

/// A client's token file: the token on its first non-empty line, from a file only its
/// owner may read.
pub fn read_secret_file(path: &Path, field: &str) -> Result<String> {
    let text = read_private(path, field)?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(field, "holds no token"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_read(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn require(
    State(tokens): State<Option<Arc<Tokens>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(tokens) = tokens else {
        return next.run(req).await;
    };
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match bearer.and_then(|t| tokens.role_of(t)) {
        None => Failure(Error::Unauthorized {
            message: "a valid bearer token is required (Authorization: Bearer TOKEN)".into(),
        })
        .into_response(),
        Some(Role::Viewer) if !is_read(req.method()) => Failure(Error::Forbidden {
            message: "a viewer token may only read".into(),
        })
        .into_response(),
        Some(Role::Viewer) if req.uri().path() == "/check" => Failure(Error::Forbidden {
            message: "the whole-log check is for operator tokens".into(),
        })
        .into_response(),
        Some(_) => next.run(req).await,
    }
}

/// The token of `Bearer TOKEN`; the scheme is case-insensitive (RFC 9110 11.1).
fn bearer_token(v: &str) -> Option<&str> {
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lines_give_roles() {
        let t = Tokens::parse(
            "# staff\noperator:op-secret-1\nviewer: view-secret-2\n",
            "f",
        )
        .unwrap();
        assert_eq!(t.role_of("op-secret-1"), Some(Role::Operator));
        assert_eq!(t.role_of("view-secret-2"), Some(Role::Viewer));
        assert_eq!(t.role_of("op-secret-"), None);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn a_token_listed_twice_is_refused_naming_the_line() {
        let e = Tokens::parse("operator:same-token-1\nviewer:same-token-1\n", "t.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.txt line 2") && e.contains("one role"), "{e}");
        assert!(!e.contains("same-token-1"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tokens");
        std::fs::write(&f, "operator:op-secret-1\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Tokens::load(&f).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Tokens::load(&f).unwrap().count(Role::Operator), 1);
    }

    #[test]
    fn bad_token_lines_name_the_line_and_never_the_token() {
        let e =
            Tokens::parse("operator:ok-token-1\nadmin:hunter2hunter2\n", "tokens.txt").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("tokens.txt line 2"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(
            format!("{:?}", Tokens::parse("viewer:abcdefgh", "f").unwrap()).contains("redacted")
        );
    }
}
