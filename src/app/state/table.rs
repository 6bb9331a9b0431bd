//! A table over a whole store table, of which only a window is held: a few pages around the
//! selection. Moving past the window's edge asks for the rows beyond it (moves typed while
//! they load are kept and applied when they land, so nothing is skipped); `g`/`G` ask for
//! the table's true ends; a refresh keeps the selected record by id. The window, its
//! position in the whole table and the total are what the title shows.

use crate::domain::Window;

/// Rows fetched per window read: a 50-row screen plus read-ahead.
pub const PAGE_ROWS: usize = 120;
/// Rows held at most; past this the far end of the window is dropped.
pub const MAX_ROWS: usize = 4 * PAGE_ROWS;

/// A row's identity (member id, deal id): what the selection follows.
pub trait RowId {
    fn row_id(&self) -> u64;
}

/// What the table asks the store for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// The first rows of the whole table.
    First,
    /// The last rows of the whole table.
    Last,
    /// The rows after the window's last row.
    After,
    /// The rows before the window's first row.
    Before,
    /// The window again (from its first row, or from the top when it shows the top),
    /// keeping the selected record.
    Reload,
}

/// How a landed reload went for the selected record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    /// Nothing to say.
    Quiet,
    /// The selected record is no longer in the window (filtered out, moved, gone): the
    /// selection now rests on another row, which the status line must say.
    Lost { id: u64 },
    /// The window was dropped: the user moved while it was read. Reload again later.
    Dropped,
    /// An older request's answer: ignored.
    Stale,
}

#[derive(Debug, Clone)]
pub struct Table<T> {
    pub rows: Vec<T>,
    /// Index in `rows` of the selected row.
    pub selected: usize,
    /// Index in `rows` of the first row on screen.
    pub offset: usize,
    /// Position of `rows[0]` in the whole table (0 = first), when known.
    pub base: Option<u64>,
    /// `base` is the place from before the data moved (a reload that could not count it):
    /// the title marks it `~` until a window that knows it lands.
    pub approx: bool,
    /// Rows in the whole table, when known.
    pub total: Option<u64>,
    pub more_before: bool,
    pub more_after: bool,
    /// Bumped on every request; an answer for an older generation is dropped.
    pub generation: u64,
    /// The request in flight, if any.
    pub loading: Option<Fetch>,
    pub loaded_once: bool,
    /// Rows still to move once the window in flight lands (typed while it loaded).
    pub pending: isize,
    /// Rows that arrived above the held selection since the user last went to the top.
    pub new_above: u64,
    /// Counts moves, so a reload read before the latest move can be told apart.
    moves: u64,
    reload_moves: u64,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            base: None,
            approx: false,
            total: None,
            more_before: false,
            more_after: false,
            generation: 0,
            loading: None,
            loaded_once: false,
            pending: 0,
            new_above: 0,
            moves: 0,
            reload_moves: 0,
        }
    }
}

impl<T: RowId> Table<T> {
    pub fn selected_row(&self) -> Option<&T> {
        self.rows.get(self.selected)
    }

    pub fn selected_id(&self) -> Option<u64> {
        self.selected_row().map(RowId::row_id)
    }

    /// The selected row's place in the whole table, from 1.
    pub fn position(&self) -> Option<u64> {
        if self.rows.is_empty() {
            return None;
        }
        self.base.map(|b| b + self.selected as u64 + 1)
    }

    /// The total, or what the window proves when it reaches the end.
    pub fn known_total(&self) -> Option<u64> {
        self.total.or_else(|| {
            (!self.more_after)
                .then_some(self.base)
                .flatten()
                .map(|b| b + self.rows.len() as u64)
        })
    }

    /// True while a request that replaces or extends the window is out.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Starts a request: returns its generation.
    pub fn begin(&mut self, f: Fetch) -> u64 {
        self.generation += 1;
        self.loading = Some(f);
        if f == Fetch::Reload {
            self.reload_moves = self.moves;
        }
        self.generation
    }

    /// Forgets the window and asks for the first rows (a new filter or order).
    pub fn restart(&mut self) -> Fetch {
        self.rows.clear();
        self.selected = 0;
        self.offset = 0;
        self.base = Some(0);
        self.total = None;
        self.pending = 0;
        self.new_above = 0;
        self.more_before = false;
        self.more_after = false;
        Fetch::First
    }

