//! The traffic: when requests arrive and how long their prompts and outputs are.

pub mod arrivals;
pub mod lengths;
pub mod trace;

pub use arrivals::{ArrivalProcess, DailyProfile};

pub use lengths::{LengthShape, QuantileKnots, TokenLengths};
pub use trace::{Replay, Trace};

use crate::engine::rng::{Stream, Streams};
use crate::engine::time::SimTime;
use crate::units::Seconds;
use rand::rngs::Xoshiro256PlusPlus;
use std::num::NonZeroU32;

/// One request as it reaches the datacenter edge: 32 bytes, copied through queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Sequence number in arrival order, from 0.
    pub id: u64,
    /// Arrival time.
    pub arrival: SimTime,
    /// Prompt length in tokens.
    pub prompt_tokens: u32,
    /// Output length in tokens (the request stops after this many).
    pub output_tokens: u32,
    /// Where its prompt's block ids are, for a request replayed from a trace that has them
    /// (Mooncake's `hash_ids`); `None` for drawn requests, whose prompts share nothing.
    pub prompt: Option<PromptRef>,
}

/// A handle to a request's prompt blocks: the row of the replayed trace whose block ids it
/// carries ([`Trace::prompt_blocks`]), and the instance of the trace it was played from — a
/// copy superposed by a rate scale, or a later pass of a looped trace. Blocks of different
/// instances are different blocks: a copy stands for other users, whose conversations are
/// their own, so that scaling or looping a trace does not make its prompts hit each other.
///
/// Eight bytes (the row is stored plus one, so that `Option<PromptRef>` is eight bytes too),
/// to keep [`Request`] small; the ids stay in the trace, shared by every run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromptRef {
    row_plus_one: NonZeroU32,
    instance: u32,
}

impl PromptRef {
    /// Row `row` of the trace played as instance `instance`; `None` for a row past the
    /// 4,294,967,294th, which a handle cannot name (such a request caches nothing).
    pub fn new(row: usize, instance: u32) -> Option<PromptRef> {
        let row_plus_one = u32::try_from(row).ok()?.checked_add(1)?;
        Some(PromptRef {
            row_plus_one: NonZeroU32::new(row_plus_one)?,
            instance,
        })
    }

    /// The trace row.
    pub fn row(self) -> usize {
        (self.row_plus_one.get() - 1) as usize
    }

    /// The instance of the trace (copy and pass) the request was played from.
    pub fn instance(self) -> u32 {
        self.instance
    }
}

/// Seconds a closed-loop client waits after an error before its next request, as load
/// generators back off; it also keeps a fleet that refuses everything from stalling the clock.
pub const ERROR_BACKOFF: f64 = 1.0;

/// Where requests come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// An open stream at a rate that follows the hour of the day: Poisson, or with Gamma
    /// gaps of another coefficient of variation.
    Open {
        /// Mean arrival rate over a day, per second.
        mean_rate: f64,
        /// Shape of the day.
        profile: DailyProfile,
        /// Coefficient of variation of the gaps: 1 for Poisson.
        gap_cv: f64,
    },
    /// A closed loop of clients, as load generators such as vLLM's benchmark with
    /// `--max-concurrency` run: each client sends its next request `think` seconds after its
    /// last one ends (completed, refused or failed), so `clients` requests are in the system
    /// at any time but for think time.
    Closed {
        /// Clients.
        clients: u64,
        /// Pause between a response and the client's next request.
        think: f64,
    },
    /// A trace replayed: its arrivals, each with the trace's lengths.
    Trace(Replay),
}

/// The workload of a scenario, resolved.
#[derive(Clone, Debug)]
pub struct Workload {
    /// How requests arrive.
    pub arrivals: Arrivals,
    /// Prompt lengths: drawn for each request, or for a replayed trace the trace's own
    /// (each request carries its length; this is their distribution, for closed forms).
    pub prompt_tokens: TokenLengths,
    /// Output lengths, as the prompt lengths.
    pub output_tokens: TokenLengths,
}

