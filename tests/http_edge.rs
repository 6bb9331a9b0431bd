//! The server at its edges, over real HTTP on 127.0.0.1:0: the original's lenient bodies,
//! status codes and Spring-shaped error bodies, malformed, truncated and wrongly typed input,
//! auth (401/403), idempotent replay, and the SSE feed's resume.

mod remote_support;

use std::io::{Read, Write};
use std::time::Duration;

use onepoint::server::{Role, Tokens};
use remote_support::{Served, call, serve, try_call};
use serde_json::Value;

const OP: &str = "operator-token-123";
const VIEW: &str = "viewer-token-456";

fn post(s: &Served, path: &str, body: &str) -> remote_support::Reply {
    call("POST", &format!("{}{path}", s.url()), &[], Some(body))
}

fn get(s: &Served, path: &str) -> remote_support::Reply {
    call("GET", &format!("{}{path}", s.url()), &[], None)
}

/// A server with member 1 (안서연), 1000 points from a save at merchant 20.
fn with_member() -> Served {
    let s = serve(None);
    let r = post(
        &s,
        "/members",
        r#"{"name":"안서연","phone":"01011111111","addess":"용인"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = post(
        &s,
        "/deals",
        r#"{"memberId":"0001","merchantId":"20","dealAmount":"100000","type":"save"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    s
}

/// The Spring error shape, with the field and the rule.
fn assert_error(r: &remote_support::Reply, status: u16, path: &str, field: &str, rule: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    let v = r.json();
    assert_eq!(v["status"], status);
    assert!(v["timestamp"].is_string() && v["error"].is_string(), "{v}");
    assert_eq!(v["path"], path);
    let errors = v["errors"].as_array().unwrap();
    let e = errors
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("no {field} error in {v}"));
    assert!(e["rule"].as_str().unwrap().contains(rule), "{v}");
}

#[test]
fn original_join_body_answers_201_with_location_and_ids() {
    let s = serve(None);
    let r = post(
        &s,
        "/members",
        r#"{"name":"안서연","phone":"01011111111","addess":"용인"}"#,
    );
    assert_eq!(r.status, 201);
    let v = r.json();
    assert_eq!(v["memberId"], 1);
    assert_eq!(v["address"], "용인");
    assert_eq!(v["addess"], "용인");
    assert_eq!(v["status"], "valid");
    let href = v["_links"]["self"]["href"].as_str().unwrap();
    assert!(href.ends_with("/members/1"), "{href}");
    assert_eq!(r.headers["location"].to_str().unwrap(), href);
}

