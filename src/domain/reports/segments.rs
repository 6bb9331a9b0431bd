//! Member segmentation: recency, frequency and spend per member (the report fields of the
//! `A` records), bucketed
//! into named segments; the scan is cached until the data moves, and the members' records
//! are kept in memory (brought up to date from the events since) and saved beside the store
//! (`snapshot`), so a scan after a write or after opening reads no table.

use parking_lot::Mutex;

use super::counters::day_of;
use super::{DormantMember, DormantReport, ReportQuery, SegmentRow, SegmentsReport};
use crate::domain::calendar::Millis;
use crate::domain::core::Core;
use crate::domain::error::Result;
use crate::domain::ids::MemberId;
use crate::domain::ledger::find_record;
use crate::domain::model::MemberRecord;
use crate::domain::money::Points;
use crate::domain::schema::{ACCOUNT, Meta, decode, key1, read_u64};
use crate::domain::store::Store;
use crate::domain::tx::prefix_end;

const DAY_MS: i64 = 86_400_000;

/// The last member scan, reused until the data moves (a new event) or the day changes; and
/// the members' segmentation records in memory, brought up to date from the events since
/// (only the members they name are read again), so a scan after a write reads no table.
#[derive(Default)]
pub struct Cache {
    last: Mutex<Option<(ScanKey, std::sync::Arc<Scan>)>>,
    mirror: Mutex<Option<Mirror>>,
    /// The thread writing the records beside the store (see `save_rows`), if one started.
    saver: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Cache {
    /// The saved copy is whole before the store closes (a copy cut short by the process
    /// ending is only a temporary file, never taken).
    fn drop(&mut self) {
        if let Some(h) = self.saver.get_mut().take() {
            let _ = h.join();
        }
    }
}

/// Every member's `Rfm`, in id order, as of event `offset`; saved beside the store (see
/// `snapshot`) as of event `saved` (shared with the thread saving them: a replay while it
/// writes changes a copy).
struct Mirror {
    offset: u64,
    rows: std::sync::Arc<Vec<Rfm>>,
    saved: u64,
}

/// How many events since the records in memory are replayed rather than every record read
/// again: replaying one (reading it, then its member's record) costs about what reading a
/// record or two in the table does. Reading the whole table cold is bound by sled paging in
/// its leaves (16 records or fewer each, a leaf a chain of pieces read one `pread` each):
/// at 1M members about 480,000 reads and 1.6-1.8 s of CPU (see `member_rows`).
fn replay_limit(members: usize) -> u64 {
    members as u64 / 2 + 1_000
}

/// The saved copy is written again once this many events have been replayed since it.
fn resave_after(members: usize) -> u64 {
    members as u64 / 8 + 1_000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScanKey {
    offset: u64,
    today: i32,
    days: u32,
}

/// A member segmentation: the segments report and the dormant members holding points.
#[derive(Debug)]
pub struct Scan {
    pub segments: SegmentsReport,
    /// Dormant members holding points, the largest first (at most `MAX_LIMIT`).
    pub dormant: Vec<(MemberId, Points, Option<Millis>, u32)>,
    pub dormant_members: u64,
    pub dormant_points: Points,
}

/// What segmentation needs of one member (not withdrawn): recency, frequency, monetary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfm {
    pub id: MemberId,
    /// When it joined (0: unknown, long ago).
    pub joined_at: Millis,
    pub last_deal: Option<Millis>,
    /// Successful saves and uses.
    pub frequency: u64,
    /// Spend behind successful saves, whole currency units.
    pub spend: u64,
    pub balance: Points,
    /// Withdrawn members are in no segment.
    pub withdrawn: bool,
}

impl Rfm {
    pub fn of(id: MemberId, r: &MemberRecord) -> Rfm {
        let s = &r.stats;
        Rfm {
            id,
            joined_at: s.joined_at,
            last_deal: s.last_deal,
            frequency: s.frequency,
            spend: s.spend,
            balance: r.account.balance,
            withdrawn: s.withdrawn_at.is_some(),
        }
    }
}

impl Core {
    pub(super) fn scan(&self, now: Millis, meta: &Meta, days: u32) -> Result<std::sync::Arc<Scan>> {
        let zone = self.shared.opts.zone;
        let key = ScanKey {
            offset: meta.last_offset,
            today: day_of(now, zone),
            days,
        };
        let cache = &self.shared.reports;
        if let Some((k, s)) = cache.last.lock().as_ref()
            && *k == key
        {
            return Ok(s.clone());
        }
        let mut mirror = cache.mirror.lock();
        self.refresh(&mut mirror, meta.last_offset)?;
        let rows = mirror.as_ref().map_or(&[][..], |m| &m.rows[..]);
        let s = std::sync::Arc::new(segment_scan(rows, now, days));
        drop(mirror);
        *cache.last.lock() = Some((key, s.clone()));
        Ok(s)
    }

