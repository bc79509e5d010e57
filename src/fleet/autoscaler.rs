//! Autoscaling: servers switched on and off with the load, the way a Kubernetes Horizontal
//! Pod Autoscaler scales a rented fleet of model servers.
//!
//! Every `interval` the autoscaler reads a metric of the serving replicas, averaged over the
//! interval just ended, and asks for `⌈on × observed ÷ target⌉` servers (the HPA formula),
//! unless the ratio is within `tolerance` of 1. The metric is the requests each replica holds
//! (waiting or running: Knative's concurrency, GKE's batch-size signal for vLLM) or the share
//! of its KV cache in use (vLLM's cache-usage gauge). More servers boot and serve after the
//! provisioning delay; fewer servers first cancel boots, then drain: a draining server takes
//! no new requests, finishes the ones it holds, and is released when it is empty. A
//! scale-down waits until the recommendation has stayed lower for `scale_down_delay` (the
//! HPA's stabilisation window). Servers are billed and powered from the moment they are asked
//! for until they are released.
//!
//! Source of the formula, the 10% tolerance, the 15-second period and the 5-minute downscale
//! window: Kubernetes documentation, "Horizontal Pod Autoscaling" (algorithm details).

use crate::units::Seconds;
use std::collections::VecDeque;

/// What the autoscaler steers to, per serving replica.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScaleTarget {
    /// Requests waiting or running per replica.
    RequestsPerReplica(f64),
    /// Share of the replica's KV-cache blocks in use, in (0, 1].
    KvCache(f64),
}

/// How a fleet scales; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Autoscaling {
    /// Fewest servers on.
    pub min_servers: u64,
    /// Most servers on: the fleet the engine lays out.
    pub max_servers: u64,
    /// Servers on at midnight.
    pub initial_servers: u64,
    /// Servers switched together: 1, or the servers one replica spans.
    pub unit: u64,
    /// The metric and its value per replica the autoscaler steers to.
    pub target: ScaleTarget,
    /// Relative deviation from the target that causes no change.
    pub tolerance: f64,
    /// Time between decisions.
    pub interval: Seconds,
    /// Time from asking for a server to its serving.
    pub provisioning_delay: Seconds,
    /// How long a lower recommendation must hold before servers are released.
    pub scale_down_delay: Seconds,
}

impl std::fmt::Display for Autoscaling {
    /// `2–16 servers (10 at midnight), 32 requests per replica, every 15 s, serving 300 s
    /// after a boot, released after 300 s lower`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match self.target {
            ScaleTarget::RequestsPerReplica(r) => format!("{r} requests per replica"),
            ScaleTarget::KvCache(share) => format!("{}% of the KV cache", share * 100.0),
        };
        write!(
            f,
            "{}–{} servers ({} at midnight), {target}, every {} s, serving {} s after a boot, \
             released after {} s lower",
            self.min_servers,
            self.max_servers,
            self.initial_servers,
            self.interval.0,
            self.provisioning_delay.0,
            self.scale_down_delay.0
        )
    }
}

/// Defaults of the optional settings, each with its source.
pub struct Defaults {
    /// 0.1: the HPA's default tolerance (`--horizontal-pod-autoscaler-tolerance`).
    pub tolerance: f64,
    /// 15 s: the HPA's default sync period (`--horizontal-pod-autoscaler-sync-period`).
    pub interval: Seconds,
    /// 5 min: the HPA's default downscale stabilisation window.
    pub scale_down_delay: Seconds,
    /// ⚠ 5 min: booting a GPU node and loading a 70B model's weights; cloud GPU nodes take
    /// minutes to join a cluster and tens of GB of weights take minutes to load, so this is an
    /// order of magnitude, not a measurement.
    pub provisioning_delay: Seconds,
}

/// The default settings.
pub const DEFAULTS: Defaults = Defaults {
    tolerance: 0.1,
    interval: Seconds(15.0),
    scale_down_delay: Seconds(300.0),
    provisioning_delay: Seconds(300.0),
};

impl Autoscaling {
    /// The servers the HPA formula asks for when `on` servers serve at `ratio` = observed ÷
    /// target: the same count within the tolerance, else `⌈on × ratio⌉` rounded up to whole
    /// units and kept within the limits.
    pub fn recommend(&self, on: u64, ratio: f64) -> u64 {
        let wanted = if (ratio - 1.0).abs() <= self.tolerance {
            on
        } else {
            (on as f64 * ratio).ceil() as u64
        };
        wanted
            .div_ceil(self.unit)
            .saturating_mul(self.unit)
            .clamp(self.min_servers, self.max_servers)
    }
}

/// Where one unit of servers stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitState {
    /// Released: neither billed nor powered.
    Off,
    /// Asked for, not yet serving; the number tells this boot from earlier ones.
    Booting(u32),
    /// Taking requests.
    On,
    /// Finishing its requests, taking no new ones.
    Draining,
}

