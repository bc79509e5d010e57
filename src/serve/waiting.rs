//! A replica's queue of requests waiting to join its batch: the preempted ones first (the
//! newest preempted at the front), then those not yet started, in the order they came.
//!
//! A request not yet started is kept as its [`Attempt`] (56 bytes), not as a [`Sequence`]
//! (128 bytes): an overloaded ChatGPT-scale afternoon leaves tens of millions waiting, and
//! they are most of the memory a run takes.

use super::replica::{Attempt, Sequence};
use crate::workload::Request;
use std::collections::VecDeque;

/// The waiting queue.
#[derive(Clone, Debug, Default)]
pub(super) struct Waiting {
    /// Preempted sequences, to be recomputed, front first.
    resumed: VecDeque<Sequence>,
    /// Requests not yet started here, oldest first.
    fresh: VecDeque<Attempt>,
}

/// What the scheduler reads of the queue's front.
pub(super) struct Front<'a> {
    /// The request.
    pub request: &'a Request,
    /// Tokens it knows (prompt plus generated), all to be computed when it joins.
    pub known: u64,
}

impl Waiting {
    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.resumed.len() + self.fresh.len()
    }

    /// Queues a request at the back.
    pub fn push_back(&mut self, attempt: Attempt) {
        self.fresh.push_back(attempt);
    }

    /// Puts a preempted sequence at the front.
    pub fn push_front(&mut self, seq: Sequence) {
        self.resumed.push_front(seq);
    }

    /// The front of the queue.
    pub fn front(&self) -> Option<Front<'_>> {
        match self.resumed.front() {
            Some(seq) => Some(Front {
                request: &seq.request,
                known: seq.known,
            }),
            None => self.fresh.front().map(|attempt| Front {
                request: &attempt.request,
                known: attempt.request.prompt_tokens.into(),
            }),
        }
    }

    /// Takes the front of the queue out, as a sequence.
    pub fn pop_front(&mut self) -> Option<Sequence> {
        self.resumed
            .pop_front()
            .or_else(|| self.fresh.pop_front().map(Sequence::new))
    }

    /// Takes every request out, front first.
    pub fn drain(&mut self) -> impl Iterator<Item = Sequence> + '_ {
        let fresh = self.fresh.drain(..).map(Sequence::new);
        self.resumed.drain(..).chain(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SimTime;

    fn attempt(id: u64) -> Attempt {
        Request {
            id,
            arrival: SimTime::ZERO,
            prompt_tokens: 10 + id as u32,
            output_tokens: 5,
            prompt: None,
        }
        .into()
    }

    #[test]
    fn preempted_sequences_come_before_requests_not_started() {
        let mut queue = Waiting::default();
        queue.push_back(attempt(0));
        queue.push_back(attempt(1));
        let mut preempted = Sequence::new(attempt(2));
        preempted.known = 40;
        queue.push_front(preempted);
        queue.push_front(Sequence::new(attempt(3)));
        assert_eq!(queue.len(), 4);
        let front = queue.front().expect("a front");
        assert_eq!((front.request.id, front.known), (3, 13));
        assert_eq!(queue.pop_front().map(|s| s.request.id), Some(3));
        assert_eq!(queue.front().map(|f| f.known), Some(40));
        let ids: Vec<u64> = queue.drain().map(|s| s.request.id).collect();
        assert_eq!(ids, [2, 0, 1]);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn a_request_not_started_waits_in_less_than_half_the_room_of_a_sequence() {
        assert_eq!(std::mem::size_of::<Attempt>(), 56);
        assert_eq!(std::mem::size_of::<Sequence>(), 128);
    }
}
