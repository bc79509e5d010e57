//! A trace replayed: scaled in time, thinned or superposed in rate, looped through the
//! horizon, its speed following the daily profile.
//!
//! - **Time scale** `s` multiplies every timestamp: 2 plays the trace at half speed, 0.5 at
//!   twice the speed (the gaps shrink, the bursts with them).
//! - **Rate scale** `k`: ⌈k⌉ copies of the trace play together. Copy `j` is shifted by
//!   `j/⌈k⌉` of the trace's period `P` (its span plus one mean gap), cyclically: a request at
//!   `t` plays at `t + jP/⌈k⌉`, less `P` if that passes the period. The copies keep their
//!   bursts but place them at different moments, as independent groups of users would, and
//!   stay within the trace's period, so a replay of `k` times the rate spans the same time.
//!   The first ⌊k⌋ copies play whole; the last, when `k` is not whole, keeps each request
//!   with probability `k − ⌊k⌋` (for `k < 1`, the one copy keeps each with probability `k`).
//!   The draws come from the run's own stream, so runs differ and each is reproducible.
//! - **Looping** repeats the trace every period until the horizon. With a daily profile,
//!   the replay is **time-warped**: trace time passes `w_h` times as fast as the clock in hour
//!   `h` (weights of mean 1), so the busiest hour plays the trace fastest, a day carries the
//!   trace's mean rate, and every request is replayed, with its gaps (and the coefficient of
//!   variation of the gaps within an hour) intact.

use super::Trace;
use crate::workload::DailyProfile;
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;

/// The largest rate scale: each copy of the trace is a cursor on a heap.
pub const MAX_RATE_SCALE: f64 = 10_000.0;

/// Seconds in an hour.
const HOUR: f64 = 3600.0;

/// How a trace is replayed.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    trace: Arc<Trace>,
    time_scale: f64,
    rate_scale: f64,
    looped: bool,
    profile: Option<DailyProfile>,
}

impl Replay {
    /// `trace` with its timestamps multiplied by `time_scale` and its rate by `rate_scale`
    /// (both positive; the rate scale at most [`MAX_RATE_SCALE`]), once or, `looped`, until
    /// the horizon, time-warped by `profile` when one is given (only when looped).
    pub fn new(
        trace: Arc<Trace>,
        time_scale: f64,
        rate_scale: f64,
        looped: bool,
        profile: Option<DailyProfile>,
    ) -> Replay {
        Replay {
            trace,
            time_scale,
            rate_scale,
            looped,
            profile: profile.filter(|_| looped),
        }
    }

    /// The trace.
    pub fn trace(&self) -> &Arc<Trace> {
        &self.trace
    }

    /// Multiplier of the timestamps.
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// Multiplier of the rate.
    pub fn rate_scale(&self) -> f64 {
        self.rate_scale
    }

    /// Whether the trace repeats until the horizon.
    pub fn looped(&self) -> bool {
        self.looped
    }

    /// The daily profile a looped replay follows, if any.
    pub fn profile(&self) -> Option<&DailyProfile> {
        self.profile.as_ref()
    }

    /// The same replay at `factor` times the rate.
    pub fn scaled(&self, factor: f64) -> Replay {
        Replay {
            rate_scale: self.rate_scale * factor,
            ..self.clone()
        }
    }

    /// Seconds one pass of the replay takes (before any time warp).
    pub fn period_s(&self) -> f64 {
        self.trace.period_s() * self.time_scale
    }

    /// The mean arrival rate while the trace plays, per second: its requests per period
    /// (over a day for a looped trace with a profile, whose weights have mean 1). A trace
    /// played once offers nothing after its period.
    pub fn mean_rate(&self) -> f64 {
        self.trace.len() as f64 * self.rate_scale / self.period_s()
    }

    /// The requests of one run, drawing its thinning from `rng`.
    pub fn player(&self, rng: Xoshiro256PlusPlus) -> Player {
        let copies = self.rate_scale.ceil().max(1.0) as u32;
        let whole = self.rate_scale.floor() as u32;
        let period = self.trace.period_s();
        let times = self.trace.times_s();
        let mut heap = BinaryHeap::with_capacity(copies as usize);
        for copy in 0..copies {
            let shift = period * f64::from(copy) / f64::from(copies);
            let mut cursor = Cursor {
                time: 0.0,
                copy,
                keep: if copy < whole {
                    1.0
                } else {
                    self.rate_scale - f64::from(whole)
                },
                shift,
                start: times.partition_point(|t| t + shift < period),
                position: 0,
            };
            cursor.time = cursor.at(times, period).0;
            heap.push(Reverse(cursor));
        }
        Player {
            trace: Arc::clone(&self.trace),
            copies,
            period,
            time_scale: self.time_scale,
            looped: self.looped,
            warp: self.profile.clone().map(Warp::new),
            heap,
            rng,
        }
    }
}

