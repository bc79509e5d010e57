//! The traffic: when requests arrive and how long their prompts and outputs are.

pub mod arrivals;
pub mod lengths;

pub use arrivals::{ArrivalProcess, DailyProfile};
pub use lengths::{LengthShape, TokenLengths};

use crate::engine::rng::{Stream, Streams};
use crate::engine::time::SimTime;
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

/// The workload of a scenario, resolved.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Mean arrival rate over a day, per second.
    pub mean_rate: f64,
    /// Shape of the day.
    pub profile: DailyProfile,
    /// Prompt lengths.
    pub prompt_tokens: TokenLengths,
    /// Output lengths.
    pub output_tokens: TokenLengths,
}

/// Draws the requests of one run in arrival order, each from its own random streams so
/// that changing one distribution leaves the others' draws as they were.
#[derive(Debug)]
pub struct RequestSource {
    arrivals: ArrivalProcess,
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
        RequestSource {
            arrivals: ArrivalProcess::new(workload.mean_rate, workload.profile.clone()),
            prompt_tokens: workload.prompt_tokens.clone(),
            output_tokens: workload.output_tokens.clone(),
            arrival_rng: streams.rng(Stream::Arrivals),
            prompt_rng: streams.rng(Stream::PromptLengths),
            output_rng: streams.rng(Stream::OutputLengths),
            next_id: 0,
        }
    }

    /// The next request arriving before `horizon`, if any.
    pub fn next_before(&mut self, horizon: SimTime) -> Option<Request> {
        let t = self.arrivals.next(&mut self.arrival_rng)?;
        let arrival = SimTime::from_secs(t);
        if arrival >= horizon {
            return None;
        }
        let request = Request {
            id: self.next_id,
            arrival,
            prompt_tokens: self.prompt_tokens.sample(&mut self.prompt_rng),
            output_tokens: self.output_tokens.sample(&mut self.output_rng),
        };
        self.next_id += 1;
        Some(request)
    }
}
