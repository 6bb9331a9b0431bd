//! The members' segmentation records saved beside the store (`members.rfm`), so the first
//! segmentation after opening reads one file instead of every member's record in the
//! store: a cache, checked before use and rewritten when stale, never a source of truth.
//!
//! Layout (little-endian): magic `OPRFM\0\0\x02`, the event offset it is as of, a
//! fingerprint of that event (so a file from another store or history is refused), the row
//! count, the rows (49 bytes each), and a checksum of all that (`fnv_words`; version 1
//! summed bytes, and is simply rebuilt). The same checked
//! layout, under its own magic and with its own rows, keeps the members' names
//! (`domain::names`): `write_checked`, `read_checked` and `fingerprint` serve both.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::segments::Rfm;
use crate::domain::error::Result;
use crate::domain::event::Event;
use crate::domain::ids::MemberId;
use crate::domain::ledger::deal_of;
use crate::domain::money::Points;
use crate::domain::schema::{EVENT, key1};
use crate::domain::store::Store;

const MAGIC: &[u8; 8] = b"OPRFM\0\0\x02";
const ROW: usize = 49;
const HEAD: usize = 32;

pub fn path(dir: &Path) -> PathBuf {
    dir.join("members.rfm")
}

/// FNV-1a over little-endian 8-byte words, then the remaining bytes: the checked files'
/// sum, several times faster than `fnv` over bytes (they are read while someone waits).
/// Any change within one word is always seen (each step is a bijection of the state).
pub fn fnv_words(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for w in words {
        h ^= u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    for b in tail {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// FNV-1a, 64 bits.
pub fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Writes the rows as of event `offset` (fingerprint `print`), atomically (a temporary file
/// renamed over the old one). Failing to write only costs a slower first scan next time.
pub fn save(dir: &Path, offset: u64, print: u64, rows: &[Rfm]) -> std::io::Result<()> {
    let head = Head {
        offset,
        print,
        count: rows.len() as u64,
    };
    write_checked(&path(dir), MAGIC, head, rows.len() * ROW, |out| {
        for r in rows {
            out.extend_from_slice(&r.id.0.to_le_bytes());
            out.extend_from_slice(&r.joined_at.to_le_bytes());
            out.extend_from_slice(&r.last_deal.unwrap_or(i64::MIN).to_le_bytes());
            out.extend_from_slice(&r.frequency.to_le_bytes());
            out.extend_from_slice(&r.spend.to_le_bytes());
            out.extend_from_slice(&r.balance.0.to_le_bytes());
            out.push(u8::from(r.withdrawn));
        }
    })
}

/// The rows, their offset and fingerprint; `None` when there is no file or it is not a
/// whole, well-formed one.
pub fn load(dir: &Path) -> Option<(u64, u64, Vec<Rfm>)> {
    let (head, b) = read_checked(&path(dir), MAGIC)?;
    let body = &b[HEAD..b.len() - 8];
    let u = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().expect("8 bytes"));
    let i = |at: usize| u(at) as i64;
    let count = usize::try_from(head.count).ok()?;
    if body.len() != count.checked_mul(ROW)? {
        return None;
    }
    let rows = (0..count)
        .map(|n| {
            let at = n * ROW;
            let last = i(at + 16);
            Rfm {
                id: MemberId(u(at)),
                joined_at: i(at + 8),
                last_deal: (last != i64::MIN).then_some(last),
                frequency: u(at + 24),
                spend: u(at + 32),
                balance: Points(i(at + 40)),
                withdrawn: body[at + 48] != 0,
            }
        })
        .collect();
    Some((head.offset, head.print, rows))
}

/// What a checked file beside the store is as of: the event offset, that event's
/// fingerprint (see `fingerprint`), and how many rows it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub offset: u64,
    pub print: u64,
    pub count: u64,
}

/// Writes a checked file (the layout in the module's note, under `magic`, with the body
/// `body` appends, about `size` bytes) to a temporary file beside `to`,
/// synced, then renamed over `to`: a reader finds the old file or the new one, whole,
/// never a part.
pub fn write_checked(
    to: &Path,
    magic: &[u8; 8],
    head: Head,
    size: usize,
    body: impl FnOnce(&mut Vec<u8>),
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(HEAD + size + 8);
    out.extend_from_slice(magic);
    out.extend_from_slice(&head.offset.to_le_bytes());
    out.extend_from_slice(&head.print.to_le_bytes());
    out.extend_from_slice(&head.count.to_le_bytes());
    body(&mut out);
    let sum = fnv_words(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&out)?;
    f.sync_all()?;
    std::fs::rename(&tmp, to)
}

/// A checked file's head and its whole bytes (the body is `HEAD..len - 8`); `None` when
/// there is none, or it is not whole (short, another magic, a checksum that does not match).
pub fn read_checked(from: &Path, magic: &[u8; 8]) -> Option<(Head, Vec<u8>)> {
    let b = std::fs::read(from).ok()?;
    if b.len() < HEAD + 8 || &b[..8] != magic {
        return None;
    }
    let (all, summed) = b.split_at(b.len() - 8);
    if fnv_words(all).to_le_bytes() != summed {
        return None;
    }
    let u = |at: usize| u64::from_le_bytes(all[at..at + 8].try_into().expect("8 bytes"));
    let head = Head {
        offset: u(8),
        print: u(16),
        count: u(24),
    };
    Some((head, b))
}

/// A fingerprint of event `offset` (0 for none): a saved copy names the event it is as of,
/// so one from another store or another history is not taken. `None` when the store has
/// no such event.
pub fn fingerprint(store: &Store, offset: u64) -> Result<Option<u64>> {
    if offset == 0 {
        return Ok(Some(0));
    }
    let Some(v) = store.get_val(&key1(EVENT, offset))? else {
        return Ok(None);
    };
    let e = Event::decode_stored(offset, &v, |d| deal_of(store, d))?;
    Ok(Some(fnv(&serde_json::to_vec(&e).unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_sum_sees_every_byte_changed_and_every_length() {
        let bytes: Vec<u8> = (0..37u8).map(|b| b.wrapping_mul(7)).collect();
        let whole = fnv_words(&bytes);
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x10;
            assert_ne!(fnv_words(&b), whole, "byte {at}");
        }
        for len in 0..bytes.len() {
            assert_ne!(fnv_words(&bytes[..len]), whole, "cut to {len}");
        }
    }

    #[test]
    fn rows_round_trip_and_a_damaged_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            Rfm {
                id: MemberId(7),
                joined_at: 1_000,
                last_deal: None,
                frequency: 0,
                spend: 0,
                balance: Points(-5),
                withdrawn: true,
            },
            Rfm {
                id: MemberId(9),
                joined_at: -3,
                last_deal: Some(2_000),
                frequency: 4,
                spend: u64::MAX,
                balance: Points(123_456),
                withdrawn: false,
            },
        ];
        save(dir.path(), 42, 99, &rows).unwrap();
        assert_eq!(load(dir.path()), Some((42, 99, rows.clone())));
        let p = path(dir.path());
        let mut b = std::fs::read(&p).unwrap();
        b[HEAD + 3] ^= 1;
        std::fs::write(&p, &b).unwrap();
        assert_eq!(load(dir.path()), None);
        b.truncate(b.len() - 9);
        std::fs::write(&p, &b).unwrap();
        assert_eq!(load(dir.path()), None);
    }
}