#[test]
fn deals_accept_strings_and_doubles_and_a_short_use_is_201_fail() {
    let s = with_member();
    let r = post(
        &s,
        "/deals",
        r#"{"memberId":1,"merchantId":20,"dealAmount":100000.0,"type":"save"}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["point"], 1000.0);
    assert_eq!(r.json()["balance"], 2000.0);
    let r = post(
        &s,
        "/deals",
        r#"{"memberId":"1","merchantId":"20","point":"5000","type":"use"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["status"], "fail");
    assert_eq!(v["reason"], "insufficient points");
    assert_eq!(v["balance"], 2000.0);
    let r = get(&s, "/points/0001");
    assert_eq!(
        (r.status, r.json()["point"].clone()),
        (200, Value::from(2000.0))
    );
}

#[test]
fn billing_takes_the_misspelt_merchant_field() {
    let s = with_member();
    post(
        &s,
        "/deals",
        r#"{"memberId":1,"merchantId":20,"point":"100","type":"use"}"#,
    );
    let r = post(
        &s,
        "/billings",
        r#"{"mercharntId":"20","billingMonth":"202610"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(
        (v["merchantId"].clone(), v["mercharntId"].clone()),
        (Value::from(20), Value::from(20))
    );
    assert_eq!(v["billingAmount"], 98.0);
}

#[test]
fn malformed_truncated_and_mistyped_bodies_are_400_naming_the_field() {
    let s = with_member();
    assert_error(
        &post(&s, "/deals", r#"{"memberId": 1,"#),
        400,
        "/deals",
        "body",
        "truncated",
    );
    assert_error(
        &post(&s, "/deals", r#"{memberId: 1}"#),
        400,
        "/deals",
        "body",
        "valid JSON",
    );
    assert_error(
        &post(&s, "/deals", "[1]"),
        400,
        "/deals",
        "body",
        "JSON object",
    );
    assert_error(
        &post(
            &s,
            "/deals",
            r#"{"memberId":{"id":1},"merchantId":20,"point":"1","type":"use"}"#,
        ),
        400,
        "/deals",
        "memberId",
        "must be a number or a numeric string",
    );
    assert_error(
        &post(
            &s,
            "/deals",
            r#"{"memberId":1,"merchantId":20,"point":1.234,"type":"use"}"#,
        ),
        400,
        "/deals",
        "point",
        "at most two decimals",
    );
    assert_error(
        &post(
            &s,
            "/deals",
            r#"{"memberId":1,"merchantId":20,"dealAmount":-5,"type":"save"}"#,
        ),
        400,
        "/deals",
        "dealAmount",
        "greater than 0",
    );
    assert_error(
        &post(
            &s,
            "/deals",
            r#"{"memberId":1,"merchantId":20,"dealAmount":10,"type":"cancel"}"#,
        ),
        400,
        "/deals",
        "originalDealId",
        "required",
    );
    assert_error(
        &post(
            &s,
            "/deals",
            r#"{"memberId":1,"merchantId":20,"dealAmount":10,"type":"refund"}"#,
        ),
        400,
        "/deals",
        "type",
        "must be one of",
    );
    assert_error(
        &post(&s, "/members", r#"{"name":["a"]}"#),
        400,
        "/members",
        "name",
        "string",
    );
    let long = format!(r#"{{"name":"{}"}}"#, "x".repeat(900 * 1024));
    assert_error(
        &post(&s, "/members", &long),
        400,
        "/members",
        "name",
        "at most 100",
    );
    // 10 MB: refused from its Content-Length, answered 400 or cut off, never read whole.
    let huge = format!(r#"{{"name":"{}"}}"#, "x".repeat(10 * 1024 * 1024));
    if let Some(r) = try_call("POST", &format!("{}/members", s.url()), &[], Some(&huge)) {
        assert_error(&r, 400, "/members", "body", "could not be read");
    }
    assert_error(
        &get(&s, "/members/abc"),
        400,
        "/members/abc",
        "memberId",
        "whole number",
    );
    assert_error(&get(&s, "/deals?size=0"), 400, "/deals", "size", "from 1");
    // Nothing of that was written.
    assert_eq!(
        get(&s, "/deals").json()["_embedded"]["deals"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&s, "/members").json()["_embedded"]["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn unknown_ids_are_404_and_refusals_409_or_422() {
    let s = with_member();
    let r = get(&s, "/members/0099");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["path"], "/members/0099");
    assert_eq!(
        post(
            &s,
            "/deals",
            r#"{"memberId":99,"merchantId":20,"dealAmount":10,"type":"save"}"#
        )
        .status,
        404
    );
    assert_eq!(get(&s, "/no/such/thing").status, 404);

    post(
        &s,
        "/deals",
        r#"{"memberId":1,"merchantId":20,"point":"100","type":"use"}"#,
    );
    assert_eq!(
        post(&s, "/deals", r#"{"originalDealId":2,"type":"cancel"}"#).status,
        201
    );
    assert_error(
        &post(&s, "/deals", r#"{"originalDealId":2,"type":"cancel"}"#),
        409,
        "/deals",
        "originalDealId",
        "already",
    );
    let r = post(
        &s,
        "/billings",
        r#"{"merchantId":20,"billingMonth":"209901"}"#,
    );
    assert_error(&r, 422, "/billings", "billingMonth", "future");

    let w = call("DELETE", &format!("{}/members/1", s.url()), &[], None);
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.json()["status"], "invalid");
    assert_eq!(w.json()["forfeited"], 1000.0);
    let again = call("DELETE", &format!("{}/members/1", s.url()), &[], None);
    assert_error(&again, 409, "/members/1", "memberId", "already withdrawn");
}

#[test]
fn idempotency_key_replays_the_stored_result_and_refuses_another_request() {
    let s = with_member();
    let url = format!("{}/deals", s.url());
    let body = r#"{"memberId":1,"merchantId":20,"point":"10","type":"use"}"#;
    let a = call("POST", &url, &[("Idempotency-Key", "pay-1")], Some(body));
    let b = call("POST", &url, &[("Idempotency-Key", "pay-1")], Some(body));
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.json(), b.json());
    assert_eq!(get(&s, "/points/1").json()["point"], 990.0, "applied once");
    let other = r#"{"memberId":1,"merchantId":20,"point":"11","type":"use"}"#;
    let c = call("POST", &url, &[("Idempotency-Key", "pay-1")], Some(other));
    assert_eq!(c.status, 409, "{}", c.text);
    let bad = call("POST", &url, &[("Idempotency-Key", "  ")], Some(body));
    assert_error(&bad, 400, "/deals", "Idempotency-Key", "empty");
}

#[test]
fn tokens_gate_reads_and_writes_and_never_echo() {
    let mut tokens = Tokens::default();
    tokens.insert(OP, Role::Operator);
    tokens.insert(VIEW, Role::Viewer);
    let s = serve(Some(tokens));
    let members = format!("{}/members", s.url());
    let join = r#"{"name":"Kim"}"#;
    let bearer = |t: &str| format!("Bearer {t}");

    let none = call("POST", &members, &[], Some(join));
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["status"], 401);
    let wrong = call(
        "GET",
        &members,
        &[("Authorization", "Bearer nope-nope-nope")],
        None,
    );
    assert_eq!(wrong.status, 401);
    assert!(!wrong.text.contains("nope-nope"));
    let viewer_write = call(
        "POST",
        &members,
        &[("Authorization", &bearer(VIEW))],
        Some(join),
    );
    assert_eq!(viewer_write.status, 403);
    assert!(!viewer_write.text.contains(VIEW));
    let op = call(
        "POST",
        &members,
        &[("Authorization", &bearer(OP))],
        Some(join),
    );
    assert_eq!(op.status, 201, "{}", op.text);
    let viewer_read = call("GET", &members, &[("Authorization", &bearer(VIEW))], None);
    assert_eq!(viewer_read.status, 200);
    assert_eq!(
        call("GET", &format!("{}/health", s.url()), &[], None).status,
        200
    );
}

/// Reads SSE frames until `n` events arrived; returns their `id:`s.
fn sse_ids(url: &str, last_event_id: Option<&str>, n: usize) -> Vec<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new()
            .get(url)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let mut resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let mut text = String::new();
        let mut ids = Vec::new();
        // A guard against a hang, not a timing assertion.
        let read = async {
            while ids.len() < n {
                let chunk = resp.chunk().await.unwrap().expect("the stream stays open");
                text.push_str(&String::from_utf8_lossy(&chunk));
                ids = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("id:"))
                    .map(|v| v.trim().parse().unwrap())
                    .collect();
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("events arrive");
        ids
    })
}

#[test]
fn the_feed_streams_with_offsets_and_resumes_after_last_event_id() {
    let s = with_member();
    // join: MemberCreated, PointCreated; save: SaveDealt.
    let first = sse_ids(&format!("{}/events", s.url()), None, 3);
    assert_eq!(first, [1, 2, 3]);
    post(
        &s,
        "/deals",
        r#"{"memberId":1,"merchantId":20,"point":"1","type":"use"}"#,
    );
    let resumed = sse_ids(&format!("{}/events", s.url()), Some("2"), 2);
    assert_eq!(resumed, [3, 4], "nothing lost, nothing repeated");
    let from_query = sse_ids(&format!("{}/events?after=3", s.url()), None, 1);
    assert_eq!(from_query, [4]);

    let page = call(
        "GET",
        &format!("{}/events?after=1", s.url()),
        &[("accept", "application/json")],
        None,
    );
    let offsets: Vec<u64> = page.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [2, 3, 4]);
    assert_eq!(page.json()["events"][2]["eventType"], "UseRequested");
}

#[test]
fn a_truncated_request_gets_an_error_and_the_server_lives_on() {
    let s = with_member();
    let mut tcp = std::net::TcpStream::connect(s.server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        tcp,
        "POST /members HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
    )
    .unwrap();
    tcp.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    if !answer.is_empty() {
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
    assert_eq!(get(&s, "/health").status, 200);
    assert_eq!(
        get(&s, "/members").json()["_embedded"]["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn batch_applies_in_order_and_answers_each() {
    let s = with_member();
    let r = post(
        &s,
        "/batch",
        r#"[{"op":"join","body":{"name":"Lee"}},
            {"op":"deal","key":"b1","body":{"type":"save","memberId":2,"merchantId":7,"dealAmount":"5000"}},
            {"op":"deal","body":{"type":"save","memberId":2,"merchantId":7,"dealAmount":"0"}},
            {"op":"nope"}]"#,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let statuses: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 400, 400]);
    assert_eq!(v[1]["body"]["balance"], 50.0);
    assert_eq!(v[2]["body"]["errors"][0]["field"], "dealAmount");
}

#[test]
fn the_remote_adapter_with_a_viewer_token_reads_but_may_not_write() {
    use onepoint::api::Error;
    use onepoint::api::Port;
    use onepoint::domain::{MemberId, MemberQuery, NewMember};
    let mut tokens = Tokens::default();
    tokens.insert(OP, Role::Operator);
    tokens.insert(VIEW, Role::Viewer);
    let s = serve(Some(tokens));
    let state = tempfile::tempdir().unwrap();
    let op = remote_support::remote(&s.url(), Some(OP), state.path());
    let kim = NewMember {
        name: "Kim".into(),
        phone: None,
        address: None,
    };
    assert_eq!(op.join(kim.clone(), None).unwrap().member_id, MemberId(1));
    let viewer = remote_support::remote(&s.url(), Some(VIEW), state.path());
    let all = viewer.members(&MemberQuery::default()).unwrap();
    assert_eq!(all.len(), 1);
    let e = viewer.join(kim.clone(), None).unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    let anonymous = remote_support::remote(&s.url(), None, state.path());
    let e = anonymous.member(MemberId(1)).unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    assert!(!e.to_string().contains(OP));
    assert_eq!(
        op.members(&MemberQuery::default()).unwrap().len(),
        1,
        "nothing written"
    );
}

/// One raw HTTP/1.1 request (headers exactly as given); the status and the body text.
fn raw(s: &Served, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut tcp = std::net::TcpStream::connect(s.server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    tcp.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn error_field(body: &str) -> (u64, String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let e = &v["errors"][0];
    (
        v["status"].as_u64().unwrap(),
        e["field"].as_str().unwrap_or("").to_string(),
        e["rule"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn a_cross_site_text_plain_write_is_415_and_changes_nothing() {
    let s = with_member();
    let batch = r#"[{"op":"withdraw","body":{"memberId":1}}]"#;
    for ct in [
        "Content-Type: text/plain",
        "Content-Type: application/x-www-form-urlencoded",
    ] {
        let (status, body) = raw(&s, "POST", "/batch", &["Host: 127.0.0.1", ct], batch);
        assert_eq!(status, 415, "{body}");
        let (st, field, rule) = error_field(&body);
        assert_eq!((st, field.as_str()), (415, "Content-Type"));
        assert!(rule.contains("application/json"), "{rule}");
    }
    let (status, body) = raw(&s, "POST", "/batch", &["Host: 127.0.0.1"], batch);
    assert_eq!(status, 415, "no Content-Type at all: {body}");
    assert_eq!(get(&s, "/members/1").json()["status"], "valid");
}

#[test]
fn a_foreign_origin_is_403_and_our_own_is_served() {
    let s = with_member();
    let own = format!("Origin: http://{}", s.server.addr);
    let host = format!("Host: {}", s.server.addr);
    let json = "Content-Type: application/json";
    let batch = r#"[{"op":"withdraw","body":{"memberId":1}}]"#;
    for origin in ["Origin: http://attacker.example", "Origin: null"] {
        let (status, body) = raw(&s, "POST", "/batch", &[&host, json, origin], batch);
        assert_eq!(status, 403, "{origin}: {body}");
        assert_eq!(error_field(&body).1, "Origin");
    }
    assert_eq!(get(&s, "/members/1").json()["status"], "valid");
    let (status, body) = raw(&s, "POST", "/batch", &[&host, json, &own], batch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&s, "/members/1").json()["status"], "invalid");
}

#[test]
fn without_a_token_file_a_foreign_host_is_421_dns_rebinding() {
    let s = with_member();
    for host in ["Host: attacker.example", "Host: attacker.example:8088"] {
        let (status, body) = raw(&s, "GET", "/members/1", &[host], "");
        assert_eq!(status, 421, "{host}: {body}");
        assert_eq!(error_field(&body).1, "Host");
    }
    for host in ["Host: localhost:8088", "Host: 127.0.0.1", "Host: [::1]:9"] {
        let (status, body) = raw(&s, "GET", "/members/1", &[host], "");
        assert_eq!(status, 200, "{host}: {body}");
    }
    // With tokens the server may sit behind any name: the token is the gate.
    let mut tokens = Tokens::default();
    tokens.insert(OP, Role::Operator);
    let t = serve(Some(tokens));
    let auth = format!("Authorization: Bearer {OP}");
    let (status, body) = raw(&t, "GET", "/members", &["Host: console.example", &auth], "");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn links_are_relative_and_never_echo_the_host() {
    let s = serve(None);
    let (status, body) = raw(
        &s,
        "POST",
        "/members",
        &["Host: localhost.", "Content-Type: application/json"],
        r#"{"name":"Kim"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["_links"]["self"]["href"], "/members/1");
    let page = get(&s, "/members?size=1");
    assert_eq!(page.json()["_links"]["self"]["href"], "/members");
}

#[test]
fn numbers_with_exponents_or_signs_are_refused_as_the_cli_refuses_them() {
    let s = with_member();
    let r = post(
        &s,
        "/deals",
        r#"{"memberId":1,"merchantId":20,"dealAmount":1e5,"type":"save"}"#,
    );
    assert_error(&r, 400, "/deals", "dealAmount", "digits only");
    let r = post(
        &s,
        "/deals",
        r#"{"memberId":1E0,"merchantId":20,"point":1.5e2,"type":"use"}"#,
    );
    assert_error(&r, 400, "/deals", "memberId", "whole number");
    assert_error(&r, 400, "/deals", "point", "positive number");
    // A plain double with a zero fraction stays accepted (the original's clients send it).
    let r = post(
        &s,
        "/deals",
        r#"{"memberId":1,"merchantId":20,"dealAmount":1000.0,"type":"save"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    for (path, field) in [
        ("/events?after=%2B1", "after"),
        ("/members?size=1e1", "size"),
        ("/members?page=-1", "page"),
        ("/events/wait?after=0&timeoutMs=1e3", "timeoutMs"),
        ("/members/1/detail?recent=%2B2", "recent"),
    ] {
        let r = call(
            "GET",
            &format!("{}{path}", s.url()),
            &[("Accept", "application/json")],
            None,
        );
        let p = path.split('?').next().unwrap();
        assert_error(&r, 400, p, field, "whole number");
    }
}

#[test]
fn names_with_bidi_overrides_separators_or_only_invisible_characters_are_400() {
    let s = serve(None);
    for name in [
        "evil\\u202Egnp.exe",
        "line\\u2028break",
        "\\u200B\\u200D",
        "\\u3164",
    ] {
        let r = post(&s, "/members", &format!(r#"{{"name":"{name}"}}"#));
        assert_error(&r, 400, "/members", "name", "");
    }
    assert_eq!(
        get(&s, "/members").json()["_embedded"]["members"],
        Value::Array(vec![])
    );
}

#[test]
fn every_4xx_has_the_json_shape_invalid_utf8_paths_included() {
    let s = with_member();
    for (method, path) in [
        ("GET", "/members/%FF"),
        ("GET", "/deals/%C3%28"),
        ("PUT", "/members/1"),
        ("GET", "/nowhere"),
    ] {
        let (status, body) = raw(&s, method, path, &["Host: localhost"], "");
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        let (st, _, rule) = error_field(&body);
        assert_eq!(st, u64::from(status), "{body}");
        assert!(!rule.is_empty() || status == 404, "{body}");
    }
}

#[test]
fn a_page_past_ten_thousand_rows_is_400_saying_how_to_page() {
    let s = with_member();
    let r = get(&s, "/members?size=100&page=100");
    assert_error(&r, 400, "/members", "page", "next link");
    assert_eq!(get(&s, "/members?size=100&page=99").status, 200);
}

#[test]
fn check_is_for_operators_and_the_bearer_scheme_is_case_insensitive() {
    let mut tokens = Tokens::default();
    tokens.insert(OP, Role::Operator);
    tokens.insert(VIEW, Role::Viewer);
    let s = serve(Some(tokens));
    let check = format!("{}/check", s.url());
    let viewer = call(
        "GET",
        &check,
        &[("Authorization", &format!("Bearer {VIEW}"))],
        None,
    );
    assert_eq!(viewer.status, 403, "{}", viewer.text);
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let op = call(
            "GET",
            &check,
            &[("Authorization", &format!("{scheme} {OP}"))],
            None,
        );
        assert_eq!(op.status, 200, "{scheme}: {}", op.text);
        assert_eq!(op.json()["ok"], true);
    }
}

#[test]
fn followers_behind_and_at_the_tip_see_every_event_once_in_order() {
    let s = with_member();
    let url = format!("{}/events", s.url());
    // Writes land while two followers read: one from the start (the log, then the tip's
    // shared frames), one from the tip.
    let writer = {
        let base = s.url();
        std::thread::spawn(move || {
            for i in 0..150 {
                let r = call(
                    "POST",
                    &format!("{base}/members"),
                    &[],
                    Some(&format!(r#"{{"name":"Follower {i}"}}"#)),
                );
                assert_eq!(r.status, 201, "{}", r.text);
            }
        })
    };
    let behind = sse_ids(&url, None, 303);
    let at_tip = sse_ids(&url, Some("200"), 103);
    writer.join().unwrap();
    assert_eq!(behind, (1..=303).collect::<Vec<u64>>());
    assert_eq!(at_tip, (201..=303).collect::<Vec<u64>>());
}

#[test]
fn page_blocks_carry_the_total_where_the_store_knows_it() {
    let s = with_member();
    for name in ["Kim", "Lee"] {
        let r = post(&s, "/members", &format!(r#"{{"name":"{name}"}}"#));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // Three members, two a page: the whole list's size and its pages.
    let v = get(&s, "/members?size=2").json();
    assert_eq!(v["page"]["totalElements"], 3, "{v}");
    assert_eq!(v["page"]["totalPages"], 2, "{v}");
    assert_eq!(v["page"]["numberOfElements"], 2, "{v}");
    // One deal; billings none yet.
    let v = get(&s, "/deals?size=5").json();
    assert_eq!(v["page"]["totalElements"], 1, "{v}");
    assert_eq!(v["page"]["totalPages"], 1, "{v}");
    let v = get(&s, "/billings").json();
    assert_eq!(v["page"]["totalElements"], 0, "{v}");
    // A filtered list's size is not known without counting: no total, never a wrong one.
    let v = get(&s, "/members?size=2&status=valid").json();
    assert!(v["page"].get("totalElements").is_none(), "{v}");
    let v = get(&s, "/deals?memberId=1").json();
    assert!(v["page"].get("totalElements").is_none(), "{v}");
}

/// `onepoint serve` in process over a fresh store, with the feed paced as given.
fn serve_paced(pacing: onepoint::server::Pacing) -> Served {
    use onepoint::server::{self, ServerConfig};
    let dir = tempfile::tempdir().unwrap();
    let server = server::start(
        remote_support::embedded(dir.path()),
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            feed: pacing,
            ..ServerConfig::default()
        },
    )
    .unwrap();
    Served { server, dir }
}

#[test]
fn a_long_poll_with_few_new_events_lingers_for_more_and_a_full_page_answers_at_once() {
    // A linger longer than `call`'s 20 s timeout: a poll that waited it out would fail the
    // call, so every answer below came from events or the client's own limit, not the linger.
    let s = serve_paced(onepoint::server::Pacing {
        poll_linger: Duration::from_secs(30),
        sse_tick: Duration::ZERO,
    });
    let url = s.url();
    let r = post(&s, "/members", r#"{"name":"Kim"}"#);
    assert_eq!(r.status, 201, "{}", r.text);
    // join: MemberCreated, PointCreated.
    let latest = |r: remote_support::Reply| r.json()["latest"].as_u64().unwrap();

    // The client's own limit answers at once, whatever the linger.
    assert_eq!(latest(get(&s, "/events/wait?after=0&timeoutMs=0")), 2);

    // Two new events are fewer than a page: the poll lingers, and the page written while it
    // waits answers it, whole.
    let poll = {
        let url = url.clone();
        std::thread::spawn(move || {
            call(
                "GET",
                &format!("{url}/events/wait?after=0&timeoutMs=30000"),
                &[],
                None,
            )
        })
    };
    // Setup, not an assertion: let the poll reach the server before the page is written.
    std::thread::sleep(Duration::from_millis(500));
    let joins: Vec<String> = (0..130)
        .map(|i| format!(r#"{{"op":"join","body":{{"name":"Linger {i}"}}}}"#))
        .collect();
    let r = post(&s, "/batch", &format!("[{}]", joins.join(",")));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        latest(poll.join().unwrap()),
        262,
        "the poll waited for the page"
    );

    // Already a page behind: answered at once.
    assert_eq!(latest(get(&s, "/events/wait?after=6&timeoutMs=30000")), 262);
}

/// The next `n` chunks of an SSE answer (its chunked framing read on a raw socket), each
/// as the event ids it carried; pings are skipped.
fn sse_chunks(s: &mut std::net::TcpStream, seen: &mut Vec<u8>, n: usize) -> Vec<Vec<u64>> {
    let mut buf = [0u8; 4096];
    let mut more = |seen: &mut Vec<u8>| {
        let k = s
            .read(&mut buf)
            .expect("the stream stays open (or a hang guard fired)");
        assert!(k > 0, "the stream ended");
        seen.extend_from_slice(&buf[..k]);
    };
    let mut chunks = Vec::new();
    while chunks.len() < n {
        let Some(eol) = seen.windows(2).position(|w| w == b"\r\n") else {
            more(seen);
            continue;
        };
        let size = usize::from_str_radix(std::str::from_utf8(&seen[..eol]).unwrap().trim(), 16)
            .expect("a chunk size");
        while seen.len() < eol + 2 + size + 2 {
            more(seen);
        }
        let data = String::from_utf8(seen[eol + 2..eol + 2 + size].to_vec()).unwrap();
        seen.drain(..eol + 2 + size + 2);
        let ids: Vec<u64> = data
            .lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .map(|v| v.parse().unwrap())
            .collect();
        if !ids.is_empty() {
            chunks.push(ids);
        }
    }
    chunks
}

#[test]
fn an_event_stream_sends_the_writes_of_a_tick_as_one_chunk() {
    let s = serve_paced(onepoint::server::Pacing {
        poll_linger: Duration::ZERO,
        sse_tick: Duration::from_secs(1),
    });
    let r = post(&s, "/members", r#"{"name":"Kim"}"#);
    assert_eq!(r.status, 201, "{}", r.text);
    let mut follower = std::net::TcpStream::connect(s.server.addr).unwrap();
    // A guard against a hang, not a timing assertion.
    follower
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    follower
        .write_all(b"GET /events?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let k = follower.read(&mut buf).unwrap();
        assert!(k > 0);
        seen.extend_from_slice(&buf[..k]);
    }
    let head_end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        String::from_utf8_lossy(&seen[..head_end]).contains("chunked"),
        "{}",
        String::from_utf8_lossy(&seen[..head_end])
    );
    seen.drain(..head_end);
    assert_eq!(sse_chunks(&mut follower, &mut seen, 1), [vec![1, 2]]);
    // Setup, not an assertion: let the rest after that chunk end, so the next write goes out
    // at once.
    std::thread::sleep(Duration::from_millis(1500));
    for name in ["Lee", "Park", "Choi"] {
        let r = post(&s, "/members", &format!(r#"{{"name":"{name}"}}"#));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // The first write after a quiet spell at once; the two written while the stream rested
    // (a tick of 1 s) together.
    assert_eq!(
        sse_chunks(&mut follower, &mut seen, 2),
        [vec![3, 4], vec![5, 6, 7, 8]]
    );
}

/// A batch larger than the server takes in one `POST /batch` (`MAX_BATCH`) is sent by the
/// remote adapter as several, in order: every write is applied and answered.
#[test]
fn a_remote_batch_past_the_servers_limit_is_sent_in_parts() {
    use onepoint::api::Port;
    use onepoint::api::wire::MAX_BATCH;
    use onepoint::domain::{Command, Keyed, NewMember, Outcome};
    let served = serve(None);
    let outbox = tempfile::tempdir().unwrap();
    let remote = remote_support::remote(&served.url(), None, outbox.path());
    let n = MAX_BATCH * 2 + 500;
    let batch = (0..n)
        .map(|i| {
            Keyed::new(
                Command::Join(NewMember {
                    name: format!("batch member {i}"),
                    phone: None,
                    address: None,
                }),
                None,
            )
        })
        .collect();
    let ids: Vec<u64> = remote
        .execute(batch)
        .into_iter()
        .map(|r| match r.expect("every write is applied") {
            Outcome::Member(m) => m.member_id.0,
            o => panic!("unexpected {o:?}"),
        })
        .collect();
    assert_eq!(ids, (1..=n as u64).collect::<Vec<_>>());
    assert_eq!(remote.info().unwrap().members, n as u64);
}