    /// Brings the members' records up to event `to`: the members the events since name are
    /// read again. With none in memory, the saved copy is taken when it is of this store and
    /// recent enough; else (or with too many events since) every record is read, and saved.
    fn refresh(&self, mirror: &mut Option<Mirror>, to: u64) -> Result<()> {
        let store = &self.shared.store;
        if mirror.is_none()
            && let Some((offset, print, rows)) = super::snapshot::load(self.dir())
            && offset <= to
            && to - offset <= replay_limit(rows.len())
            && self.fingerprint(offset)? == Some(print)
        {
            *mirror = Some(Mirror {
                offset,
                rows: rows.into(),
                saved: offset,
            });
        }
        let replay = match mirror.as_ref() {
            // The limit grows with the table.
            Some(m) => m.offset <= to && to - m.offset <= replay_limit(m.rows.len()),
            None => false,
        };
        if !replay {
            // Anything written while the table is read is named by an event after `to`,
            // and read again at the next refresh.
            let m = mirror.insert(Mirror {
                offset: to,
                rows: member_rows(store, self.meta().last_member)?.into(),
                saved: 0,
            });
            self.save_rows(m)?;
            return Ok(());
        }
        let m = mirror.as_mut().expect("replay needs a mirror");
        let mut changed: Vec<u64> = Vec::new();
        let mut after = m.offset;
        while after < to {
            let events = self.events(after, crate::domain::query::MAX_PAGE)?;
            let Some(last) = events.last() else { break };
            after = last.offset;
            changed.extend(
                events
                    .iter()
                    .filter_map(|e| e.body.member_id())
                    .map(|id| id.0),
            );
        }
        changed.sort_unstable();
        changed.dedup();
        for id in changed {
            // Copied only when the saving thread still holds them.
            let rows = std::sync::Arc::make_mut(&mut m.rows);
            let Some(rec) = find_record(store, MemberId(id))? else {
                continue;
            };
            let row = Rfm::of(MemberId(id), &rec);
            match rows.binary_search_by_key(&MemberId(id), |r| r.id) {
                Ok(i) => rows[i] = row,
                Err(i) => rows.insert(i, row),
            }
        }
        m.offset = after.max(m.offset);
        if m.offset - m.saved.min(m.offset) > resave_after(m.rows.len()) {
            self.save_rows(m)?;
        }
        Ok(())
    }

    /// A fingerprint of event `offset` (see `snapshot::fingerprint`).
    fn fingerprint(&self, offset: u64) -> Result<Option<u64>> {
        super::snapshot::fingerprint(&self.shared.store, offset)
    }

