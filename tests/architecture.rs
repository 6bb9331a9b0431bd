//! Who may import whom (README, "Module map"): reads every file under `src/` and fails on a
//! path that crosses a layer the wrong way. `use` trees are expanded, `super::` is resolved,
//! and inline paths (`crate::cli::args::X` in an expression) count as imports too.
//!
//! - `domain` imports only itself: no UI, async or HTTP crate;
//! - `api` (the port and its adapters) imports `domain`;
//! - `server` imports `api` and `domain`;
//! - `app` (the console runtime) imports `api`, `domain` and `views` (to draw);
//! - `views` import `domain` and, from `app`, only the state they render (`app::state`,
//!   which holds everything drawn: the palette's matches, the hints and help from the
//!   keymap, the open form); never the keymap, the forms' logic, the palette or `update`;
//! - `traffic` (the one traffic generator) imports `domain`;
//! - `demo` (demo data and its simulator) imports `app`, `api`, `traffic` and `domain`;
//! - `headless` (the console without a terminal) imports `app`, `views`, `api` and `domain`;
//! - `transfer` (import and export) imports `api` and `domain`;
//! - none of them imports `cli` or `config`: `main.rs` + `cli` are the one composition root,
//!   the only place that reads the config and the command line.
//!
//! And one rule of the domain core's shape: every public read of `Core` begins by waiting
//! for the writes answered before it (`Shared::settle`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules of the crate.
const MODULES: &[&str] = &[
    "api", "app", "cli", "config", "demo", "domain", "headless", "server", "traffic", "transfer",
    "views", "lib", "main", "bin",
];

/// The layers checked (everything but the composition root).
const LAYERS: &[&str] = &[
    "domain", "api", "server", "app", "views", "traffic", "demo", "headless", "transfer",
];

/// External crates a layer must not name (`None`: any is fine).
fn forbidden_crates(layer: &str) -> &'static [&'static str] {
    match layer {
        "domain" | "traffic" => &[
            "ratatui",
            "crossterm",
            "tui_input",
            "tokio",
            "futures",
            "axum",
            "tower",
            "tower_http",
            "hyper",
            "reqwest",
            "clap",
            "tracing_subscriber",
        ],
        "views" => &["tokio", "futures", "axum", "hyper", "reqwest", "clap"],
        "api" | "server" | "transfer" => &["ratatui", "crossterm", "tui_input", "clap"],
        "app" => &["axum", "hyper", "clap"],
        _ => &[],
    }
}

