//! GPU and server failures and their repairs.
//!
//! Every GPU fails at rate `1/MTBF_gpu` and every server (its host, network and NICs) at
//! `1/MTBF_server`, independently and memorylessly; a failed part is repaired after an
//! exponential time of mean MTTR. The fleet's failures form one Poisson process of rate
//! `G/MTBF_gpu + S/MTBF_server`; a failure that lands on a part already under repair is
//! discarded, which leaves exactly the process of the working parts (thinning).

use super::layout::FleetLayout;
use crate::units::Seconds;
use rand::Rng;
use rand::RngExt;
use rand_distr::{Distribution, Exp1};
use std::ops::Range;

/// Failure rates a scenario gets when it sets none, from the 419 unexpected interruptions of
/// Llama 3 pre-training: 54 days on 16,384 H100s in 2,048 servers (Meta, "The Llama 3 Herd of
/// Models", 2024, Table 5, by its counts):
///
/// - GPU: 268 GPU-caused (faulty GPU, HBM3, SRAM, system processor, silent data corruption,
///   thermal) in 21.23 M GPU-hours, so one per 79,200 GPU-hours;
/// - server: 88 host, unplanned-maintenance and network-switch/cable events in 2.654 M
///   server-hours, one per 30,200 server-hours (software and unknown causes are left out).
///
/// The paper gives no repair times: a GPU takes 24 h (a swap from on-site spares takes under
/// a day; vendor practice ⚠) and a server 2.2 h (the mean recovery time reported for the
/// Delta cluster, Cui et al. 2025 ⚠). Requests are retried up to 3 times (an assumption).
pub const DEFAULT_FAILURES: FailureModel = FailureModel {
    gpu_mtbf: Seconds(79_200.0 * 3600.0),
    server_mtbf: Seconds(30_200.0 * 3600.0),
    gpu_mttr: Seconds(24.0 * 3600.0),
    server_mttr: Seconds(2.2 * 3600.0),
    max_retries: 3,
};

/// Failure and repair rates, and how often a request is retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FailureModel {
    /// Mean time between failures of one GPU.
    pub gpu_mtbf: Seconds,
    /// Mean time between failures of one server's host, network or NICs.
    pub server_mtbf: Seconds,
    /// Mean time to repair a GPU.
    pub gpu_mttr: Seconds,
    /// Mean time to repair a server.
    pub server_mttr: Seconds,
    /// Times a request thrown out of a failed replica is sent to another before it fails.
    pub max_retries: u32,
}

/// A part that can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// GPU number `0` of the fleet.
    Gpu(u32),
    /// Server number `0` of the fleet.
    Server(u32),
}

/// The failure state of the fleet's parts.
#[derive(Clone, Debug)]
pub struct Failures {
    model: FailureModel,
    layout: FleetLayout,
    gpu_failed: Vec<bool>,
    server_failed: Vec<bool>,
    gpu_rate: f64,
    total_rate: f64,
}

impl Failures {
    /// All parts of `layout` working.
    pub fn new(model: FailureModel, layout: FleetLayout) -> Failures {
        let gpu_rate = layout.gpus() as f64 / model.gpu_mtbf.0;
        let server_rate = layout.servers as f64 / model.server_mtbf.0;
        Failures {
            model,
            layout,
            gpu_failed: vec![false; layout.gpus() as usize],
            server_failed: vec![false; layout.servers as usize],
            gpu_rate,
            total_rate: gpu_rate + server_rate,
        }
    }

    /// The model's rates.
    pub fn model(&self) -> &FailureModel {
        &self.model
    }

    /// Seconds to the next failure anywhere in the fleet and the part it strikes (which may
    /// already be failed: see [`Failures::fail`]); `None` when nothing can fail.
    pub fn next_failure<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(Seconds, Part)> {
        if !(self.total_rate > 0.0 && self.total_rate.is_finite()) {
            return None;
        }
        let gap: f64 = Exp1.sample(rng);
        let part = if rng.random::<f64>() * self.total_rate < self.gpu_rate {
            Part::Gpu(rng.random_range(0..self.gpu_failed.len()) as u32)
        } else {
            Part::Server(rng.random_range(0..self.server_failed.len()) as u32)
        };
        Some((Seconds(gap / self.total_rate), part))
    }

