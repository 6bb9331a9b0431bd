//! Events tab state: a bounded ring of the latest events, a count of every event received,
//! and where the reader is: following the tail, or anchored at one event (`+N new` below).

use std::collections::VecDeque;

use crate::domain::{Event, FieldErrors, MemberId};

/// Events kept for display; older ones are dropped but were counted.
pub const RING_CAPACITY: usize = 10_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Event type fragment, case-insensitive (`use` matches UseRequested and UseRejected).
    pub event_type: Option<String>,
    pub member: Option<MemberId>,
    /// The event types the fragment matches, worked out once when the filter is set.
    types: Vec<&'static str>,
}

impl EventFilter {
    /// Reads `member:7`, `type:Billed`, a bare number (member) or a bare word (type).
    pub fn parse(text: &str) -> Result<EventFilter, FieldErrors> {
        let mut f = EventFilter::default();
        let mut errs = FieldErrors::default();
        for word in text.split_whitespace() {
            match word.split_once(':') {
                Some(("member", v)) => f.member = errs.take(MemberId::parse("member", v)),
                Some(("type", v)) => f.event_type = Some(v.to_lowercase()),
                Some((k, _)) => errs.push(crate::domain::FieldError::new(
                    k,
                    "is not a filter: use type or member",
                )),
                None if word.bytes().all(|b| b.is_ascii_digit()) => {
                    f.member = errs.take(MemberId::parse("member", word))
                }
                None => f.event_type = Some(word.to_lowercase()),
            }
        }
        if let Some(t) = &f.event_type {
            f.types = crate::domain::EventBody::TYPES
                .into_iter()
                .filter(|ty| ty.to_lowercase().contains(t.as_str()))
                .collect();
        }
        if errs.is_empty() { Ok(f) } else { Err(errs) }
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.member.is_none_or(|m| e.body.member_id() == Some(m))
            && (self.event_type.is_none() || self.types.contains(&e.body.event_type()))
    }

