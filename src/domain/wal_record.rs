//! The write-ahead log's record format, for `wal.rs`: a record is its payload's length
//! (u32), a CRC-32 of its sequence number and payload (u32), the sequence number (u64),
//! then the payload, all little-endian; and reading a segment back, telling a torn tail
//! from damage.

use super::{HEADER, Record};

/// Appends one record to `out`.
pub fn encode_record(seq: u64, payload: &[u8], out: &mut Vec<u8>) {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

/// The record at `at`, and where it ends, if it is whole and its CRC holds.
fn record_at(bytes: &[u8], at: usize) -> Option<(Record, usize)> {
    let head = bytes.get(at..at.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes(head[0..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..8].try_into().ok()?);
    let seq = u64::from_le_bytes(head[8..16].try_into().ok()?);
    let end = (at + HEADER).checked_add(len)?;
    let body = bytes.get(at + 8..end)?;
    let mut h = crc32fast::Hasher::new();
    h.update(body);
    (h.finalize() == crc).then(|| {
        (
            Record {
                seq,
                payload: bytes[at + HEADER..end].to_vec(),
            },
            end,
        )
    })
}

/// The whole records at the start of a segment, and where they end.
pub(super) fn whole_records(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut at = 0;
    let mut out = Vec::new();
    while let Some((r, end)) = record_at(bytes, at) {
        out.push(r);
        at = end;
    }
    (out, at)
}

/// Parses a segment: the whole records, the length of their prefix (the whole segment
/// when only zeros follow them: nothing to cut), and whether what follows it is damage
/// rather than a torn tail (a bad record followed by a good one: an append cut short by a
/// crash leaves nothing good after it).
pub(super) fn parse(bytes: &[u8]) -> (Vec<Record>, usize, bool) {
    let (out, at) = whole_records(bytes);
    if bytes[at..].iter().all(|b| *b == 0) {
        // The room written ahead of the appends (or nothing): the clean end.
        return (out, bytes.len(), false);
    }
    let mut damaged = false;
    if at + HEADER <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        if let Some(next) = (at + HEADER).checked_add(len) {
            damaged = record_at(bytes, next).is_some();
        }
    }
    (out, at, damaged)
}
