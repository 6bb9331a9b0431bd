//! `~/.config/onepoint/config.toml`: rates, the business time zone, and the console's theme
//! and keys. Defaults ship in `assets/config.toml`; a bad value is an error naming the key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::domain::calendar::parse_offset;
use crate::domain::{BasisPoints, Error, FieldError, Result};

pub const DEFAULT_CONFIG: &str = include_str!("../assets/config.toml");

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub core: CoreSection,
    #[serde(default)]
    pub console: ConsoleSection,
    #[serde(default)]
    pub server: ServerSection,
    /// Action name -> key, e.g. `quit = "q"`.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreSection {
    /// Default earn rate, percent.
    pub earn_rate: Option<String>,
    /// Settlement commission, percent.
    pub commission: Option<String>,
    /// Business time zone as a UTC offset, e.g. "+09:00".
    pub timezone: Option<String>,
    /// The store's cache, megabytes (bounds an open store's memory).
    pub cache_mb: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    /// dark, light or mono.
    pub theme: Option<String>,
    pub mouse: Option<bool>,
}

/// `onepoint serve`'s event feed pacing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// A long poll with fewer than a page of new events waits this long for more, ms.
    /// (Signed, so that a negative value is refused naming its key.)
    pub poll_linger_ms: Option<i64>,
    /// The event feed publishes new events at most once per tick, ms.
    pub sse_tick_ms: Option<i64>,
}

/// `[server]` as checked values; `None` where the file leaves the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerKeys {
    pub poll_linger: Option<std::time::Duration>,
    pub sse_tick: Option<std::time::Duration>,
}

/// The largest `server.poll_linger_ms` (the longest long poll) and `server.sse_tick_ms`.
pub const POLL_LINGER_MAX_MS: i64 = 30_000;
pub const SSE_TICK_MAX_MS: i64 = 1_000;

pub use crate::domain::CoreSettings;

pub fn config_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ONEPOINT_CONFIG") {
        return Some(PathBuf::from(p));
    }
    dirs::config_dir().map(|d| d.join("onepoint").join("config.toml"))
}

/// Reads the shipped defaults, then the user's file over them.
pub fn load() -> Result<ConfigFile> {
    let mut cfg = parse(DEFAULT_CONFIG, "assets/config.toml")?;
    if let Some(p) = config_path()
        && p.exists()
    {
        let text = std::fs::read_to_string(&p)
            .map_err(|e| Error::store(format!("cannot read {}: {e}", p.display())))?;
        let user = parse(&text, &p.display().to_string())?;
        cfg.merge(user);
    }
    Ok(cfg)
}

pub fn parse(text: &str, origin: &str) -> Result<ConfigFile> {
    toml::from_str(text).map_err(|e| Error::Invalid {
        errors: FieldError::new(&format!("config {origin}"), &e.message().replace('\n', " "))
            .into(),
    })
}

impl ConfigFile {
    fn merge(&mut self, o: ConfigFile) {
        if o.core.earn_rate.is_some() {
            self.core.earn_rate = o.core.earn_rate;
        }
        if o.core.commission.is_some() {
            self.core.commission = o.core.commission;
        }
        if o.core.timezone.is_some() {
            self.core.timezone = o.core.timezone;
        }
        if o.core.cache_mb.is_some() {
            self.core.cache_mb = o.core.cache_mb;
        }
        if o.console.theme.is_some() {
            self.console.theme = o.console.theme;
        }
        if o.console.mouse.is_some() {
            self.console.mouse = o.console.mouse;
        }
        if o.server.poll_linger_ms.is_some() {
            self.server.poll_linger_ms = o.server.poll_linger_ms;
        }
        if o.server.sse_tick_ms.is_some() {
            self.server.sse_tick_ms = o.server.sse_tick_ms;
        }
        self.keys.extend(o.keys);
    }

    pub fn core_settings(&self) -> Result<CoreSettings> {
        let mut s = CoreSettings::default();
        if let Some(r) = &self.core.earn_rate {
            s.rates.earn = BasisPoints::parse_percent("core.earn_rate", r)?;
        }
        if let Some(r) = &self.core.commission {
            s.rates.commission = BasisPoints::parse_percent("core.commission", r)?;
        }
        if let Some(z) = &self.core.timezone {
            s.zone = parse_offset("core.timezone", z)?;
        }
        if let Some(mb) = self.core.cache_mb {
            s.cache_bytes = cache_bytes("core.cache_mb", mb)?;
        }
        Ok(s)
    }