impl std::fmt::Display for Arrivals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |f: &mut std::fmt::Formatter<'_>, mean_rate: f64| {
            write!(
                f,
                "{mean_rate:.2} requests/s on average ({:.0} per day)",
                mean_rate * 86_400.0
            )
        };
        match self {
            Arrivals::Open {
                mean_rate, gap_cv, ..
            } => {
                rate(f, *mean_rate)?;
                if *gap_cv != 1.0 {
                    write!(f, ", gaps with CV {gap_cv}")?;
                }
                Ok(())
            }
            Arrivals::Closed { clients, think } => {
                write!(f, "closed loop of {clients} clients, {think} s think time")
            }
            Arrivals::Trace(replay) => {
                let trace = replay.trace();
                write!(
                    f,
                    "{} ({} trace, {} requests over {:.1} min",
                    trace.name(),
                    trace.format(),
                    trace.len(),
                    trace.span_s() / 60.0
                )?;
                if replay.time_scale() != 1.0 {
                    write!(f, ", time ×{}", replay.time_scale())?;
                }
                if replay.rate_scale() != 1.0 {
                    write!(f, ", rate ×{}", replay.rate_scale())?;
                }
                match (replay.looped(), replay.profile()) {
                    (true, Some(_)) => f.write_str(", looped through the daily profile")?,
                    (true, None) => f.write_str(", looped")?,
                    _ => {}
                }
                f.write_str(") replayed: ")?;
                rate(f, replay.mean_rate())
            }
        }
    }
}

impl Arrivals {
    /// The same arrivals with `factor` times the load: the mean rate of an open stream
    /// scaled, or the clients of a closed loop scaled and rounded (at least one).
    pub fn scaled(&self, factor: f64) -> Arrivals {
        match self {
            Arrivals::Open {
                mean_rate,
                profile,
                gap_cv,
            } => Arrivals::Open {
                mean_rate: mean_rate * factor,
                profile: profile.clone(),
                gap_cv: *gap_cv,
            },
            Arrivals::Closed { clients, think } => Arrivals::Closed {
                clients: ((*clients as f64 * factor).round() as u64).max(1),
                think: *think,
            },
            Arrivals::Trace(replay) => Arrivals::Trace(replay.scaled(factor)),
        }
    }
}

impl Workload {
    /// Mean arrival rate, per second: of an open stream over a day, of a replayed trace
    /// while it plays; `None` for a closed loop, whose rate is whatever the fleet sustains.
    pub fn mean_rate(&self) -> Option<f64> {
        match &self.arrivals {
            Arrivals::Open { mean_rate, .. } => Some(*mean_rate),
            Arrivals::Closed { .. } => None,
            Arrivals::Trace(replay) => Some(replay.mean_rate()),
        }
    }

    /// The replayed trace, if the requests come from one.
    pub fn replay(&self) -> Option<&Replay> {
        match &self.arrivals {
            Arrivals::Trace(replay) => Some(replay),
            _ => None,
        }
    }
}

/// Where a run's requests come from.
#[derive(Debug)]
enum Origin {
    /// Drawn arrivals.
    Open(ArrivalProcess),
    /// Clients in a closed loop, with their think time.
    Closed { clients: u64, think: f64 },
    /// A trace replayed.
    Trace(trace::Player),
}

/// Draws the requests of one run in arrival order, each from its own random streams so
/// that changing one distribution leaves the others' draws as they were.
#[derive(Debug)]
pub struct RequestSource {
    origin: Origin,
    prompt_tokens: TokenLengths,
    output_tokens: TokenLengths,
    arrival_rng: Xoshiro256PlusPlus,
    prompt_rng: Xoshiro256PlusPlus,
    output_rng: Xoshiro256PlusPlus,
    next_id: u64,
}