/// What the engine must do for a unit after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The unit starts booting: it will serve when boot number `boot` ends.
    Boot {
        /// The unit.
        unit: usize,
        /// Its boot number, to check when the boot ends.
        boot: u32,
    },
    /// The unit serves now (a boot ended, or a drain was called off).
    Serve(usize),
    /// The unit stops taking requests and drains.
    Drain(usize),
    /// A boot is called off: the unit is released before it served.
    Cancel(usize),
}

/// The units of a fleet and the autoscaler's memory of its recent recommendations.
#[derive(Clone, Debug)]
pub struct Pool {
    config: Autoscaling,
    states: Vec<UnitState>,
    boots: u32,
    /// Recent recommendations (time in seconds, servers), for the downscale window.
    recent: VecDeque<(f64, u64)>,
}

impl Pool {
    /// A fleet of `config.max_servers` servers with the first `initial_servers` on.
    pub fn new(config: Autoscaling) -> Pool {
        let units = (config.max_servers / config.unit) as usize;
        let on = (config.initial_servers / config.unit) as usize;
        let states = (0..units)
            .map(|u| {
                if u < on {
                    UnitState::On
                } else {
                    UnitState::Off
                }
            })
            .collect();
        Pool {
            config,
            states,
            boots: 0,
            recent: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &Autoscaling {
        &self.config
    }

    /// The state of unit `unit`.
    pub fn state(&self, unit: usize) -> UnitState {
        self.states[unit]
    }

    /// Servers taking requests.
    pub fn serving_servers(&self) -> u64 {
        self.count(|s| s == UnitState::On)
    }

    /// Servers billed and powered: booting, on or draining.
    pub fn billed_servers(&self) -> u64 {
        self.count(|s| s != UnitState::Off)
    }

    fn count(&self, which: impl Fn(UnitState) -> bool) -> u64 {
        self.states.iter().filter(|s| which(**s)).count() as u64 * self.config.unit
    }

    /// Records a recommendation made at `now_s` and moves the fleet toward it: up at once,
    /// down to the largest recommendation of the downscale window. Returns the changes for
    /// the engine to apply, in unit order within each kind.
    pub fn decide(&mut self, now_s: f64, recommended: u64) -> Vec<Change> {
        self.recent.push_back((now_s, recommended));
        let window = self.config.scale_down_delay.0;
        while let Some(&(t, _)) = self.recent.front() {
            if t < now_s - window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        let held = self
            .recent
            .iter()
            .map(|&(_, s)| s)
            .max()
            .unwrap_or(recommended);
        let committed = self.count(|s| matches!(s, UnitState::On | UnitState::Booting(_)));
        let target = if recommended >= committed {
            recommended
        } else {
            held.min(committed)
        };
        self.scale_to(target / self.config.unit)
    }

    /// Moves the committed units (on or booting) to `target`: up by calling off drains
    /// first, then booting the lowest units that are off; down by calling off the highest
    /// boots first, then draining the highest units on.
    fn scale_to(&mut self, target: u64) -> Vec<Change> {
        let mut changes = Vec::new();
        let committed = |states: &[UnitState]| {
            states
                .iter()
                .filter(|s| matches!(s, UnitState::On | UnitState::Booting(_)))
                .count() as u64
        };
        let mut have = committed(&self.states);
        for wanted in [UnitState::Draining, UnitState::Off] {
            for unit in 0..self.states.len() {
                if have >= target {
                    break;
                }
                if self.states[unit] == wanted {
                    have += 1;
                    changes.push(if wanted == UnitState::Draining {
                        self.states[unit] = UnitState::On;
                        Change::Serve(unit)
                    } else {
                        self.boots += 1;
                        self.states[unit] = UnitState::Booting(self.boots);
                        Change::Boot {
                            unit,
                            boot: self.boots,
                        }
                    });
                }
            }
        }
        for booting in [true, false] {
            for unit in (0..self.states.len()).rev() {
                if have <= target {
                    break;
                }
                match (self.states[unit], booting) {
                    (UnitState::Booting(_), true) => {
                        self.states[unit] = UnitState::Off;
                        changes.push(Change::Cancel(unit));
                        have -= 1;
                    }
                    (UnitState::On, false) => {
                        self.states[unit] = UnitState::Draining;
                        changes.push(Change::Drain(unit));
                        have -= 1;
                    }
                    _ => {}
                }
            }
        }
        changes
    }

    /// Boot number `boot` of `unit` has ended: whether the unit serves now (false when the
    /// boot was called off or superseded).
    pub fn boot_ended(&mut self, unit: usize, boot: u32) -> bool {
        if self.states[unit] == UnitState::Booting(boot) {
            self.states[unit] = UnitState::On;
            true
        } else {
            false
        }
    }

    /// A draining unit has emptied: it is released.
    pub fn drained(&mut self, unit: usize) {
        debug_assert_eq!(self.states[unit], UnitState::Draining);
        self.states[unit] = UnitState::Off;
    }
}

/// The time integral of a level that changes in steps, read and restarted at each decision:
/// the autoscaler's mean load and mean capacity over an interval.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauge {
    level: f64,
    since_s: f64,
    integral: f64,
}

impl Gauge {
    /// The level changes by `delta` at `t_s`.
    pub fn change(&mut self, t_s: f64, delta: f64) {
        self.integral += self.level * (t_s - self.since_s);
        self.since_s = t_s;
        self.level += delta;
    }

    /// ∫ level dt since the last take, up to `t_s`; starts a new integral.
    pub fn take(&mut self, t_s: f64) -> f64 {
        self.change(t_s, 0.0);
        std::mem::take(&mut self.integral)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(min: u64, max: u64, unit: u64) -> Autoscaling {
        Autoscaling {
            min_servers: min,
            max_servers: max,
            initial_servers: min,
            unit,
            target: ScaleTarget::RequestsPerReplica(32.0),
            tolerance: 0.1,
            interval: Seconds(60.0),
            provisioning_delay: Seconds(120.0),
            scale_down_delay: Seconds(300.0),
        }
    }

    #[test]
    fn the_hpa_formula_rounds_up_to_units_within_limits() {
        let c = config(2, 16, 2);
        // 4 servers at 1.6 times the target: ⌈4 × 1.6⌉ = 7 → 8 (whole units of 2).
        assert_eq!(c.recommend(4, 1.6), 8);
        // Within 10% of the target: no change.
        assert_eq!(c.recommend(4, 1.08), 4);
        assert_eq!(c.recommend(4, 0.92), 4);
        // ⌈4 × 0.4⌉ = 2, the minimum anyway; far above: the maximum.
        assert_eq!(c.recommend(4, 0.4), 2);
        assert_eq!(c.recommend(4, 0.0), 2);
        assert_eq!(c.recommend(4, 20.0), 16);
    }

    #[test]
    fn scaling_up_boots_the_lowest_units_and_down_drains_the_highest() {
        let mut pool = Pool::new(config(1, 4, 1));
        assert_eq!(pool.billed_servers(), 1);
        let up = pool.decide(0.0, 3);
        assert_eq!(
            up,
            vec![
                Change::Boot { unit: 1, boot: 1 },
                Change::Boot { unit: 2, boot: 2 }
            ]
        );
        assert_eq!((pool.serving_servers(), pool.billed_servers()), (1, 3));
        assert!(pool.boot_ended(1, 1));
        // Down to 1 after the window: the boot of unit 2 is called off, unit 1 drains.
        let down = pool.decide(400.0, 1);
        assert_eq!(down, vec![Change::Cancel(2), Change::Drain(1)]);
        assert!(!pool.boot_ended(2, 2), "a called-off boot does not serve");
        assert_eq!(
            pool.billed_servers(),
            2,
            "the draining unit is still billed"
        );
        pool.drained(1);
        assert_eq!(pool.billed_servers(), 1);
    }

    #[test]
    fn scaling_down_waits_for_the_window_and_up_calls_off_drains() {
        let mut pool = Pool::new(Autoscaling {
            initial_servers: 4,
            ..config(1, 4, 1)
        });
        pool.decide(0.0, 4);
        // Lower recommendations inside 300 s of the 4 change nothing.
        assert!(pool.decide(100.0, 2).is_empty());
        assert!(pool.decide(300.0, 2).is_empty());
        // At 400 s the window holds 100–400 s: the largest is 2.
        assert_eq!(
            pool.decide(400.0, 2),
            vec![Change::Drain(3), Change::Drain(2)]
        );
        // Back up: the drains are called off before anything boots.
        assert_eq!(
            pool.decide(401.0, 4),
            vec![Change::Serve(2), Change::Serve(3)]
        );
        assert_eq!(pool.serving_servers(), 4);
    }

    #[test]
    fn a_gauge_integrates_steps_between_takes() {
        let mut gauge = Gauge::default();
        gauge.change(0.0, 2.0);
        gauge.change(10.0, 3.0);
        // 2 × 10 + 5 × 5.
        assert_eq!(gauge.take(15.0), 45.0);
        gauge.change(20.0, -5.0);
        assert_eq!(gauge.take(30.0), 25.0);
    }

    #[test]
    fn units_of_several_servers_move_together() {
        let mut pool = Pool::new(config(2, 8, 2));
        assert_eq!(
            pool.decide(0.0, 6),
            vec![
                Change::Boot { unit: 1, boot: 1 },
                Change::Boot { unit: 2, boot: 2 }
            ]
        );
        assert_eq!(pool.billed_servers(), 6);
    }
}
