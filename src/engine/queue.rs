//! The event queue: a binary heap ordered by `(time, sequence)`, so events at the same time
//! pop in the order they were scheduled and every run is reproducible.

use super::time::SimTime;
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

/// The high bit of the sequence number: events pushed with [`EventQueue::push`] sort after
/// those pushed with [`EventQueue::push_first`] at the same time.
const LATER: u64 = 1 << 63;

/// Pending events, earliest first; at equal times, events pushed with [`EventQueue::push_first`]
/// before the others, and each kind in scheduling order.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
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

    fn push_with(&mut self, time: SimTime, rank: u64, event: E) {
        let seq = self.next_seq | rank;
        self.next_seq += 1;
        self.heap.push(Reverse(Scheduled { time, seq, event }));
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|Reverse(s)| (s.time, s.event))
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(s)| s.time)
    }

    /// Events pending.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