    pub fn is_empty(&self) -> bool {
        self.member.is_none() && self.event_type.is_none()
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventsState {
    pub ring: VecDeque<Event>,
    /// Every event received since the console opened (never capped).
    pub received: u64,
    /// The highest offset seen: the follower resumes after it.
    pub last_offset: u64,
    /// Offsets that did not follow on from the previous one (should stay 0).
    pub gaps: u64,
    /// `None` follows the tail; `Some(offset)` holds the view at that event.
    pub anchor: Option<u64>,
    /// `received` when the view stopped following: the difference is `+N new`.
    pub received_at_anchor: u64,
    /// `p`: held by the user (as opposed to scrolled up).
    pub paused: bool,
    pub filter: EventFilter,
    pub filter_text: String,
    /// Set when the source has no event log (an original service without `/events`).
    pub unavailable: Option<String>,
    /// Events in the ring the filter matches (kept as events come and go).
    pub matched: usize,
}

impl EventsState {
    /// Appends a batch from the follower, counting every event, keeping the last
    /// `RING_CAPACITY`.
    pub fn absorb(&mut self, batch: Vec<Event>) {
        for e in batch {
            if e.offset <= self.last_offset {
                continue; // already seen (a resumed follower may repeat its last page)
            }
            if self.last_offset != 0 && e.offset != self.last_offset + 1 {
                self.gaps += 1;
            }
            self.last_offset = e.offset;
            self.received += 1;
            if self.ring.len() == RING_CAPACITY
                && let Some(old) = self.ring.pop_front()
                && self.filter.matches(&old)
            {
                self.matched -= 1;
            }
            if self.filter.matches(&e) {
                self.matched += 1;
            }
            self.ring.push_back(e);
        }
    }

    pub fn following(&self) -> bool {
        self.anchor.is_none()
    }

    pub fn new_since_anchor(&self) -> u64 {
        if self.anchor.is_some() {
            self.received - self.received_at_anchor
        } else {
            0
        }
    }

    /// Index in the ring of the newest event at or before `offset`.
    fn index_at(&self, offset: u64) -> Option<usize> {
        let i = self.ring.partition_point(|e| e.offset <= offset);
        i.checked_sub(1)
    }

    /// The events on screen, oldest first, the selected (anchor or tail) one last.
    pub fn window(&self, rows: usize) -> Vec<&Event> {
        let end = match self.anchor {
            None => self.ring.len(),
            // An anchor already dropped from the ring holds at the oldest event kept.
            Some(a) => self.index_at(a).map_or(self.ring.len().min(1), |i| i + 1),
        };
        let mut out: Vec<&Event> = Vec::with_capacity(rows);
        for e in self.ring.range(..end).rev() {
            if out.len() == rows {
                break;
            }
            if self.filter.matches(e) {
                out.push(e);
            }
        }
        out.reverse();
        out
    }

    pub fn selected(&self) -> Option<&Event> {
        self.window(1).into_iter().next()
    }

    /// Moves the anchor `n` matching events up (older, negative) or down (newer).
    pub fn scroll(&mut self, n: isize) {
        let Some(cur) = self.selected().map(|e| e.offset) else {
            return;
        };
        let idx = self.index_at(cur).unwrap_or(0);
        let mut target = cur;
        let mut left = n.unsigned_abs();
        if n < 0 {
            for e in self.ring.range(..idx).rev() {
                if left == 0 {
                    break;
                }
                if self.filter.matches(e) {
                    target = e.offset;
                    left -= 1;
                }
            }
        } else {
            for e in self.ring.range(idx + 1..) {
                if left == 0 {
                    break;
                }
                if self.filter.matches(e) {
                    target = e.offset;
                    left -= 1;
                }
            }
        }
        let newest = self
            .ring
            .iter()
            .rev()
            .find(|e| self.filter.matches(e))
            .map(|e| e.offset);
        if n > 0 && Some(target) == newest && !self.paused {
            self.follow();
        } else {
            self.hold_at(target);
        }
    }

    pub fn hold_at(&mut self, offset: u64) {
        if self.anchor.is_none() {
            self.received_at_anchor = self.received;
        }
        self.anchor = Some(offset);
    }

    pub fn follow(&mut self) {
        self.anchor = None;
        self.paused = false;
    }

    pub fn set_filter(&mut self, f: EventFilter) {
        self.matched = self.ring.iter().filter(|e| f.matches(e)).count();
        self.filter = f;
    }

    pub fn toggle_pause(&mut self) {
        if self.paused || self.anchor.is_some() {
            self.follow();
        } else {
            let tail = self
                .selected()
                .map(|e| e.offset)
                .unwrap_or(self.last_offset);
            self.hold_at(tail);
            self.paused = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventBody, MemberStatus};

    fn ev(offset: u64, member: u64) -> Event {
        Event {
            offset,
            timestamp: 0,
            body: EventBody::MemberSecession {
                member_id: MemberId(member),
                status: MemberStatus::Invalid,
            },
        }
    }

    #[test]
    fn every_event_is_counted_though_the_ring_is_bounded() {
        let mut s = EventsState::default();
        for chunk in 0..3u64 {
            let base = chunk * 5_000;
            s.absorb((base + 1..=base + 5_000).map(|o| ev(o, 1)).collect());
        }
        assert_eq!(s.received, 15_000);
        assert_eq!(s.ring.len(), RING_CAPACITY);
        assert_eq!(s.ring.front().unwrap().offset, 5_001);
        assert_eq!(s.gaps, 0);
        s.absorb(vec![ev(15_000, 1), ev(15_002, 1)]);
        assert_eq!(s.received, 15_001, "a repeated event is not counted twice");
        assert_eq!(s.gaps, 1);
    }

    #[test]
    fn scrolling_up_holds_the_view_and_counts_new_events() {
        let mut s = EventsState::default();
        s.absorb((1..=10).map(|o| ev(o, o % 2)).collect());
        s.scroll(-2);
        assert_eq!(s.anchor, Some(8));
        s.absorb((11..=14).map(|o| ev(o, 1)).collect());
        assert_eq!(s.new_since_anchor(), 4);
        assert_eq!(s.window(3).last().unwrap().offset, 8);
        s.follow();
        assert_eq!(s.window(1)[0].offset, 14);
        assert_eq!(s.new_since_anchor(), 0);
    }

    #[test]
    fn a_held_event_dropped_from_the_ring_holds_at_the_oldest_kept() {
        let mut s = EventsState::default();
        s.absorb((1..=10).map(|o| ev(o, 1)).collect());
        s.scroll(-9);
        assert_eq!(s.anchor, Some(1));
        s.absorb((11..=RING_CAPACITY as u64 + 5).map(|o| ev(o, 1)).collect());
        let w = s.window(3);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].offset, 6);
    }

    #[test]
    fn the_match_count_follows_the_ring() {
        let mut s = EventsState::default();
        s.absorb((1..=6).map(|o| ev(o, o % 3)).collect());
        s.set_filter(EventFilter::parse("member:2").unwrap());
        assert_eq!(s.matched, 2);
        s.absorb(vec![ev(7, 2), ev(8, 1)]);
        assert_eq!(s.matched, 3);
        s.absorb((9..=RING_CAPACITY as u64 + 8).map(|o| ev(o, 1)).collect());
        assert_eq!(s.matched, 0, "the matches left the ring");
    }

    #[test]
    fn the_filter_picks_by_member_or_type() {
        let mut s = EventsState::default();
        s.absorb((1..=6).map(|o| ev(o, o % 3)).collect());
        s.filter = EventFilter::parse("member:2").unwrap();
        let w: Vec<u64> = s.window(10).iter().map(|e| e.offset).collect();
        assert_eq!(w, vec![2, 5]);
        s.filter = EventFilter::parse("secession").unwrap();
        assert_eq!(s.window(10).len(), 6);
        s.filter = EventFilter::parse("billed").unwrap();
        assert!(s.window(10).is_empty());
        assert!(EventFilter::parse("colour:red").is_err());
    }
}