    /// Marks `part` failed; `false` when it already was (the event is then void).
    pub fn fail(&mut self, part: Part) -> bool {
        let flag = self.flag(part);
        !std::mem::replace(flag, true)
    }

    /// Marks `part` repaired.
    pub fn repair(&mut self, part: Part) {
        *self.flag(part) = false;
    }

    /// A repair time for `part`.
    pub fn repair_time<R: Rng + ?Sized>(&self, rng: &mut R, part: Part) -> Seconds {
        let mean = match part {
            Part::Gpu(_) => self.model.gpu_mttr,
            Part::Server(_) => self.model.server_mttr,
        };
        let draw: f64 = Exp1.sample(rng);
        mean * draw
    }

    /// The replicas a failure of `part` takes down.
    pub fn replicas_of(&self, part: Part) -> Range<u64> {
        match part {
            Part::Gpu(gpu) => {
                let replica = self.layout.replica_of_gpu(u64::from(gpu));
                replica..replica + 1
            }
            Part::Server(server) => self.layout.replicas_of_server(u64::from(server)),
        }
    }

    fn flag(&mut self, part: Part) -> &mut bool {
        match part {
            Part::Gpu(i) => &mut self.gpu_failed[i as usize],
            Part::Server(i) => &mut self.server_failed[i as usize],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Stream, stream};
    use crate::perf_model::Parallelism;

    fn model() -> FailureModel {
        FailureModel {
            gpu_mtbf: Seconds(1000.0),
            server_mtbf: Seconds(4000.0),
            gpu_mttr: Seconds(10.0),
            server_mttr: Seconds(20.0),
            max_retries: 2,
        }
    }

    fn layout(tensor: u32) -> FleetLayout {
        FleetLayout::new(
            4,
            8,
            Parallelism {
                tensor,
                pipeline: 1,
            },
        )
        .unwrap()
    }

    #[test]
    fn failures_arrive_at_the_fleet_rate_in_the_right_proportions() {
        let failures = Failures::new(model(), layout(8));
        let mut rng = stream(1, 0, Stream::Failures);
        // 32 GPUs at 1/1000 s plus 4 servers at 1/4000 s: 0.033 per second, 97% GPUs.
        let n = 100_000;
        let (mut total, mut gpus) = (0.0, 0);
        for _ in 0..n {
            let (gap, part) = failures.next_failure(&mut rng).unwrap();
            total += gap.0;
            gpus += usize::from(matches!(part, Part::Gpu(_)));
        }
        assert!((total / n as f64 / (1.0 / 0.033) - 1.0).abs() < 0.01);
        assert!((gpus as f64 / n as f64 - 0.032 / 0.033).abs() < 0.003);
    }

    #[test]
    fn a_part_fails_once_until_repaired() {
        let mut failures = Failures::new(model(), layout(8));
        assert!(failures.fail(Part::Gpu(3)));
        assert!(!failures.fail(Part::Gpu(3)));
        failures.repair(Part::Gpu(3));
        assert!(failures.fail(Part::Gpu(3)));
    }

    #[test]
    fn parts_map_to_the_replicas_they_carry() {
        let tp2 = Failures::new(model(), layout(2));
        // 4 replicas per server: GPU 13 is in server 1, replica 4 + 5/2 = 6.
        assert_eq!(tp2.replicas_of(Part::Gpu(13)), 6..7);
        assert_eq!(tp2.replicas_of(Part::Server(2)), 8..12);
        let spanning = Failures::new(
            model(),
            FleetLayout::new(
                4,
                8,
                Parallelism {
                    tensor: 8,
                    pipeline: 2,
                },
            )
            .unwrap(),
        );
        assert_eq!(spanning.replicas_of(Part::Gpu(20)), 1..2);
        assert_eq!(spanning.replicas_of(Part::Server(3)), 1..2);
    }
}