/// One copy of the trace, at its next request.
#[derive(Clone, Debug)]
struct Cursor {
    /// Trace seconds of the next request (before the time scale).
    time: f64,
    copy: u32,
    /// Probability of keeping each request.
    keep: f64,
    /// Shift of this copy, trace seconds.
    shift: f64,
    /// The first request whose shifted time passes the period: it plays first, wrapped.
    start: usize,
    /// Requests of this copy passed so far, over every loop.
    position: u64,
}

impl Cursor {
    /// The time and index of the request at `self.position`.
    fn at(&self, times: &[f64], period: f64) -> (f64, usize) {
        let n = times.len() as u64;
        let (pass, p) = (self.position / n, (self.position % n) as usize);
        let wrapped = times.len() - self.start;
        let (index, time) = if p < wrapped {
            let index = self.start + p;
            (index, times[index] + self.shift - period)
        } else {
            let index = p - wrapped;
            (index, times[index] + self.shift)
        };
        (pass as f64 * period + time, index)
    }
}

impl PartialEq for Cursor {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Cursor {}

impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cursor {
    /// By time, then by copy: equal times play in copy order.
    fn cmp(&self, other: &Self) -> Ordering {
        self.time
            .total_cmp(&other.time)
            .then(self.copy.cmp(&other.copy))
    }
}

/// Maps trace time to clock time so that trace time passes `w_h` times as fast as the clock
/// in hour `h`; advanced monotonically.
#[derive(Clone, Debug)]
struct Warp {
    profile: DailyProfile,
    /// The hour (from midnight of day 0) the last time fell in.
    hour: u64,
    /// Trace time at the start of that hour.
    trace_at_hour: f64,
}

impl Warp {
    fn new(profile: DailyProfile) -> Warp {
        Warp {
            profile,
            hour: 0,
            trace_at_hour: 0.0,
        }
    }

    /// Clock seconds at which trace time `u` is reached (`u` never decreasing between calls).
    fn clock(&mut self, u: f64) -> f64 {
        loop {
            let weight = self.profile.weights()[(self.hour % 24) as usize];
            let hour_end = self.trace_at_hour + weight * HOUR;
            if weight > 0.0 && u <= hour_end {
                return self.hour as f64 * HOUR + (u - self.trace_at_hour) / weight;
            }
            self.trace_at_hour = hour_end;
            self.hour += 1;
        }
    }
}

/// One request of a replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Played {
    /// Its arrival, clock seconds.
    pub at_s: f64,
    /// Its row in the trace.
    pub index: usize,
    /// Which instance of the trace it belongs to: copy `c` of `k` superposed copies in pass
    /// `p` of a looped trace is instance `c + k·p` (modulo 2³²: instances that far apart
    /// are never in a cache together).
    pub instance: u32,
}

/// The requests of a replay in arrival order.
#[derive(Debug)]
pub struct Player {
    trace: Arc<Trace>,
    /// Copies of the trace played together.
    copies: u32,
    period: f64,
    time_scale: f64,
    looped: bool,
    warp: Option<Warp>,
    heap: BinaryHeap<Reverse<Cursor>>,
    rng: Xoshiro256PlusPlus,
}

