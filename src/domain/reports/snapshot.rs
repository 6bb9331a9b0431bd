//! The members' segmentation records saved beside the store (`members.rfm`), so the first
//! segmentation after opening reads one file instead of every member's record in the
//! store: a cache, checked before use and rewritten when stale, never a source of truth.
//!
//! Layout (little-endian): magic `OPRFM\0\0\x01`, the event offset it is as of, a
//! fingerprint of that event (so a file from another store or history is refused), the row
//! count, the rows (49 bytes each), and an FNV-1a checksum of all that.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::segments::Rfm;
use crate::domain::ids::MemberId;
use crate::domain::money::Points;

const MAGIC: &[u8; 8] = b"OPRFM\0\0\x01";
const ROW: usize = 49;
const HEAD: usize = 32;

pub fn path(dir: &Path) -> PathBuf {
    dir.join("members.rfm")
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
    let mut out = Vec::with_capacity(HEAD + rows.len() * ROW + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&print.to_le_bytes());
    out.extend_from_slice(&(rows.len() as u64).to_le_bytes());
    for r in rows {
        out.extend_from_slice(&r.id.0.to_le_bytes());
        out.extend_from_slice(&r.joined_at.to_le_bytes());
        out.extend_from_slice(&r.last_deal.unwrap_or(i64::MIN).to_le_bytes());
        out.extend_from_slice(&r.frequency.to_le_bytes());
        out.extend_from_slice(&r.spend.to_le_bytes());
        out.extend_from_slice(&r.balance.0.to_le_bytes());
        out.push(u8::from(r.withdrawn));
    }
    let sum = fnv(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    let tmp = dir.join("members.rfm.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&out)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path(dir))
}

/// The rows, their offset and fingerprint; `None` when there is no file or it is not a
/// whole, well-formed one.
pub fn load(dir: &Path) -> Option<(u64, u64, Vec<Rfm>)> {
    let b = std::fs::read(path(dir)).ok()?;
    if b.len() < HEAD + 8 || &b[..8] != MAGIC {
        return None;
    }
    let (body, sum) = b.split_at(b.len() - 8);
    if fnv(body).to_le_bytes() != sum {
        return None;
    }
    let u = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().expect("8 bytes"));
    let i = |at: usize| u(at) as i64;
    let (offset, print, count) = (u(8), u(16), u(24) as usize);
    if body.len() != HEAD + count.checked_mul(ROW)? {
        return None;
    }
    let rows = (0..count)
        .map(|n| {
            let at = HEAD + n * ROW;
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
    Some((offset, print, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

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