impl RequestSource {
    /// The requests of `workload` for the run whose streams are `streams`.
    pub fn new(workload: &Workload, streams: &Streams) -> RequestSource {
        let origin = match &workload.arrivals {
            Arrivals::Open {
                mean_rate,
                profile,
                gap_cv,
            } => Origin::Open(ArrivalProcess::new(*mean_rate, profile.clone(), *gap_cv)),
            Arrivals::Closed { clients, think } => Origin::Closed {
                clients: *clients,
                think: *think,
            },
            Arrivals::Trace(replay) => {
                Origin::Trace(replay.player(streams.rng(Stream::TraceSampling)))
            }
        };
        RequestSource {
            origin,
            prompt_tokens: workload.prompt_tokens.clone(),
            output_tokens: workload.output_tokens.clone(),
            arrival_rng: streams.rng(Stream::Arrivals),
            prompt_rng: streams.rng(Stream::PromptLengths),
            output_rng: streams.rng(Stream::OutputLengths),
            next_id: 0,
        }
    }

    /// Whether requests come from a closed loop of clients.
    pub fn is_closed(&self) -> bool {
        matches!(self.origin, Origin::Closed { .. })
    }

    /// The first requests of a closed loop: one per client, at time zero.
    pub fn initial_clients(&mut self) -> Vec<Request> {
        let clients = match self.origin {
            Origin::Closed { clients, .. } => clients,
            _ => 0,
        };
        (0..clients).map(|_| self.request(SimTime::ZERO)).collect()
    }

    /// A closed-loop client's next request after its last one ended at `ended`, if it falls
    /// before `horizon`: `think` seconds later if it was served, at least `ERROR_BACKOFF`
    /// later if it was refused or failed, so clients cannot spin on a fleet that is down.
    pub fn follow_up(&mut self, ended: SimTime, served: bool, horizon: SimTime) -> Option<Request> {
        let Origin::Closed { think, .. } = self.origin else {
            return None;
        };
        let pause = if served {
            think
        } else {
            think.max(ERROR_BACKOFF)
        };
        let arrival = ended + Seconds(pause);
        (arrival < horizon).then(|| self.request(arrival))
    }

    /// The next request of an open stream or a replayed trace arriving before `horizon`, if
    /// any.
    pub fn next_before(&mut self, horizon: SimTime) -> Option<Request> {
        match &mut self.origin {
            Origin::Open(process) => {
                let arrival = SimTime::from_secs(process.next(&mut self.arrival_rng)?);
                (arrival < horizon).then(|| self.request(arrival))
            }
            Origin::Closed { .. } => None,
            Origin::Trace(player) => {
                let played = player.next_before(horizon.secs())?;
                let arrival = SimTime::from_secs(played.at_s);
                if arrival >= horizon {
                    return None;
                }
                let trace = player.trace();
                let record = trace.record(played.index);
                let prompt = trace
                    .has_prompt_blocks()
                    .then(|| PromptRef::new(played.index, played.instance))
                    .flatten();
                let mut request =
                    self.numbered(arrival, record.prompt_tokens, record.output_tokens);
                request.prompt = prompt;
                Some(request)
            }
        }
    }

    /// A request arriving at `arrival`, its lengths drawn.
    fn request(&mut self, arrival: SimTime) -> Request {
        let prompt = self.prompt_tokens.sample(&mut self.prompt_rng);
        let output = self.output_tokens.sample(&mut self.output_rng);
        self.numbered(arrival, prompt, output)
    }

    /// A request with the next id.
    fn numbered(&mut self, arrival: SimTime, prompt_tokens: u32, output_tokens: u32) -> Request {
        let request = Request {
            id: self.next_id,
            arrival,
            prompt_tokens,
            output_tokens,
            prompt: None,
        };
        self.next_id += 1;
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_with_its_prompt_handle_stays_32_bytes() {
        // Requests are copied through event queues and replica queues: the handle to the
        // prompt's blocks costs one word, its absence none more.
        assert_eq!(std::mem::size_of::<Option<PromptRef>>(), 8);
        assert_eq!(std::mem::size_of::<Request>(), 32);
        let handle = PromptRef::new(41, 3).unwrap();
        assert_eq!((handle.row(), handle.instance()), (41, 3));
        assert_eq!(PromptRef::new(u32::MAX as usize, 0), None);
    }
}
