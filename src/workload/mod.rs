//! The traffic: when requests arrive and how long their prompts and outputs are.

pub mod arrivals;
pub mod lengths;

pub use arrivals::{ArrivalProcess, DailyProfile};

pub use lengths::{LengthShape, TokenLengths};

use crate::engine::rng::{Stream, Streams};
use crate::engine::time::SimTime;
use crate::units::Seconds;
use rand::rngs::Xoshiro256PlusPlus;

/// One request as it reaches the datacenter edge.
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
}

/// Seconds a closed-loop client waits after an error before its next request, as load
/// generators back off; it also keeps a fleet that refuses everything from stalling the clock.
pub const ERROR_BACKOFF: f64 = 1.0;

/// Where requests come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// An open stream: Poisson arrivals at a rate that follows the hour of the day.
    Open {
        /// Mean arrival rate over a day, per second.
        mean_rate: f64,
        /// Shape of the day.
        profile: DailyProfile,
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
}

/// The workload of a scenario, resolved.
#[derive(Clone, Debug)]
pub struct Workload {
    /// How requests arrive.
    pub arrivals: Arrivals,
    /// Prompt lengths.
    pub prompt_tokens: TokenLengths,
    /// Output lengths.
    pub output_tokens: TokenLengths,
}

impl std::fmt::Display for Arrivals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arrivals::Open { mean_rate, .. } => write!(
                f,
                "{mean_rate:.2} requests/s on average ({:.0} per day)",
                mean_rate * 86_400.0
            ),
            Arrivals::Closed { clients, think } => {
                write!(f, "closed loop of {clients} clients, {think} s think time")
            }
        }
    }
}

impl Arrivals {
    /// The same arrivals with `factor` times the load: the mean rate of an open stream
    /// scaled, or the clients of a closed loop scaled and rounded (at least one).
    pub fn scaled(&self, factor: f64) -> Arrivals {
        match self {
            Arrivals::Open { mean_rate, profile } => Arrivals::Open {
                mean_rate: mean_rate * factor,
                profile: profile.clone(),
            },
            Arrivals::Closed { clients, think } => Arrivals::Closed {
                clients: ((*clients as f64 * factor).round() as u64).max(1),
                think: *think,
            },
        }
    }
}

impl Workload {
    /// Mean arrival rate over a day, per second, of an open stream; `None` for a closed loop,
    /// whose rate is whatever the fleet sustains.
    pub fn mean_rate(&self) -> Option<f64> {
        match self.arrivals {
            Arrivals::Open { mean_rate, .. } => Some(mean_rate),
            Arrivals::Closed { .. } => None,
        }
    }
}

/// Draws the requests of one run in arrival order, each from its own random streams so
/// that changing one distribution leaves the others' draws as they were.
#[derive(Debug)]
pub struct RequestSource {
    arrivals: Option<ArrivalProcess>,
    closed: Option<(u64, f64)>,
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
        let (arrivals, closed) = match &workload.arrivals {
            Arrivals::Open { mean_rate, profile } => {
                (Some(ArrivalProcess::new(*mean_rate, profile.clone())), None)
            }
            Arrivals::Closed { clients, think } => (None, Some((*clients, *think))),
        };
        RequestSource {
            arrivals,
            closed,
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
        self.closed.is_some()
    }

    /// The first requests of a closed loop: one per client, at time zero.
    pub fn initial_clients(&mut self) -> Vec<Request> {
        let clients = self.closed.map_or(0, |(clients, _)| clients);
        (0..clients).map(|_| self.request(SimTime::ZERO)).collect()
    }

    /// A closed-loop client's next request after its last one ended at `ended`, if it falls
    /// before `horizon`: `think` seconds later if it was served, at least `ERROR_BACKOFF`
    /// later if it was refused or failed, so clients cannot spin on a fleet that is down.
    pub fn follow_up(&mut self, ended: SimTime, served: bool, horizon: SimTime) -> Option<Request> {
        let (_, think) = self.closed?;
        let pause = if served {
            think
        } else {
            think.max(ERROR_BACKOFF)
        };
        let arrival = ended + Seconds(pause);
        (arrival < horizon).then(|| self.request(arrival))
    }

    /// The next request of an open stream arriving before `horizon`, if any.
    pub fn next_before(&mut self, horizon: SimTime) -> Option<Request> {
        let t = self.arrivals.as_mut()?.next(&mut self.arrival_rng)?;
        let arrival = SimTime::from_secs(t);
        if arrival >= horizon {
            return None;
        }
        Some(self.request(arrival))
    }

    /// A request arriving at `arrival`, its lengths drawn.
    fn request(&mut self, arrival: SimTime) -> Request {
        let request = Request {
            id: self.next_id,
            arrival,
            prompt_tokens: self.prompt_tokens.sample(&mut self.prompt_rng),
            output_tokens: self.output_tokens.sample(&mut self.output_rng),
        };
        self.next_id += 1;
        request
    }
}