    /// `[server]`, each value within its range (an error names the key).
    pub fn server_keys(&self) -> Result<ServerKeys> {
        let ms = |key: &str, v: Option<i64>, max: i64| -> Result<Option<std::time::Duration>> {
            match v {
                None => Ok(None),
                Some(v) => u64::try_from(v)
                    .ok()
                    .filter(|_| v <= max)
                    .map(|v| Some(std::time::Duration::from_millis(v)))
                    .ok_or_else(|| Error::Invalid {
                        errors: FieldError::new(
                            key,
                            &format!("must be from 0 to {max} milliseconds"),
                        )
                        .into(),
                    }),
            }
        };
        Ok(ServerKeys {
            poll_linger: ms(
                "server.poll_linger_ms",
                self.server.poll_linger_ms,
                POLL_LINGER_MAX_MS,
            )?,
            sse_tick: ms(
                "server.sse_tick_ms",
                self.server.sse_tick_ms,
                SSE_TICK_MAX_MS,
            )?,
        })
    }
}

/// The console's store cache. On 1M members / 10.0M deals (`onepoint-bench render
/// --cache-mb`, `open --cache-mb`, 2026-12-03) 32 MB against 64: RSS after every tab 94
/// against 130 MB, the first page by balance 846-861 ms either way, frames and page down
/// alike (p50 0.5-0.9 ms, the spread of runs of either); under `onepoint demo --rate 2000`
/// 187-231 against 188-223 MB, at the same rate.
pub const CONSOLE_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// The smallest and largest store cache accepted, megabytes.
pub const CACHE_MB: (u64, u64) = (8, 1 << 20);

/// A cache size in megabytes (`core.cache_mb`, `--cache-mb`) as bytes, within `CACHE_MB`.
pub fn cache_bytes(field: &str, mb: u64) -> Result<u64> {
    if !(CACHE_MB.0..=CACHE_MB.1).contains(&mb) {
        return Err(Error::Invalid {
            errors: FieldError::new(
                field,
                &format!("must be from {} to {} megabytes", CACHE_MB.0, CACHE_MB.1),
            )
            .into(),
        });
    }
    Ok(mb * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_parse() {
        let c = parse(DEFAULT_CONFIG, "assets").unwrap();
        let s = c.core_settings().unwrap();
        assert_eq!(s.rates.earn, BasisPoints(100));
        assert_eq!(s.rates.commission, BasisPoints(200));
    }

    #[test]
    fn bad_values_name_the_key() {
        let c = parse("[core]\ncommission = \"abc\"\n", "x").unwrap();
        let e = c.core_settings().unwrap_err();
        assert!(e.to_string().contains("core.commission"), "{e}");
        let e = parse("[core]\ncache_mb = 2\n", "x")
            .unwrap()
            .core_settings()
            .unwrap_err();
        assert!(e.to_string().contains("core.cache_mb"), "{e}");
        let c = parse("[core]\ncache_mb = 32\n", "x").unwrap();
        assert_eq!(c.core_settings().unwrap().cache_bytes, 32 << 20);
        let e = parse("[core]\nbogus = 1\n", "x").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn server_keys_are_checked_and_merged() {
        let c = parse(DEFAULT_CONFIG, "assets").unwrap();
        assert_eq!(c.server_keys().unwrap(), ServerKeys::default());
        let e = parse("[server]\npoll_linger_ms = 30001\n", "x")
            .unwrap()
            .server_keys()
            .unwrap_err();
        assert!(e.to_string().contains("server.poll_linger_ms"), "{e}");
        assert!(e.to_string().contains("0 to 30000"), "{e}");
        let e = parse("[server]\nsse_tick_ms = 1001\n", "x")
            .unwrap()
            .server_keys()
            .unwrap_err();
        assert!(e.to_string().contains("server.sse_tick_ms"), "{e}");
        let e = parse("[server]\npoll_linger_ms = -1\n", "x")
            .unwrap()
            .server_keys()
            .unwrap_err();
        assert!(e.to_string().contains("server.poll_linger_ms"), "{e}");
        let e = parse("[server]\npoll_lingr_ms = 1\n", "x").unwrap_err();
        assert!(e.to_string().contains("poll_lingr_ms"), "{e}");
        let mut c = parse(DEFAULT_CONFIG, "assets").unwrap();
        c.merge(parse("[server]\npoll_linger_ms = 0\nsse_tick_ms = 1000\n", "x").unwrap());
        let k = c.server_keys().unwrap();
        assert_eq!(k.poll_linger, Some(std::time::Duration::ZERO));
        assert_eq!(k.sse_tick, Some(std::time::Duration::from_secs(1)));
    }
}
