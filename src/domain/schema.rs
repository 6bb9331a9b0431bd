//! The layout of the store: one tree, tables told apart by a one-byte prefix, integers
//! big-endian so keys sort numerically. Records are postcard-encoded; events too, after a
//! format byte (`Event::encode_stored`), a deal event holding only its deal's id.
//!
//! | prefix | key                                   | value                       |
//! |--------|---------------------------------------|-----------------------------|
//! | `C`    | `meta`                                | Meta (counters, totals)     |
//! | `C`    | `schema`                              | layout version (u64)        |
//! | `C`    | `zone`                                | business zone (i32 seconds) |
//! | `M`    | member                                | Member                      |
//! | `A`    | member                                | MemberRecord (2)            |
//! | `B`    | balance, member                       | () balances: in memory (1)  |
//! | `N`    | lowercased name, 0, member            | () name index               |
//! | `R`    | merchant                              | Merchant (registered)       |
//! | `S`    | merchant                              | MerchantStats               |
//! | `D`    | deal                                  | Deal (write model)          |
//! | `V`    | member, deal                          | () deals by member          |
//! | `X`    | merchant, month, deal                 | () deals by merchant, month |
//! | `U`    | merchant, date, deal                  | points: unbilled uses       |
//! | `K`    | merchant, date, deal                  | points: pending clawbacks   |
//! | `Q`    | merchant, month                       | Pending: what U and K hold  |
//! | `G`    | billing                               | Billing                     |
//! | `H`    | merchant, month, billing              | ()                          |
//! | `E`    | offset                                | stored Event (binary)       |
//! | `I`    | idempotency key                       | IdemRecord                  |
//! | `Y`    | see `reports/counters.rs`             | report counters             |
//! | `L`    | last activity (0: none), member       | () activity: in memory (1)  |
//! | `P`    | points, deal                          | () deals by points          |
//! | `O`    | deal date, deal: back-dated deals only| () see `sort_index`         |
//! | `J`    | in-order deal before a run            | last back-dated id of it    |
//! | `C`    | `datemark`                            | latest deal date, its deal  |
//! | `C`    | `sortidx`                             | version of `L`, `P`, `O`    |
//! | `C`    | `wal`                                 | last log record applied     |
//! | `C`    | `delta`                               | log record `P`, `V`, `X` are|
//! |        |                                       | in sled up to (3)           |
//! | `T`    | retired (sort index version 2 only)   | removed on open: not reused |
//!
//! (1) Written by the write path and logged as every table is, but kept in memory, not in
//! sled: built from the accounts when the store opens (`store_memory.rs`).
//! (2) The account and the member's report fields (`reports::counters`) in one record.
//! (3) The write path's latest writes to `P`, `V`, `X` are held in memory and moved to
//! sled many at a time, in key order (`store_delta.rs`).

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::calendar::Millis;
use super::error::{Error, Result};
use super::money::Points;

pub const META: &[u8] = b"Cmeta";
pub const MEMBER: u8 = b'M';
pub const ACCOUNT: u8 = b'A';
pub const BALANCE: u8 = b'B';
pub const NAME: u8 = b'N';
pub const MERCHANT: u8 = b'R';
pub const MERCHANT_STATS: u8 = b'S';
pub const DEAL: u8 = b'D';
pub const VIEW: u8 = b'V';
pub const VIEW_MERCHANT: u8 = b'X';
pub const UNBILLED: u8 = b'U';
pub const CLAWBACK: u8 = b'K';
pub const PENDING: u8 = b'Q';
pub const SCHEMA: &[u8] = b"Cschema";
/// The business time zone, seconds east of UTC (i32, big-endian), fixed at creation.
pub const ZONE: &[u8] = b"Czone";
/// Version 2 added the `Q` settlement totals; version 3 stores events in binary (a deal
/// event points at its deal) and `V`, `X` as keys only; version 4 keeps the members' report
/// fields in their `A` records, not in `Y p` (see `migrate::migrate`); version 5 may hold
/// the deals' `P`, `V` and `X` in sled behind the log (`Cdelta`, `store_delta.rs`): an
/// open applies the log again from there, which a build before it does not (it would lose
/// those keys of the writes a crash left in the log). A build refuses a store of a newer
/// version than its own (`store_open::check_layout`).
pub const SCHEMA_VERSION: u64 = 5;
pub const BILLING: u8 = b'G';
pub const BILLING_MONTH: u8 = b'H';
pub const EVENT: u8 = b'E';
pub const IDEM: u8 = b'I';
/// The report counters (`reports::counters`), kept by the write path.
pub const REPORTS: u8 = b'Y';
/// Members by last activity (`sort_index`), kept by the write path.
pub const ACTIVITY: u8 = b'L';
/// Deals by points (`sort_index`), kept by the write path.
pub const DEAL_POINTS: u8 = b'P';
/// Deals written with a date below every earlier deal's (`sort_index`): the only deals the
/// id order does not put in date order.
pub const BACKDATED: u8 = b'O';
/// Runs of back-dated deals by id: the in-order deal before the run, to the run's last id
/// (so the id order steps over them; `sort_index`).
pub const RUNS: u8 = b'J';
/// The latest deal date recorded (the high-water mark that tells a back-dated deal), and
/// the deal that set it.
pub const DATE_MARK: &[u8] = b"Cdatemark";