    /// Drops the window and any read in flight (its answer will be stale): the next time
    /// the table is shown it reads its first rows again (a filter put back while hidden).
    pub fn forget(&mut self) {
        self.restart();
        self.generation += 1;
        self.loading = None;
        self.loaded_once = false;
    }

    /// Moves the selection by `delta` rows over the whole table. Past the window's edge it
    /// asks for the rows beyond; the part of the move that did not fit waits for them.
    pub fn step(&mut self, delta: isize, view_rows: usize) -> Option<Fetch> {
        self.moves += 1;
        match self.loading {
            // The window is being replaced: the move applies to the new one.
            Some(Fetch::First) | Some(Fetch::Last) => {
                self.pending += delta;
                return None;
            }
            _ => {}
        }
        if self.rows.is_empty() {
            return None;
        }
        let last = self.rows.len() as isize - 1;
        let target = self.selected as isize + delta;
        let mut fetch = None;
        if target > last {
            self.selected = last as usize;
            if self.more_after {
                self.pending += target - last;
                fetch = Some(Fetch::After);
            }
        } else if target < 0 {
            self.selected = 0;
            if self.more_before {
                self.pending += target;
                fetch = Some(Fetch::Before);
            }
        } else {
            self.selected = target as usize;
        }
        self.keep_visible(view_rows);
        if fetch.is_none() {
            fetch = self.read_ahead(view_rows);
        }
        // A read in flight already covers it (its answer resumes the pending move).
        match (fetch, self.loading) {
            (Some(_), Some(Fetch::After)) | (Some(_), Some(Fetch::Before)) => None,
            _ => fetch,
        }
    }

    /// Asks for the next rows before the selection reaches the window's edge.
    fn read_ahead(&self, view_rows: usize) -> Option<Fetch> {
        let near = view_rows.max(1);
        if self.more_after && self.rows.len() - 1 - self.selected < near {
            Some(Fetch::After)
        } else if self.more_before && self.selected < near {
            Some(Fetch::Before)
        } else {
            None
        }
    }

    /// `g`: the first row of the whole table.
    pub fn home(&mut self, view_rows: usize) -> Option<Fetch> {
        self.moves += 1;
        self.new_above = 0;
        self.pending = 0;
        if self.base == Some(0) && !self.rows.is_empty() {
            self.selected = 0;
            self.offset = 0;
            self.keep_visible(view_rows);
            return None;
        }
        Some(Fetch::First)
    }

    /// `G`: the last row of the whole table.
    pub fn end(&mut self, view_rows: usize) -> Option<Fetch> {
        self.moves += 1;
        self.pending = 0;
        if !self.more_after && !self.rows.is_empty() {
            self.selected = self.rows.len() - 1;
            self.keep_visible(view_rows);
            return None;
        }
        Some(Fetch::Last)
    }

