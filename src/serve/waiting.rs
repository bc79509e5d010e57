//! A replica's queue of requests waiting to join its batch: the preempted ones first (the
//! newest preempted at the front), then those not yet started, in the order they came.
//!
//! A request not yet started waits in 24 bytes (its id, arrival and lengths), not as a
//! 128-byte [`Sequence`]: an overloaded ChatGPT-scale afternoon leaves tens of millions
//! waiting, and they are most of the memory a run takes. What only some carry — a replayed
//! prompt's blocks, retries after a failure, a first token already seen — waits beside them,
//! in a queue of its own in the same order.

use super::fifo::Fifo;
use super::replica::{Attempt, Sequence};
use crate::engine::time::SimTime;
use crate::workload::{PromptRef, Request};
use std::collections::VecDeque;

/// The waiting queue.
#[derive(Clone, Debug, Default)]
pub(super) struct Waiting {
    /// Preempted sequences, to be recomputed, front first.
    resumed: VecDeque<Sequence>,
    /// Requests not yet started here, oldest first.
    fresh: Fifo<Queued>,
    /// The extras of those of them that have some, in the same order.
    extras: Fifo<Extras>,
}

/// A request not yet started, as it waits.
#[derive(Clone, Copy, Debug)]
struct Queued {
    /// Its id, with [`HAS_EXTRAS`] set when its [`Extras`] wait beside it.
    id: u64,
    arrival: SimTime,
    prompt_tokens: u32,
    output_tokens: u32,
}

/// The bit of a queued id that says its request has extras (ids count requests, far below).
const HAS_EXTRAS: u64 = 1 << 63;

/// What a waiting request carries beyond its id, arrival and lengths.
#[derive(Clone, Copy, Debug)]
struct Extras {
    prompt: Option<PromptRef>,
    retries: u32,
    first_token: Option<SimTime>,
}

/// What the scheduler reads of the queue's front.
pub(super) struct Front {
    /// The request.
    pub request: Request,
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
        let Attempt {
            request,
            retries,
            first_token,
        } = attempt;
        debug_assert!(request.id & HAS_EXTRAS == 0);
        let extras = request.prompt.is_some() || retries > 0 || first_token.is_some();
        if extras {
            self.extras.push_back(Extras {
                prompt: request.prompt,
                retries,
                first_token,
            });
        }
        self.fresh.push_back(Queued {
            id: request.id | if extras { HAS_EXTRAS } else { 0 },
            arrival: request.arrival,
            prompt_tokens: request.prompt_tokens,
            output_tokens: request.output_tokens,
        });
    }

    /// Puts a preempted sequence at the front.
    pub fn push_front(&mut self, seq: Sequence) {
        self.resumed.push_front(seq);
    }

    /// The front of the queue.
    pub fn front(&self) -> Option<Front> {
        match self.resumed.front() {
            Some(seq) => Some(Front {
                request: seq.request,
                known: seq.known,
            }),
            None => self.fresh.front().map(|&queued| {
                let extras =
                    (queued.id & HAS_EXTRAS != 0).then(|| *self.extras.front().expect("extras"));
                let request = attempt(queued, extras).request;
                Front {
                    request,
                    known: request.prompt_tokens.into(),
                }
            }),
        }
    }

    /// Takes the front of the queue out, as a sequence.
    pub fn pop_front(&mut self) -> Option<Sequence> {
        if let Some(seq) = self.resumed.pop_front() {
            return Some(seq);
        }
        let queued = self.fresh.pop_front()?;
        let extras =
            (queued.id & HAS_EXTRAS != 0).then(|| self.extras.pop_front().expect("extras"));
        Some(Sequence::new(attempt(queued, extras)))
    }

    /// Takes every request out, front first.
    pub fn drain(&mut self) -> impl Iterator<Item = Sequence> + '_ {
        let mut extras = self.extras.drain();
        let fresh = self.fresh.drain().map(move |queued| {
            let own = (queued.id & HAS_EXTRAS != 0).then(|| extras.next().expect("extras"));
            Sequence::new(attempt(queued, own))
        });
        self.resumed.drain(..).chain(fresh)
    }
}

/// The attempt a queued request and its extras, if any, stand for.
fn attempt(queued: Queued, extras: Option<Extras>) -> Attempt {
    let extras = extras.unwrap_or(Extras {
        prompt: None,
        retries: 0,
        first_token: None,
    });
    Attempt {
        request: Request {
            id: queued.id & !HAS_EXTRAS,
            arrival: queued.arrival,
            prompt_tokens: queued.prompt_tokens,
            output_tokens: queued.output_tokens,
            prompt: extras.prompt,
        },
        retries: extras.retries,
        first_token: extras.first_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: u64) -> Attempt {
        Request {
            id,
            arrival: SimTime(1_000 + id),
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
    fn requests_come_back_whole_with_their_extras_in_order() {
        let with_extras = |id: u64| Attempt {
            request: Request {
                prompt: PromptRef::new(id as usize, 2),
                ..attempt(id).request
            },
            retries: id as u32,
            first_token: Some(SimTime(7 * id)),
        };
        let sent = [
            attempt(0),
            with_extras(1),
            attempt(2),
            with_extras(3),
            with_extras(4),
        ];
        let mut queue = Waiting::default();
        for a in sent {
            queue.push_back(a);
        }
        assert_eq!(queue.front().map(|f| f.request), Some(sent[0].request));
        let first = queue.pop_front().expect("a request");
        assert_eq!(queue.front().map(|f| f.request), Some(sent[1].request));
        let out = |seq: Sequence| Attempt {
            request: seq.request,
            retries: seq.retries,
            first_token: seq.first_token,
        };
        let mut back = vec![out(first), out(queue.pop_front().expect("a request"))];
        back.extend(queue.drain().map(out));
        assert_eq!(back, sent);
    }

    #[test]
    fn a_request_not_started_waits_in_24_bytes() {
        assert_eq!(std::mem::size_of::<Queued>(), 24);
        assert_eq!(std::mem::size_of::<Sequence>(), 128);
    }
}
