//! A table backed by cursor pages from the store: only one page (a little more than a screen)
//! is held, and moving past either end asks the worker for the next or previous page.

/// Rows fetched per page: a 50-row screen plus read-ahead.
pub const PAGE_ROWS: usize = 120;

/// One page of rows, the cursor it was loaded from, and the way back.
#[derive(Debug, Clone)]
pub struct Paged<T, C: Clone> {
    pub rows: Vec<T>,
    pub selected: usize,
    /// First row shown (scroll position within the page).
    pub offset: usize,
    /// The cursor this page was loaded from (`None` = the first page).
    pub start: Option<C>,
    /// Starts of the pages before this one, for paging back.
    pub back: Vec<Option<C>>,
    pub has_more: bool,
    /// Bumped on every request; a result for an older generation is dropped.
    pub generation: u64,
    pub loading: bool,
    pub loaded_once: bool,
}

impl<T, C: Clone> Default for Paged<T, C> {
    fn default() -> Self {
        Paged {
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            start: None,
            back: Vec::new(),
            has_more: false,
            generation: 0,
            loading: false,
            loaded_once: false,
        }
    }
}

/// What a move asks of the store, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest<C> {
    /// Load the page starting after this cursor; select its first (`false`) or last row.
    Load { start: Option<C>, select_last: bool },
}

impl<T, C: Clone> Paged<T, C> {
    pub fn selected_row(&self) -> Option<&T> {
        self.rows.get(self.selected)
    }

    /// The page number, from 1.
    pub fn page_number(&self) -> usize {
        self.back.len() + 1
    }

    /// Starts a fresh query from the first page.
    pub fn reset(&mut self) -> u64 {
        self.start = None;
        self.back.clear();
        self.selected = 0;
        self.offset = 0;
        self.begin_load()
    }

    pub fn begin_load(&mut self) -> u64 {
        self.generation += 1;
        self.loading = true;
        self.generation
    }

    /// Moves the selection by `delta` rows; past the ends, asks for the neighbouring page.
    pub fn step(
        &mut self,
        delta: isize,
        cursor_of: impl Fn(&T) -> C,
        view_rows: usize,
    ) -> Option<PageRequest<C>> {
        if self.loading {
            return None;
        }
        let last = self.rows.len().saturating_sub(1);
        let target = self.selected as isize + delta;
        if target > last as isize {
            if self.has_more && self.selected == last {
                let next = self.rows.last().map(&cursor_of);
                self.back.push(self.start.clone());
                self.start = next.clone();
                return Some(PageRequest::Load {
                    start: next,
                    select_last: false,
                });
            }
            self.selected = last;
        } else if target < 0 {
            if self.selected == 0
                && let Some(prev) = self.back.pop()
            {
                self.start = prev.clone();
                return Some(PageRequest::Load {
                    start: prev,
                    select_last: true,
                });
            }
            self.selected = 0;
        } else {
            self.selected = target as usize;
        }
        self.keep_visible(view_rows);
        None
    }

    pub fn home(&mut self) -> Option<PageRequest<C>> {
        if self.back.is_empty() {
            self.selected = 0;
            self.offset = 0;
            return None;
        }
        self.back.clear();
        self.start = None;
        Some(PageRequest::Load {
            start: None,
            select_last: false,
        })
    }

    /// Takes a loaded page (`rows` may hold one extra row, which only says more exist).
    pub fn accept(
        &mut self,
        generation: u64,
        mut rows: Vec<T>,
        select_last: bool,
        view_rows: usize,
    ) -> bool {
        if generation != self.generation {
            return false;
        }
        self.has_more = rows.len() > PAGE_ROWS;
        rows.truncate(PAGE_ROWS);
        self.rows = rows;
        self.loading = false;
        self.loaded_once = true;
        if select_last {
            self.selected = self.rows.len().saturating_sub(1);
            self.offset = self.selected.saturating_sub(view_rows.saturating_sub(1));
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.keep_visible(view_rows);
        true
    }

    pub fn fail(&mut self, generation: u64) {
        if generation == self.generation {
            self.loading = false;
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

    /// The rows on screen: only these are turned into table cells.
    pub fn visible(&self, view_rows: usize) -> &[T] {
        let start = self.offset.min(self.rows.len());
        let end = (start + view_rows).min(self.rows.len());
        &self.rows[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize, from: u64) -> Vec<u64> {
        (from..from + n as u64).collect()
    }

    #[test]
    fn stepping_past_the_last_row_asks_for_the_next_page_after_it() {
        let mut p: Paged<u64, u64> = Paged::default();
        let g = p.reset();
        assert!(p.accept(g, page(PAGE_ROWS + 1, 1), false, 10));
        assert!(p.has_more);
        assert_eq!(p.rows.len(), PAGE_ROWS);
        p.selected = PAGE_ROWS - 1;
        let req = p.step(1, |r| *r, 10);
        assert_eq!(
            req,
            Some(PageRequest::Load {
                start: Some(PAGE_ROWS as u64),
                select_last: false
            })
        );
        assert_eq!(p.page_number(), 2);
        // Back from the first row of page 2 returns to page 1's start.
        let g = p.begin_load();
        p.selected = 0;
        assert!(p.accept(g, page(10, 121), false, 10));
        assert_eq!(
            p.step(-1, |r| *r, 10),
            Some(PageRequest::Load {
                start: None,
                select_last: true
            })
        );
    }

    #[test]
    fn a_stale_page_is_dropped() {
        let mut p: Paged<u64, u64> = Paged::default();
        let old = p.reset();
        let new = p.reset();
        assert!(!p.accept(old, page(3, 1), false, 10));
        assert!(p.accept(new, page(2, 5), false, 10));
        assert_eq!(p.rows, vec![5, 6]);
    }

    #[test]
    fn selection_scrolls_the_window() {
        let mut p: Paged<u64, u64> = Paged::default();
        let g = p.reset();
        p.accept(g, page(50, 1), false, 10);
        for _ in 0..15 {
            p.step(1, |r| *r, 10);
        }
        assert_eq!(p.selected, 15);
        assert_eq!(p.offset, 6);
        assert_eq!(p.visible(10).first(), Some(&7));
    }
}