    /// Takes a window read for `fetch`. On success the caller resumes a pending move with
    /// `resume`.
    pub fn accept(
        &mut self,
        generation: u64,
        fetch: Fetch,
        w: Window<T>,
        view_rows: usize,
    ) -> Landed {
        if generation != self.generation {
            return Landed::Stale;
        }
        self.loading = None;
        self.loaded_once = true;
        let mut landed = Landed::Quiet;
        let total_before = self.total;
        match fetch {
            Fetch::First => {
                self.rows = w.rows;
                self.base = Some(w.first_position.unwrap_or(0));
                self.approx = false;
                self.selected = 0;
                self.offset = 0;
                self.more_before = false;
                self.more_after = w.more_after;
                self.new_above = 0;
            }
            Fetch::Last => {
                self.rows = w.rows;
                self.base = w.first_position;
                self.approx = false;
                self.selected = self.rows.len().saturating_sub(1);
                self.offset = self.selected.saturating_sub(view_rows.saturating_sub(1));
                self.more_before = w.more_before;
                self.more_after = false;
            }
            Fetch::After => {
                self.rows.extend(w.rows);
                self.more_after = w.more_after;
                if self.rows.len() > MAX_ROWS {
                    let cut = self.rows.len() - MAX_ROWS;
                    if cut <= self.selected {
                        self.drop_front(cut);
                    } else {
                        // The selection went back to the front while the rows were read
                        // (`g`, `k`): drop the far end instead, never the selected row.
                        self.rows.truncate(MAX_ROWS);
                        self.more_after = true;
                    }
                }
            }
            Fetch::Before => {
                let n = w.rows.len();
                let mut rows = w.rows;
                rows.append(&mut self.rows);
                self.rows = rows;
                self.selected += n;
                self.offset += n;
                self.approx &= w.first_position.is_none();
                self.base = match (self.base, w.first_position) {
                    (_, Some(p)) => Some(p),
                    (Some(b), None) => b.checked_sub(n as u64),
                    (None, None) => None,
                };
                self.more_before = w.more_before;
                if self.rows.len() > MAX_ROWS {
                    if self.selected < MAX_ROWS {
                        self.rows.truncate(MAX_ROWS);
                        self.more_after = true;
                    } else {
                        // The selection went to the end while the rows were read (`G`,
                        // `j`): drop the near end instead, never the selected row.
                        self.drop_front(self.rows.len() - MAX_ROWS);
                    }
                }
            }
            Fetch::Reload => {
                if self.moves != self.reload_moves {
                    return Landed::Dropped;
                }
                let held = self.selected_id();
                let old_pos = self.position();
                let from_top = self.base == Some(0);
                self.rows = w.rows;
                if let Some(p) = w.first_position {
                    self.base = Some(p);
                    self.approx = false;
                } else if from_top {
                    self.base = Some(0);
                    self.approx = false;
                } else {
                    // Rows may have moved above the window: the old place is a guess.
                    self.approx = self.base.is_some();
                }
                self.more_after = w.more_after;
                self.more_before = if from_top { false } else { w.more_before };
                match held {
                    Some(id) => match self.rows.iter().position(|r| r.row_id() == id) {
                        Some(i) => self.selected = i,
                        None => {
                            landed = Landed::Lost { id };
                        }
                    },
                    None => self.selected = 0,
                }
                if let (Some(old), Some(new), Landed::Quiet) = (old_pos, self.position(), &landed)
                    && new > old
                {
                    self.new_above += new - old;
                }
            }
        }
        self.total = w.total.or(match fetch {
            // A window read without a total keeps the one known before.
            Fetch::After | Fetch::Before => total_before,
            _ => None,
        });
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.keep_visible(view_rows);
        landed
    }

    /// Applies the part of a move that waited for the window just landed.
    pub fn resume(&mut self, view_rows: usize) -> Option<Fetch> {
        let d = std::mem::take(&mut self.pending);
        if d == 0 || self.rows.is_empty() {
            return self
                .read_ahead(view_rows)
                .filter(|_| self.loading.is_none());
        }
        self.moves -= 1; // resuming is the same move, not a new one
        self.step(d, view_rows)
    }

    /// Drops the window's first `cut` rows, keeping the selection on its row.
    fn drop_front(&mut self, cut: usize) {
        self.rows.drain(..cut);
        self.selected = self.selected.saturating_sub(cut);
        self.offset = self.offset.saturating_sub(cut);
        self.base = self.base.map(|b| b + cut as u64);
        self.more_before = true;
    }

    pub fn fail(&mut self, generation: u64) {
        if generation == self.generation {
            self.loading = None;
            self.pending = 0;
        }
    }

