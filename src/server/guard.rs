//! No cross-site writes and no DNS rebinding (SPEC 6): a write must say its body is JSON
//! (415), a request that carries an `Origin` must come from this server's own (403), and a
//! server without a token file answers only to loopback names in `Host` (421). No CORS: a
//! browser on another site never gets to read an answer.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::reply::refusal;

/// What the guard knows of the server.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// No token file: anyone who can reach the socket may write, so only loopback names.
    pub open: bool,
    /// `scheme://host[:port]` of the configured public URL, an origin of our own.
    pub public_origin: Option<String>,
}

/// `localhost`, `*.localhost`, `127.0.0.0/8` or `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim();
    let name = if let Some(rest) = h.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, _)) => ip,
            None => return false,
        }
    } else {
        match h.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => h,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The origin part (`scheme://authority`) of a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{}://{}", scheme, authority).to_ascii_lowercase())
}

fn is_write(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::PATCH)
}

/// `application/json`, parameters (`; charset=utf-8`) allowed.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

pub async fn check(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok());
    if g.open && host.is_some_and(|h| !is_loopback_host(h)) {
        return refusal(
            StatusCode::MISDIRECTED_REQUEST,
            "Host",
            "must be a loopback name (localhost, 127.0.0.1, [::1]): this server has no token file",
            path,
        );
    }
    if let Some(origin) = req.headers().get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let own = host.map(|h| format!("http://{}", h.trim().to_ascii_lowercase()));
        if Some(&origin) != own.as_ref() && Some(&origin) != g.public_origin.as_ref() {
            return refusal(
                StatusCode::FORBIDDEN,
                "Origin",
                "must be this server's own: cross-site requests are refused",
                path,
            );
        }
    }
    if is_write(req.method()) {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !ct.is_some_and(is_json) {
            return refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type",
                "must be application/json for a write",
                path,
            );
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_with_and_without_ports() {
        for h in [
            "localhost",
            "LOCALHOST:8088",
            "app.localhost",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:8088",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "attacker.example",
            "attacker.example:8088",
            "localhost.attacker.example",
            "10.0.0.1",
            "[::2]:80",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert_eq!(
            origin_of("https://Console.Example:8443/api/"),
            Some("https://console.example:8443".into())
        );
    }
}
