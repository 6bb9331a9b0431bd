//! The saved list, `members.names` beside the store: the checked layout of
//! `reports::snapshot` around `List`'s rows, as of one event.

use std::path::{Path, PathBuf};

use super::List;
use crate::domain::error::Result;
use crate::domain::model::Member;
use crate::domain::reports::snapshot::{self, Head};
use crate::domain::schema::{MEMBER, Meta, decode, key1, read_u64};
use crate::domain::store::Store;

pub(super) const MAGIC: &[u8; 8] = b"OPNAMES\x02";

/// How many of a saved list's last names are checked against the store's records.
pub(super) const CHECKED_LAST: u64 = 16;

pub fn path(dir: &Path) -> PathBuf {
    dir.join("members.names")
}

/// Writes `list`, as of event `offset` (whose fingerprint is `print`), whole or not at all.
pub(super) fn write(dir: &Path, list: &List, offset: u64, print: u64) -> std::io::Result<()> {
    let head = Head {
        offset,
        print,
        count: list.len() as u64,
    };
    let size = list.len() * 4 + list.text.len();
    snapshot::write_checked(&path(dir), MAGIC, head, size, |out| list.encode(out))
}

/// The saved list when it is whole, of this store and not ahead of it (`meta`).
pub(super) fn load_file(store: &Store, meta: &Meta) -> Result<Option<List>> {
    let Some((head, bytes)) = snapshot::read_checked(&path(store.dir()), MAGIC) else {
        return Ok(None);
    };
    if head.offset > meta.last_offset || head.count > meta.last_member {
        return Ok(None);
    }
    let Ok(count) = usize::try_from(head.count) else {
        return Ok(None);
    };
    if snapshot::fingerprint(store, head.offset)? != Some(head.print) {
        return Ok(None);
    }
    let Some(list) = List::decode(count, &bytes[32..bytes.len() - 8]) else {
        return Ok(None);
    };
    // The event's fingerprint tells little when the last events name no one (a history
    // that a restore took back and that was written again otherwise): the last names are
    // the store's too.
    let from = head.count.saturating_sub(CHECKED_LAST) + 1;
    let mut checked = 0;
    for r in store.range(&key1(MEMBER, from), &key1(MEMBER, head.count + 1)) {
        let (k, v) = r?;
        let m: Member = decode(&v)?;
        let id = read_u64(&k, 1);
        if list.get(id as usize - 1) != Some(m.name.to_lowercase().as_str()) {
            return Ok(None);
        }
        checked += 1;
    }
    Ok((checked == head.count + 1 - from).then_some(list))
}