    /// Saves the records beside the store, on a thread of its own so the scan does not
    /// wait for 49 bytes a member to be checksummed, written and synced; skipped while the
    /// last save is still being written (the next refresh past `resave_after` tries again).
    /// A store that cannot take the file (read-only directory, full disk) just reads every
    /// record on the next first scan.
    fn save_rows(&self, m: &mut Mirror) -> Result<()> {
        let mut saver = self.shared.reports.saver.lock();
        if saver.as_ref().is_some_and(|h| !h.is_finished()) {
            return Ok(());
        }
        if let Some(h) = saver.take() {
            let _ = h.join();
        }
        let Some(print) = self.fingerprint(m.offset)? else {
            return Ok(());
        };
        let (dir, offset, rows) = (self.dir().to_path_buf(), m.offset, m.rows.clone());
        let spawned = std::thread::Builder::new()
            .name("members-rfm".into())
            .spawn(move || {
                let _ = super::snapshot::save(&dir, offset, print, &rows);
            });
        match spawned {
            Ok(h) => *saver = Some(h),
            // No thread to be had: written here, as before.
            Err(_) => {
                let _ = super::snapshot::save(self.dir(), m.offset, print, &m.rows);
            }
        }
        m.saved = m.offset;
        Ok(())
    }
}

/// The segments, in the order they are shown.
pub const SEGMENTS: [(&str, &str); 6] = [
    (
        "champions",
        "a deal in the recent half of the dormant window, frequency and spend in the top 20%",
    ),
    ("loyal", "a recent deal, frequency in the top 20%"),
    ("active", "a recent deal"),
    ("new", "joined in the last 30 days, not yet dealing often"),
    (
        "at risk",
        "no deal in the recent half of the dormant window",
    ),
    (
        "dormant",
        "no deal (or, never dealing, no join) for the dormant days",
    ),
];

/// The segment (index into `SEGMENTS`) of a member, and its idle days.
pub(super) fn segment_of(
    s: &Rfm,
    now: Millis,
    days: u32,
    high_frequency: u64,
    high_spend: u64,
) -> (usize, u32) {
    let idle = ((now - s.last_deal.unwrap_or(s.joined_at)).max(0) / DAY_MS) as u32;
    let joined_days = ((now - s.joined_at).max(0) / DAY_MS) as u32;
    let seg = if idle >= days {
        5
    } else if joined_days < 30 && s.frequency <= 1 {
        3
    } else if idle >= days.div_ceil(2) {
        4
    } else if s.frequency >= high_frequency.max(1) && s.spend >= high_spend.max(1) {
        0
    } else if s.frequency >= high_frequency.max(1) {
        1
    } else {
        2
    };
    (seg, idle)
}

fn percentile80(mut v: Vec<u64>) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let i = (v.len() * 4 / 5).min(v.len() - 1);
    *v.select_nth_unstable(i).1
}

/// Every member's record (`A`), in id order: `members` is the highest member id. A large
/// table is read in two halves of the id space at once, one on a second thread (the read is
/// bound by sled paging its leaves in, one page per 64 records or fewer).
fn member_rows(store: &Store, members: u64) -> Result<Vec<Rfm>> {
    // The reclaimer would take a core and sled's cache from the read (right after a bulk
    // load it has the most to do): it waits until the read is done.
    let _quiet = store.hold_reclaim();
    let parts = if members >= SPLIT_FROM { 2 } else { 1 };
    member_rows_in(store, members, parts)
}

/// From this many members on, `member_rows` reads on two threads.
const SPLIT_FROM: u64 = 50_000;

/// `member_rows` in `parts` ranges of ids read at once (the last one open-ended, so a member
/// joining meanwhile is read too), concatenated in id order.
fn member_rows_in(store: &Store, members: u64, parts: u64) -> Result<Vec<Rfm>> {
    let (from, to) = (vec![ACCOUNT], prefix_end(&[ACCOUNT]));
    let parts = parts.max(1);
    let bound = |i: u64| match i {
        0 => from.clone(),
        i if i >= parts => to.clone(),
        i => key1(ACCOUNT, members / parts * i + 1),
    };
    let per = members / parts + 1;
    let read = |i: u64| range_rows(store, &bound(i), &bound(i + 1), per as usize);
    let halves: Vec<Result<Vec<Rfm>>> = std::thread::scope(|scope| {
        let spawned: Vec<_> = (1..parts)
            .map(|i| {
                std::thread::Builder::new()
                    .name("member-rows".into())
                    .spawn_scoped(scope, move || read(i))
            })
            .collect();
        let mut out = vec![read(0)];
        for (n, h) in spawned.into_iter().enumerate() {
            // A thread that could not start: its range is read here instead.
            out.push(match h {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(_) => read(n as u64 + 1),
            });
        }
        out
    });
    let mut rows: Vec<Rfm> = Vec::with_capacity(members as usize);
    for part in halves {
        rows.append(&mut part?);
    }
    Ok(rows)
}

