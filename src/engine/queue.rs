//! The event queue: a binary heap ordered by `(time, sequence)`, so events at the same time
//! pop in the order they were scheduled and every run is reproducible; beside it, one
//! pending event per owner (a replica's step) in a [`Tournament`], taken in the same order.

use super::time::SimTime;
use super::tournament::Tournament;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// An event with its time and insertion sequence number.
#[derive(Debug)]
struct Scheduled<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// Where an event stands in the queue's order: by time, then by rank and scheduling order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventKey {
    /// When it happens.
    pub time: SimTime,
    seq: u64,
}

impl EventKey {
    /// The key as one number that sorts as the key does: time in the high half.
    pub fn packed(self) -> u128 {
        (u128::from(self.time.0) << 64) | u128::from(self.seq)
    }

    /// The key [`EventKey::packed`] made `packed` of.
    pub fn unpacked(packed: u128) -> EventKey {
        EventKey {
            time: SimTime((packed >> 64) as u64),
            seq: packed as u64,
        }
    }
}

/// The high bit of the sequence number: events pushed with [`EventQueue::push`] sort after
/// those pushed with [`EventQueue::push_first`] at the same time.
const LATER: u64 = 1 << 63;

/// Pending events, earliest first; at equal times, events pushed with [`EventQueue::push_first`]
/// or put with [`EventQueue::put_first`] before the others, and each kind in scheduling order.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    /// The owners' pending events, each at its owner's key in `owned`.
    owned_events: Vec<Option<E>>,
    owned: Tournament,
    /// Owners with an event pending.
    owned_pending: usize,
    /// The owner whose event was taken last, still at its key in `owned`: its owner most
    /// often puts its next event before anything else is asked, and one replay of its path
    /// then serves for both.
    vacated: Option<usize>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::with_owners(0)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty queue with `owners` owners, each of which may have one event pending
    /// ([`EventQueue::put_first`]).
    pub fn with_owners(owners: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            owned_events: std::iter::repeat_with(|| None).take(owners).collect(),
            owned: Tournament::new(owners),
            owned_pending: 0,
            vacated: None,
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: SimTime, event: E) {
        self.push_with(time, LATER, event);
    }

    /// Schedules `event` at `time`, ahead of every event pushed with [`EventQueue::push`] at
    /// the same time: the end of a step comes before an arrival at the same nanosecond,
    /// whichever was scheduled first, so that stepping one step at a time and many steps as
    /// one event agree on which step a request joins.
    pub fn push_first(&mut self, time: SimTime, event: E) {
        self.push_with(time, 0, event);
    }

    /// Schedules `owner`'s one pending event at `time`, ordered as [`EventQueue::push_first`]
    /// orders it; returns the event it replaces, which will not come.
    pub fn put_first(&mut self, owner: usize, time: SimTime, event: E) -> Option<E> {
        let seq = self.take_seq(0);
        if self.vacated == Some(owner) {
            self.vacated = None;
        } else {
            self.settle_vacated();
        }
        self.owned.set(owner, Some(EventKey { time, seq }));
        let replaced = self.owned_events[owner].replace(event);
        self.owned_pending += usize::from(replaced.is_none());
        replaced
    }

    fn push_with(&mut self, time: SimTime, rank: u64, event: E) {
        let seq = self.take_seq(rank);
        self.heap.push(Reverse(Scheduled { time, seq, event }));
    }

    fn take_seq(&mut self, rank: u64) -> u64 {
        let seq = self.next_seq | rank;
        self.next_seq += 1;
        seq
    }

    /// The place among this queue's events of an event kept outside it, at `time`, as if it
    /// were pushed with [`EventQueue::push`] now: it comes after every event with a smaller
    /// key ([`EventQueue::peek_key`]) and before every later one.
    pub fn key_later(&mut self, time: SimTime) -> EventKey {
        EventKey {
            time,
            seq: self.take_seq(LATER),
        }
    }

    /// Takes the last owner's taken event out of `owned`.
    fn settle_vacated(&mut self) {
        if let Some(owner) = self.vacated.take() {
            self.owned.set(owner, None);
        }
    }

    /// The key of the earliest event, if any.
    pub fn peek_key(&mut self) -> Option<EventKey> {
        self.settle_vacated();
        let heap = self.heap_key();
        match self.owned.earliest() {
            Some((_, owned)) => Some(heap.map_or(owned, |heap| heap.min(owned))),
            None => heap,
        }
    }

    fn heap_key(&self) -> Option<EventKey> {
        self.heap.peek().map(|Reverse(s)| EventKey {
            time: s.time,
            seq: s.seq,
        })
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.settle_vacated();
        let owned = if self.owned_pending > 0 {
            self.owned.earliest()
        } else {
            None
        };
        match owned {
            Some((owner, key)) if self.heap_key().is_none_or(|heap| key < heap) => {
                self.vacated = Some(owner);
                self.owned_pending -= 1;
                let event = self.owned_events[owner].take().expect("a pending event");
                Some((key.time, event))
            }
            _ => self.heap.pop().map(|Reverse(s)| (s.time, s.event)),
        }
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.peek_key().map(|key| key.time)
    }

    /// Events pending.
    pub fn len(&self) -> usize {
        self.heap.len() + self.owned_pending
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), "c");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "d");
        q.push(SimTime(3), "b");
        assert_eq!(q.len(), 4);
        assert_eq!(q.peek_time(), Some(SimTime(1)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_key_taken_for_an_event_outside_the_queue_orders_it_as_a_push_would() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), "before");
        let outside = q.key_later(SimTime(5));
        q.push(SimTime(5), "after");
        q.push_first(SimTime(5), "step end");
        let mut order = Vec::new();
        let mut pending = Some(outside);
        while let Some(key) = q.peek_key() {
            if pending.is_some_and(|p| p < key) {
                order.push("outside");
                pending = None;
            }
            order.push(q.pop().expect("an event").1);
        }
        assert_eq!(order, ["step end", "before", "outside", "after"]);
    }

    #[test]
    fn owners_events_take_their_place_among_pushed_events_and_replace_their_last() {
        let mut q = EventQueue::with_owners(3);
        q.push(SimTime(5), "arrival");
        assert!(q.put_first(0, SimTime(9), "replaced").is_none());
        q.put_first(1, SimTime(5), "step end 1");
        q.push_first(SimTime(5), "pushed step end");
        q.put_first(2, SimTime(2), "step end 2");
        assert_eq!(q.put_first(0, SimTime(4), "step end 0"), Some("replaced"));
        assert_eq!(q.len(), 5);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            [
                "step end 2",
                "step end 0",
                "step end 1",
                "pushed step end",
                "arrival"
            ]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn events_pushed_first_lead_their_instant() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), "arrival");
        q.push_first(SimTime(5), "step end");
        q.push(SimTime(4), "earlier");
        q.push_first(SimTime(5), "another step end");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            ["earlier", "step end", "another step end", "arrival"]
        );
    }
}