/// May a file of `layer` use the crate path `path` (first segment a top-level module)?
fn allowed(layer: &str, path: &[String]) -> bool {
    let top = path[0].as_str();
    if top == layer {
        return true;
    }
    match layer {
        "domain" => false,
        "api" | "traffic" => top == "domain",
        "demo" => matches!(top, "domain" | "api" | "app" | "traffic"),
        "headless" => matches!(top, "domain" | "api" | "app" | "views"),
        "server" | "transfer" => matches!(top, "domain" | "api"),
        "app" => matches!(top, "domain" | "api" | "views"),
        "views" => top == "domain" || (top == "app" && path.get(1).is_some_and(|m| m == "state")),
        _ => true,
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    path: String,
}

/// The violations in one file's text; `module` is the module it defines (`views::chrome`).
fn check_source(module: &[String], text: &str) -> Vec<Violation> {
    let layer = module[0].as_str();
    let code = strip(text);
    let mut out = BTreeSet::new();
    for raw in paths(&code) {
        let Some(abs) = resolve(module, &raw) else {
            continue;
        };
        let bad = match abs {
            Resolved::Crate(p) => {
                !p.is_empty() && MODULES.contains(&p[0].as_str()) && !allowed(layer, &p)
            }
            Resolved::Extern(name) => forbidden_crates(layer).contains(&name.as_str()),
        };
        if bad {
            out.insert(raw.join("::"));
        }
    }
    out.into_iter()
        .map(|path| Violation {
            file: module.join("::"),
            path,
        })
        .collect()
}

enum Resolved {
    Crate(Vec<String>),
    Extern(String),
}

fn resolve(module: &[String], p: &[String]) -> Option<Resolved> {
    let first = p.first()?.as_str();
    match first {
        "crate" | "onepoint" => Some(Resolved::Crate(p[1..].to_vec())),
        "self" | "super" => {
            // `module` is the module the file defines (a mod.rs file: its directory's), so
            // `super` is its parent either way.
            let mut here: Vec<String> = module.to_vec();
            let mut rest = p;
            while let Some(seg) = rest.first() {
                match seg.as_str() {
                    "self" => {}
                    "super" => {
                        here.pop()?;
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
            let mut abs = here;
            abs.extend(rest.iter().cloned());
            Some(Resolved::Crate(abs))
        }
        name if forbidden_crates("domain").contains(&name) => Some(Resolved::Extern(name.into())),
        _ => None,
    }
}

/// Code without comments, strings and char literals (their text could look like paths).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}'), or a lifetime ('a): skip only literals.
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path in the code: each `use` tree expanded, and every inline `a::b::c` chain.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let at_word = i == 0 || !is_ident(chars[i - 1]);
        if at_word
            && code_at(&chars, i, "use")
            && chars.get(i + 3).is_some_and(|c| c.is_whitespace())
        {
            let start = i + 3;
            let mut j = start;
            while j < chars.len() && chars[j] != ';' {
                j += 1;
            }
            // `a as b` becomes `a@b`, then the tree loses its whitespace.
            let spaced: String = chars[start..j].iter().collect();
            let words: Vec<&str> = spaced.split_whitespace().collect();
            let tree = words.join(" ").replace(" as ", "@").replace(' ', "");
            expand(&[], &tree, &mut out);
            i = j + 1;
            continue;
        }
        if at_word && is_ident(chars[i]) {
            // An identifier chain joined by `::`.
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                if s == j {
                    break;
                }
                segs.push(chars[s..j].iter().collect::<String>());
                let mut k = j;
                while k < chars.len() && chars[k].is_whitespace() {
                    k += 1;
                }
                if code_at(&chars, k, "::") {
                    j = k + 2;
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                } else {
                    break;
                }
            }
            if segs.len() > 1 {
                out.push(segs);
            }
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    out
}

fn code_at(chars: &[char], i: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(k, w)| chars.get(i + k) == Some(&w))
}

/// Expands a `use` tree without whitespace (`crate::{a::b,c::{d,e as f}}`).
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let mut base = prefix.to_vec();
        base.extend(
            tree[..open]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut part = String::new();
        for c in inner.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                expand(&base, &part, out);
                part.clear();
            } else {
                part.push(c);
            }
        }
        if !part.is_empty() {
            expand(&base, &part, out);
        }
    } else {
        let tree = tree.split('@').next().unwrap_or(tree);
        let mut p = prefix.to_vec();
        p.extend(
            tree.split("::")
                .filter(|s| !s.is_empty() && *s != "*")
                .map(str::to_string),
        );
        // `self` at the end of a tree names the prefix itself.
        if p.last().is_some_and(|s| s == "self") && p.len() > 1 {
            p.pop();
        }
        if !p.is_empty() {
            out.push(p);
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under `src/` (`src/views/widgets/help.rs` -> views::widgets::help).
fn module_of(rel: &Path) -> Vec<String> {
    let mut segs: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    segs
}

#[test]
fn no_layer_imports_against_the_rule() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = module_of(rel);
        if !LAYERS.contains(&module[0].as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        violations.extend(check_source(&module, &text));
    }
    assert!(
        violations.is_empty(),
        "imports against the rule (see README, Module map):\n{}",
        violations
            .iter()
            .map(|v| format!("  {} uses {}", v.file, v.path))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn module(p: &str) -> Vec<String> {
    p.split("::").map(str::to_string).collect()
}

fn found(module_path: &str, text: &str) -> Vec<String> {
    check_source(&module(module_path), text)
        .into_iter()
        .map(|v| v.path)
        .collect()
}

#[test]
fn the_checker_finds_each_kind_of_forbidden_path() {
    // Plain, grouped, nested and inline paths.
    assert_eq!(
        found("api", "use crate::cli::args::GlobalOpts;"),
        ["crate::cli::args::GlobalOpts"]
    );
    assert_eq!(
        found(
            "app::demo",
            "use crate::{domain::Clock, cli::args::{DemoArgs, GlobalOpts}};"
        ),
        ["crate::cli::args::DemoArgs", "crate::cli::args::GlobalOpts"]
    );
    assert_eq!(
        found("server", "fn f() { let c = crate::config::load(); }"),
        ["crate::config::load"]
    );
    // `super` climbing out of the layer.
    assert_eq!(
        found("views::chrome", "use super::super::cli;"),
        ["super::super::cli"]
    );
    // Views may read the state, not the update logic.
    assert_eq!(
        found(
            "views::widgets::help",
            "use crate::app::state::State;\nuse crate::app::update::scopes;"
        ),
        ["crate::app::update::scopes"]
    );
    // Nor any other part of `app`: what they draw is in the state, ready to render.
    assert_eq!(
        found(
            "views::widgets::dialogs",
            "use crate::app::state::{Form, PaletteEntry};\nuse crate::app::keymap::Keymap;\nfn f() { crate::app::palette::matches(\"\", false); }\nuse crate::app::forms::Form;"
        ),
        [
            "crate::app::forms::Form",
            "crate::app::keymap::Keymap",
            "crate::app::palette::matches"
        ]
    );
    assert_eq!(
        found("views::chrome", "use super::super::app::keymap::Scope;"),
        ["super::super::app::keymap::Scope"]
    );
    // The domain names no UI, async or HTTP crate.
    assert_eq!(
        found(
            "domain::core",
            "use tokio::sync::mpsc;\nfn f() { ratatui::init(); }"
        ),
        ["ratatui::init", "tokio::sync::mpsc"]
    );
    // Comments and strings do not count; allowed paths pass.
    assert!(
        found(
            "views::deals",
            "// crate::cli::x\nconst S: &str = \"crate::cli::y\";\nuse crate::app::state::State;\nuse crate::domain::Deal;"
        )
        .is_empty()
    );
    assert!(found("app", "use crate::views::draw;\nuse crate::api::Port;").is_empty());
}

/// `Core`'s public functions that are not reads of the store's data: opening, writing
/// (a write waits for its own durability), the store's upkeep and sizes, the feed's
/// offsets, and the bench's probes. Every other `pub fn` of `impl Core` is a read.
const NOT_READS: &[&str] = &[
    "open",
    "open_with_store",
    "dir",
    "options",
    "execute",
    "submit",
    "store_bytes",
    "snapshot",
    "log_space",
    "cache_capacity",
    "sled_resident",
    "memory_index_size",
    "segment_states",
    "reclaimed_pages",
    "pipeline_stages",
    "last_offset",
    "wait_events",
    "meta",
    "warm_names",
    "counter_cost",
];

/// `(name, first statement)` of every plain `pub fn` in the `impl Core` blocks of `text`.
fn core_pub_fns(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("\nimpl Core {") {
        let body_start = at + "\nimpl Core {".len();
        let bytes = text.as_bytes();
        let (mut depth, mut i) = (1, body_start);
        while depth > 0 && i < bytes.len() {
            match bytes[i] {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let block = &text[body_start..i];
        for (f, _) in block.match_indices("\n    pub fn ") {
            let rest = &block[f + "\n    pub fn ".len()..];
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            let first = rest
                .find("{\n")
                .map(|b| rest[b + 2..].trim_start())
                .and_then(|s| s.lines().next())
                .unwrap_or("")
                .trim()
                .to_string();
            out.push((name, first));
        }
    }
    out
}

/// Every public read of the domain core first waits for the writes answered before it
/// (`Shared::settle`, README "How durability works" step 4): a read that forgot would
/// answer without a write its caller was told is done.
#[test]
fn every_public_read_of_the_core_waits_for_what_was_answered_first() {
    let mut files = Vec::new();
    rust_files(Path::new("src/domain"), &mut files);
    let mut reads = 0;
    let mut missing = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        for (name, first) in core_pub_fns(&text) {
            if NOT_READS.contains(&name.as_str()) {
                continue;
            }
            reads += 1;
            if first != "self.shared.settle()?;" {
                missing.push(format!("{}: {name} begins with `{first}`", f.display()));
            }
        }
    }
    assert!(reads >= 20, "only {reads} reads found: the scan is broken");
    assert!(
        missing.is_empty(),
        "public reads that do not settle first (or add a non-read to NOT_READS):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_settle_check_sees_a_read_that_skips_it() {
    let text = "\nimpl Core {\n    pub fn good(&self) -> Result<u64> {\n        self.shared.settle()?;\n        Ok(1)\n    }\n\n    pub fn bad(&self) -> Result<u64> {\n        Ok(self.store().len())\n    }\n}\n";
    assert_eq!(
        core_pub_fns(text),
        vec![
            ("good".to_string(), "self.shared.settle()?;".to_string()),
            ("bad".to_string(), "Ok(self.store().len())".to_string()),
        ]
    );
}