/// The records with `from <= key < to`, in id order.
fn range_rows(store: &Store, from: &[u8], to: &[u8], expect: usize) -> Result<Vec<Rfm>> {
    let mut rows: Vec<Rfm> = Vec::with_capacity(expect);
    for r in store.range(from, to) {
        let (k, v) = r?;
        let r: MemberRecord = decode(&v)?;
        rows.push(Rfm::of(MemberId(read_u64(&k, 1)), &r));
    }
    Ok(rows)
}

/// Segments every member (withdrawn ones left out) as of `now`: the thresholds are the
/// 80th percentiles of frequency and spend among members with any.
pub fn segment_scan(rows: &[Rfm], now: Millis, days: u32) -> Scan {
    let live = || rows.iter().filter(|s| !s.withdrawn);
    let high_frequency = percentile80(
        live()
            .filter(|s| s.frequency > 0)
            .map(|s| s.frequency)
            .collect(),
    );
    let high_spend = percentile80(live().filter(|s| s.spend > 0).map(|s| s.spend).collect());
    let mut counts = [(0u64, Points::ZERO); 6];
    let mut dormant = Vec::new();
    let (mut dormant_members, mut dormant_points) = (0u64, Points::ZERO);
    for s in live() {
        let (seg, idle) = segment_of(s, now, days, high_frequency, high_spend);
        counts[seg].0 += 1;
        counts[seg].1 += s.balance;
        if seg == 5 && s.balance > Points::ZERO {
            dormant_members += 1;
            dormant_points += s.balance;
            dormant.push((s.id, s.balance, s.last_deal, idle));
        }
    }
    let by_points =
        |a: &(MemberId, Points, Option<Millis>, u32),
         b: &(MemberId, Points, Option<Millis>, u32)| { b.1.cmp(&a.1).then(a.0.cmp(&b.0)) };
    if dormant.len() > super::query::MAX_LIMIT {
        dormant.select_nth_unstable_by(super::query::MAX_LIMIT, by_points);
        dormant.truncate(super::query::MAX_LIMIT);
    }
    dormant.sort_by(by_points);
    Scan {
        segments: SegmentsReport {
            as_of: now,
            dormant_days: days,
            high_frequency,
            high_spend,
            rows: SEGMENTS
                .iter()
                .zip(counts)
                .map(|((name, rule), (members, points))| SegmentRow {
                    segment: name.to_string(),
                    rule: rule.to_string(),
                    members,
                    points,
                })
                .collect(),
            gaps: Vec::new(),
        },
        dormant,
        dormant_members,
        dormant_points,
    }
}

/// The dormant report from a segmentation: the first `q.limit` holders, named.
pub fn dormant_report<E>(
    scan: &Scan,
    q: &ReportQuery,
    mut name_of: impl FnMut(MemberId) -> std::result::Result<String, E>,
) -> std::result::Result<DormantReport, E> {
    let mut members = Vec::new();
    for &(id, points, last, idle) in scan.dormant.iter().take(q.limit) {
        members.push(DormantMember {
            member_id: id,
            name: name_of(id)?,
            points,
            last_deal: last,
            idle_days: idle,
        });
    }
    Ok(DormantReport {
        days: q.days,
        total_members: scan.dormant_members,
        total_points: scan.dormant_points,
        members,
        gaps: Vec::new(),
    })
}

/// Which members are in one segment, for the members window's `segment` filter (the
/// console's drill-down from the segments report): the cached scan's thresholds and time,
/// so a member is in the list exactly when the report counted it there.
#[derive(Debug, Clone)]
pub struct SegmentTest {
    index: usize,
    as_of: Millis,
    days: u32,
    high_frequency: u64,
    high_spend: u64,
    /// The segment's members, as the report counts them.
    pub members: u64,
}