/// Builds a key from a table tag and big-endian parts.
pub struct KeyBuf(Vec<u8>);

impl KeyBuf {
    pub fn new(tag: u8) -> KeyBuf {
        let mut v = Vec::with_capacity(25);
        v.push(tag);
        KeyBuf(v)
    }
    pub fn u64(mut self, x: u64) -> KeyBuf {
        self.0.extend_from_slice(&x.to_be_bytes());
        self
    }
    pub fn u32(mut self, x: u32) -> KeyBuf {
        self.0.extend_from_slice(&x.to_be_bytes());
        self
    }
    /// A signed instant, order-preserving.
    pub fn time(self, ms: Millis) -> KeyBuf {
        self.u64((ms as u64) ^ (1 << 63))
    }
    pub fn bytes(mut self, b: &[u8]) -> KeyBuf {
        self.0.extend_from_slice(b);
        self
    }
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

pub fn key1(tag: u8, a: u64) -> Vec<u8> {
    KeyBuf::new(tag).u64(a).done()
}

pub fn key2(tag: u8, a: u64, b: u64) -> Vec<u8> {
    KeyBuf::new(tag).u64(a).u64(b).done()
}

/// Reads the big-endian u64 at `at` in a key.
pub fn read_u64(key: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&key[at..at + 8]);
    u64::from_be_bytes(b)
}

pub fn read_time(key: &[u8], at: usize) -> Millis {
    (read_u64(key, at) ^ (1 << 63)) as Millis
}

/// Balance index key: balances are never negative, so the plain big-endian order holds.
pub fn balance_key(balance: Points, member: u64) -> Vec<u8> {
    key2(BALANCE, balance.0.max(0) as u64, member)
}

pub fn name_key(name: &str, member: u64) -> Vec<u8> {
    KeyBuf::new(NAME)
        .bytes(name.to_lowercase().as_bytes())
        .bytes(&[0])
        .u64(member)
        .done()
}

pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    postcard::to_stdvec(v).expect("records always encode")
}

pub fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T> {
    postcard::from_bytes(b).map_err(|e| Error::store(format!("corrupt record: {e}")))
}

pub fn encode_zone(z: chrono::FixedOffset) -> Vec<u8> {
    z.local_minus_utc().to_be_bytes().to_vec()
}

pub fn decode_zone(b: &[u8]) -> Result<chrono::FixedOffset> {
    let secs = <[u8; 4]>::try_from(b)
        .ok()
        .map(i32::from_be_bytes)
        .and_then(chrono::FixedOffset::east_opt);
    secs.ok_or_else(|| Error::store("corrupt record: the store's business time zone"))
}

pub fn encode_points(p: Points) -> Vec<u8> {
    p.0.to_be_bytes().to_vec()
}

pub fn decode_points(b: &[u8]) -> Points {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    Points(i64::from_be_bytes(a))
}

/// Counters and running totals, updated in the same batch as the records they count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub last_member: u64,
    pub last_deal: u64,
    pub last_billing: u64,
    pub last_offset: u64,
    pub valid_members: u64,
    pub merchants: u64,
    pub outstanding: Points,
    /// Valid members per balance bucket (see `bucket_of`).
    pub buckets: [u64; 6],
}

pub const BUCKET_LABELS: [&str; 6] = ["0", "0-100", "100-1k", "1k-10k", "10k-100k", ">100k"];

pub fn bucket_of(p: Points) -> usize {
    let h = p.0;
    let whole = |points: i64| points * 100;
    if h <= 0 {
        0
    } else if h <= whole(100) {
        1
    } else if h <= whole(1_000) {
        2
    } else if h <= whole(10_000) {
        3
    } else if h <= whole(100_000) {
        4
    } else {
        5
    }
}

/// Merchant activity, for listing merchants without scanning deals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantStats {
    pub deals: u64,
    pub last_deal: Option<Millis>,
}

/// What an idempotency key was used for, and what it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemRecord {
    /// The request, canonical JSON.
    pub request: String,
    /// The Outcome, JSON.
    pub outcome: String,
}

/// What the settlement queues (`U`, `K`) hold for one merchant and month, kept with every
/// write so a preview reads a handful of keys instead of every deal in the queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub uses: Points,
    pub use_count: u64,
    pub clawbacks: Points,
    pub clawback_count: u64,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.use_count == 0 && self.clawback_count == 0
    }
}

pub fn pending_key(merchant: u64, month_code: u32) -> Vec<u8> {
    KeyBuf::new(PENDING).u64(merchant).u32(month_code).done()
}