impl Player {
    /// The trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The next request before `horizon_s` clock seconds; `None` once the replay is over or
    /// the next request would reach the horizon.
    pub fn next_before(&mut self, horizon_s: f64) -> Option<Played> {
        let times = self.trace.times_s();
        loop {
            let Reverse(mut cursor) = self.heap.pop()?;
            let (time, index) = cursor.at(times, self.period);
            let scaled = time * self.time_scale;
            let clock = match &mut self.warp {
                Some(warp) => warp.clock(scaled),
                None => scaled,
            };
            if clock >= horizon_s {
                self.heap.push(Reverse(cursor));
                return None;
            }
            let kept = cursor.keep >= 1.0 || self.rng.random::<f64>() < cursor.keep;
            let pass = cursor.position / times.len() as u64;
            let instance = (u64::from(cursor.copy) + u64::from(self.copies) * pass) as u32;
            cursor.position += 1;
            if self.looped || cursor.position < times.len() as u64 {
                cursor.time = cursor.at(times, self.period).0;
                self.heap.push(Reverse(cursor));
            }
            if kept {
                return Some(Played {
                    at_s: clock,
                    index,
                    instance,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Stream, stream};
    use crate::workload::trace::{Columns, RowCounts, TraceFormat};

    /// A trace of `times`, each request with prompt = its index + 1.
    fn trace(times: &[f64]) -> Arc<Trace> {
        let n = times.len() as u32;
        Arc::new(
            Columns {
                times_s: times.to_vec(),
                prompt_tokens: (1..=n).collect(),
                output_tokens: vec![1; n as usize],
                blocks: None,
            }
            .into_trace(
                "t.csv".into(),
                TraceFormat::Azure,
                None,
                RowCounts::default(),
            ),
        )
    }

    fn play(replay: &Replay, horizon: f64, run: u64) -> Vec<(f64, usize)> {
        played(replay, horizon, run)
            .iter()
            .map(|p| (p.at_s, p.index))
            .collect()
    }

    fn played(replay: &Replay, horizon: f64, run: u64) -> Vec<Played> {
        let mut player = replay.player(stream(1, run, Stream::TraceSampling));
        std::iter::from_fn(|| player.next_before(horizon)).collect()
    }

    #[test]
    fn a_plain_replay_gives_every_request_once_in_order() {
        let t = trace(&[0.0, 1.0, 1.0, 4.0]);
        let replay = Replay::new(t, 2.0, 1.0, false, None);
        assert_eq!(
            play(&replay, 1e9, 0),
            vec![(0.0, 0), (2.0, 1), (2.0, 2), (8.0, 3)]
        );
        // The horizon cuts it.
        assert_eq!(play(&replay, 8.0, 0).len(), 3);
    }

    #[test]
    fn superposed_copies_are_shifted_by_fractions_of_the_period() {
        // Period: span 3 + mean gap 1 = 4 s; two copies, the second shifted by 2 s,
        // wrapping 2 and 3 to 0 and 1.
        let t = trace(&[0.0, 1.0, 2.0, 3.0]);
        let replay = Replay::new(t, 1.0, 2.0, false, None);
        assert_eq!(
            play(&replay, 1e9, 0),
            vec![
                (0.0, 0),
                (0.0, 2),
                (1.0, 1),
                (1.0, 3),
                (2.0, 2),
                (2.0, 0),
                (3.0, 3),
                (3.0, 1)
            ]
        );
    }

    #[test]
    fn thinning_keeps_the_fraction_asked_for() {
        let times: Vec<f64> = (0..10_000).map(f64::from).collect();
        let t = trace(&times);
        for k in [0.3, 2.5] {
            let replay = Replay::new(Arc::clone(&t), 1.0, k, false, None);
            let n = play(&replay, 1e9, 0).len() as f64;
            // Binomial: the thinned copy keeps q = frac(k) of 10,000, sd √(10,000·q(1 − q)).
            let q = k - k.floor();
            let sd = (10_000.0 * q * (1.0 - q)).sqrt();
            assert!((n - 10_000.0 * k).abs() < 4.0 * sd, "k {k}: {n}");
        }
        // Runs draw differently, each the same again.
        let replay = Replay::new(t, 1.0, 0.5, false, None);
        assert_eq!(play(&replay, 1e9, 3), play(&replay, 1e9, 3));
        assert_ne!(play(&replay, 1e9, 3), play(&replay, 1e9, 4));
    }

    #[test]
    fn a_looped_trace_repeats_every_period() {
        let t = trace(&[0.0, 1.0]);
        let replay = Replay::new(t, 3.0, 1.0, true, None);
        // Period 2 s × 3.
        let played = play(&replay, 13.0, 0);
        let times: Vec<f64> = played.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![0.0, 3.0, 6.0, 9.0, 12.0]);
        assert_eq!(played[4].1, 0);
        assert!((replay.mean_rate() - 2.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn copies_and_passes_are_instances_of_their_own() {
        // Two copies of a two-request trace (period 2 s), looped: copy c of pass p is
        // instance c + 2p.
        let t = trace(&[0.0, 1.0]);
        let replay = Replay::new(t, 1.0, 2.0, true, None);
        let instances: Vec<(usize, u32)> = played(&replay, 4.0, 0)
            .iter()
            .map(|p| (p.index, p.instance))
            .collect();
        assert_eq!(
            instances,
            vec![
                (0, 0),
                (1, 1),
                (1, 0),
                (0, 1),
                (0, 2),
                (1, 3),
                (1, 2),
                (0, 3)
            ]
        );
    }

    #[test]
    fn a_looped_trace_follows_the_daily_profile() {
        // One request a second; hours 0–11 at weight 0.5, 12–23 at 1.5.
        let t = trace(&(0..3600).map(f64::from).collect::<Vec<_>>());
        let mut weights = [0.5; 24];
        weights[12..].fill(1.5);
        let replay = Replay::new(t, 1.0, 1.0, true, Some(DailyProfile::from_hourly(weights)));
        let played = play(&replay, 86_400.0, 0);
        let in_hour = |h: f64| {
            played
                .iter()
                .filter(|(t, _)| (h * HOUR..(h + 1.0) * HOUR).contains(t))
                .count()
        };
        assert_eq!(in_hour(3.0), 1800);
        assert_eq!(in_hour(15.0), 5400);
        assert_eq!(played.len(), 86_400);
        // Arrivals never go back in time.
        assert!(played.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