/// Reads a segment's name (`at risk`, `champions`...): one of `SEGMENTS`.
pub fn parse_segment(field: &str, text: &str) -> Result<usize> {
    let t = text.trim();
    SEGMENTS
        .iter()
        .position(|(name, _)| name.eq_ignore_ascii_case(t))
        .ok_or_else(|| {
            let names: Vec<&str> = SEGMENTS.iter().map(|s| s.0).collect();
            crate::domain::error::Error::invalid(
                field,
                &format!("must be one of {}", names.join(", ")),
            )
        })
}

impl SegmentTest {
    /// True when the member (by its stats record) is in the segment; withdrawn members are
    /// in none.
    pub fn holds(&self, store: &Store, id: MemberId) -> Result<bool> {
        let Some(r) = find_record(store, id)? else {
            return Ok(false);
        };
        Ok(r.stats.withdrawn_at.is_none()
            && segment_of(
                &Rfm::of(id, &r),
                self.as_of,
                self.days,
                self.high_frequency,
                self.high_spend,
            )
            .0 == self.index)
    }
}

impl Core {
    /// The test for the segment named `name` (see `parse_segment`), over the default
    /// dormant days, from the cached member scan.
    pub fn segment_test(&self, field: &str, name: &str) -> Result<SegmentTest> {
        self.shared.settle()?;
        let index = parse_segment(field, name)?;
        let days = super::query::DEFAULT_DORMANT_DAYS;
        let now = self.shared.opts.clock.now();
        let scan = self.scan(now, &self.meta(), days)?;
        let seg = &scan.segments;
        Ok(SegmentTest {
            index,
            as_of: seg.as_of,
            days,
            high_frequency: seg.high_frequency,
            high_spend: seg.high_spend,
            members: seg.rows.get(index).map_or(0, |r| r.members),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schema::encode;
    use crate::domain::store::{StoreOptions, WriteSet};

    /// The split read returns exactly the one-range read: every record once, in id order,
    /// whatever the number of ranges and however the ids fall around their bounds (gaps,
    /// members with no deals, withdrawn ones, one joined past the highest id it was told).
    #[test]
    fn member_records_read_in_ranges_are_the_whole_table_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let mut set = WriteSet::default();
        // Around the record table's neighbours: one key before `A` and one after it (`B`
        // is kept in memory, so `C`).
        set.put(&[ACCOUNT - 1, 9], b"x");
        set.put(b"C~", b"y");
        let ids: Vec<u64> = (1..=40u64).filter(|i| i % 7 != 3).chain([45]).collect();
        for &id in &ids {
            let r = MemberRecord {
                account: crate::domain::model::Account {
                    balance: Points(id as i64 * 100),
                    ..Default::default()
                },
                stats: crate::domain::model::MemberStats {
                    joined_at: id as i64 * 1_000,
                    withdrawn_at: (id % 5 == 0).then_some(99),
                    last_deal: (id % 4 != 0).then_some(id as i64 * 2_000),
                    frequency: id % 6,
                    spend: id * 3,
                    ..Default::default()
                },
            };
            set.put(&key1(ACCOUNT, id), &encode(&r));
        }
        store.commit(set).unwrap();
        let whole = member_rows_in(&store, 40, 1).unwrap();
        assert_eq!(whole.iter().map(|r| r.id.0).collect::<Vec<_>>(), ids);
        assert!(whole.iter().any(|r| r.withdrawn) && whole.iter().any(|r| r.last_deal.is_none()));
        for parts in [2, 3, 6, 7, 40, 41, 100] {
            assert_eq!(
                member_rows_in(&store, 40, parts).unwrap(),
                whole,
                "{parts} parts"
            );
        }
        for members in [0, 1, 3, 45, 1_000] {
            assert_eq!(
                member_rows_in(&store, members, 2).unwrap(),
                whole,
                "{members}"
            );
        }
    }
}
