//! Walking the store's sorted indexes for the windows (`window`, `deal_dates`): from either
//! end or a key, either way, within one table or one prefix of it; and counting an entry's
//! place in its index from the nearer end.

use super::error::Result;
use super::store::{Store, Val};
use super::tx::prefix_end;

pub(super) type Entries = Box<dyn Iterator<Item = Result<(Val, Val)>>>;

/// Index entries under `tag`, walked up (`ascending`) or down from `from` (inclusive or not),
/// or from the end when `from` is `None`.
pub(super) fn walk(
    store: &Store,
    tag: u8,
    from: Option<(Vec<u8>, bool)>,
    ascending: bool,
) -> Entries {
    walk_within(store, &[tag], from, ascending)
}

/// The place (from 0, in view order) of the entry `key` of the index `tag`, which holds one
/// entry per row of a table of `total` rows: the entries below it are counted, or the ones
/// above it when that is the shorter walk (half the index at most). `None` when the index
/// disagrees with the total (rows added since it was read): the place is not known.
pub(super) fn place_in(
    store: &Store,
    tag: u8,
    key: &[u8],
    total: u64,
    descending: bool,
) -> Result<Option<u64>> {
    let start = [tag];
    let end = prefix_end(&start);
    let mut after = key.to_vec();
    after.push(0);
    // Count from the low end, stopping at half; past that, count from the high end.
    let mut below = 0u64;
    let mut whole = true;
    for r in store.range(&start, key) {
        r?;
        below += 1;
        if below > total / 2 {
            whole = false;
            break;
        }
    }
    if !whole {
        let mut above = 0u64;
        for r in store.range(&after, &end) {
            r?;
            above += 1;
        }
        let Some(b) = total.checked_sub(above + 1) else {
            return Ok(None);
        };
        below = b;
    }
    if below >= total {
        return Ok(None);
    }
    Ok(Some(if descending { total - 1 - below } else { below }))
}

/// Like `walk`, within one prefix of a table.
pub(super) fn walk_within(
    store: &Store,
    prefix: &[u8],
    from: Option<(Vec<u8>, bool)>,
    ascending: bool,
) -> Entries {
    let start = prefix.to_vec();
    let end = prefix_end(prefix);
    let clamp = |k: Vec<u8>| k.max(start.clone()).min(end.clone());
    match (from, ascending) {
        (None, true) => Box::new(store.range(&start, &end)),
        (None, false) => Box::new(store.range(&start, &end).rev()),
        (Some((mut k, inclusive)), true) => {
            if !inclusive {
                k.push(0);
            }
            Box::new(store.range(&clamp(k), &end))
        }
        (Some((mut k, inclusive)), false) => {
            if inclusive {
                k.push(0);
            }
            Box::new(store.range(&start, &clamp(k)).rev())
        }
    }
}