    pub fn keep_visible(&mut self, view_rows: usize) {
        let h = view_rows.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        self.offset = self.offset.min(self.rows.len().saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RowId for u64 {
        fn row_id(&self) -> u64 {
            *self
        }
    }

    /// A store table of `n` rows `1..=n`, read as the domain would.
    struct Store(u64);

    impl Store {
        fn read(&self, t: &Table<u64>, f: Fetch) -> Window<u64> {
            let n = self.0;
            let (from, to) = match f {
                Fetch::First => (1, PAGE_ROWS as u64),
                Fetch::Last => (n.saturating_sub(PAGE_ROWS as u64) + 1, n),
                Fetch::After => {
                    let l = *t.rows.last().unwrap();
                    (l + 1, l + PAGE_ROWS as u64)
                }
                Fetch::Before => {
                    let fst = t.rows[0];
                    (fst.saturating_sub(PAGE_ROWS as u64).max(1), fst - 1)
                }
                Fetch::Reload => {
                    let fst = t.rows[0];
                    (fst, fst + t.rows.len() as u64 - 1)
                }
            };
            let to = to.min(n);
            Window {
                rows: (from..=to).collect(),
                total: Some(n),
                first_position: Some(from - 1),
                more_before: from > 1,
                more_after: to < n,
            }
        }
    }

    /// Runs the table's requests against the store until it is quiet.
    fn settle(t: &mut Table<u64>, s: &Store, mut f: Option<Fetch>) {
        while let Some(x) = f {
            let g = t.begin(x);
            let w = s.read(t, x);
            t.accept(g, x, w, 40);
            f = t.resume(40);
        }
    }

    #[test]
    fn j_from_the_first_row_meets_every_row_in_order() {
        let s = Store(1_000);
        let mut t = Table::default();
        settle(&mut t, &s, Some(Fetch::First));
        let mut seen = vec![t.selected_id().unwrap()];
        for _ in 0..999 {
            let f = t.step(1, 40);
            settle(&mut t, &s, f);
            seen.push(t.selected_id().unwrap());
            assert_eq!(t.position(), Some(*seen.last().unwrap()));
        }
        assert_eq!(seen, (1..=1_000).collect::<Vec<_>>());
        assert!(t.rows.len() <= MAX_ROWS);
    }

    #[test]
    fn g_then_k_and_page_up_walk_back_without_a_jump() {
        let s = Store(1_000);
        let mut t = Table::default();
        settle(&mut t, &s, Some(Fetch::First));
        let f = t.end(40);
        settle(&mut t, &s, f);
        assert_eq!(t.selected_id(), Some(1_000));
        assert_eq!(t.position(), Some(1_000));
        let f = t.step(-1, 40);
        settle(&mut t, &s, f);
        assert_eq!(t.selected_id(), Some(999));
        let mut at = 999;
        while at > 40 {
            let f = t.step(-40, 40);
            settle(&mut t, &s, f);
            at -= 40;
            assert_eq!(t.selected_id(), Some(at));
        }
        let f = t.home(40);
        settle(&mut t, &s, f);
        assert_eq!(t.selected_id(), Some(1));
    }

    #[test]
    fn moves_typed_while_a_page_loads_are_kept() {
        let s = Store(500);
        let mut t = Table::default();
        settle(&mut t, &s, Some(Fetch::First));
        t.selected = PAGE_ROWS - 1;
        let f = t.step(1, 40).unwrap();
        let g = t.begin(f);
        // Three more j's while the page is out.
        for _ in 0..3 {
            assert_eq!(t.step(1, 40), None);
        }
        let w = s.read(&t, f);
        t.accept(g, f, w, 40);
        let f = t.resume(40);
        settle(&mut t, &s, f);
        assert_eq!(t.selected_id(), Some(PAGE_ROWS as u64 + 4));
    }

    #[test]
    fn a_reload_keeps_the_selected_record_and_counts_rows_above_it() {
        let mut t: Table<u64> = Table::default();
        let g = t.begin(Fetch::First);
        t.accept(
            g,
            Fetch::First,
            Window {
                rows: vec![50, 49, 48, 47],
                total: Some(50),
                first_position: Some(0),
                more_before: false,
                more_after: true,
            },
            10,
        );
        t.step(2, 10);
        assert_eq!(t.selected_id(), Some(48));
        let g = t.begin(Fetch::Reload);
        let landed = t.accept(
            g,
            Fetch::Reload,
            Window {
                rows: vec![53, 52, 51, 50, 49, 48, 47],
                total: Some(53),
                first_position: Some(0),
                more_before: false,
                more_after: true,
            },
            10,
        );
        assert_eq!(landed, Landed::Quiet);
        assert_eq!(t.selected_id(), Some(48));
        assert_eq!(t.new_above, 3);
        let g = t.begin(Fetch::Reload);
        let landed = t.accept(
            g,
            Fetch::Reload,
            Window {
                rows: vec![53, 52, 51, 50, 49, 47],
                total: Some(52),
                first_position: Some(0),
                more_before: false,
                more_after: true,
            },
            10,
        );
        assert_eq!(landed, Landed::Lost { id: 48 });
    }

    /// A full window (`MAX_ROWS` rows from the top) with a read of the rows after it out.
    fn full_window_reading_after(s: &Store) -> (Table<u64>, u64, Window<u64>) {
        let mut t = Table::default();
        settle(&mut t, s, Some(Fetch::First));
        while t.rows.len() < MAX_ROWS {
            let g = t.begin(Fetch::After);
            let w = s.read(&t, Fetch::After);
            t.accept(g, Fetch::After, w, 40);
        }
        t.selected = MAX_ROWS - 10;
        let f = t.step(1, 40);
        assert_eq!(f, Some(Fetch::After));
        let g = t.begin(Fetch::After);
        let w = s.read(&t, Fetch::After);
        (t, g, w)
    }

    #[test]
    fn g_while_the_next_rows_load_stays_on_the_first_row() {
        let s = Store(2_000);
        let (mut t, g, w) = full_window_reading_after(&s);
        assert_eq!(t.home(40), None);
        assert_eq!(t.position(), Some(1));
        assert_eq!(t.accept(g, Fetch::After, w, 40), Landed::Quiet);
        let f = t.resume(40);
        settle(&mut t, &s, f);
        assert_eq!(t.selected_id(), Some(1));
        assert_eq!(t.position(), Some(1));
        assert!(t.rows.len() <= MAX_ROWS);
        // ...and the rows beyond are still reachable, in order.
        let f = t.step(MAX_ROWS as isize, 40);
        settle(&mut t, &s, f);
        assert_eq!(t.selected_id(), Some(MAX_ROWS as u64 + 1));
        assert_eq!(t.position(), Some(MAX_ROWS as u64 + 1));
    }

    #[test]
    fn g_end_while_earlier_rows_load_stays_on_the_last_row() {
        let s = Store(2_000);
        let mut t = Table::default();
        settle(&mut t, &s, Some(Fetch::First));
        let f = t.end(40);
        settle(&mut t, &s, f);
        while t.rows.len() < MAX_ROWS {
            let g = t.begin(Fetch::Before);
            let w = s.read(&t, Fetch::Before);
            t.accept(g, Fetch::Before, w, 40);
        }
        t.selected = 9;
        t.offset = 0;
        let f = t.step(-1, 40);
        assert_eq!(f, Some(Fetch::Before));
        let g = t.begin(Fetch::Before);
        let w = s.read(&t, Fetch::Before);
        assert_eq!(t.end(40), None);
        assert_eq!(t.position(), Some(2_000));
        assert_eq!(t.accept(g, Fetch::Before, w, 40), Landed::Quiet);
        let f = t.resume(40);
        settle(&mut t, &s, f);
        assert_eq!(t.selected_id(), Some(2_000));
        assert_eq!(t.position(), Some(2_000));
        assert!(t.rows.len() <= MAX_ROWS);
    }

    #[test]
    fn a_reload_that_does_not_know_its_place_marks_the_old_one_until_one_that_does() {
        let s = Store(1_000);
        let mut t = Table::default();
        settle(&mut t, &s, Some(Fetch::First));
        let f = t.step(850, 40);
        settle(&mut t, &s, f);
        assert_eq!((t.position(), t.approx), (Some(851), false));
        // The data moved; the store could not count the place (a filtered order).
        let g = t.begin(Fetch::Reload);
        let mut w = s.read(&t, Fetch::Reload);
        w.first_position = None;
        t.accept(g, Fetch::Reload, w, 40);
        assert_eq!((t.position(), t.approx), (Some(851), true));
        let title = crate::views::widgets::position_title("Deals", &t, &[]);
        assert_eq!(title, " Deals ~851 / 1,000 ");
        // Reading on keeps the mark; a window that knows its place clears it.
        let g = t.begin(Fetch::After);
        let mut w = s.read(&t, Fetch::After);
        w.first_position = None;
        t.accept(g, Fetch::After, w, 40);
        assert!(t.approx);
        let g = t.begin(Fetch::Reload);
        let w = s.read(&t, Fetch::Reload);
        t.accept(g, Fetch::Reload, w, 40);
        assert_eq!((t.position(), t.approx), (Some(851), false));
        let title = crate::views::widgets::position_title("Deals", &t, &[]);
        assert_eq!(title, " Deals 851 / 1,000 ");
    }

    #[test]
    fn a_reload_read_before_a_move_is_dropped() {
        let s = Store(300);
        let mut t = Table::default();
        settle(&mut t, &s, Some(Fetch::First));
        let g = t.begin(Fetch::Reload);
        let w = s.read(&t, Fetch::Reload);
        t.step(1, 40);
        assert_eq!(t.accept(g, Fetch::Reload, w, 40), Landed::Dropped);
        assert_eq!(t.selected_id(), Some(2));
    }
}
