//! The autoscaler inside a run: servers switched on at midnight, decisions every interval,
//! boots, drains and releases, and the gauges the decisions read.

use super::{Event, Simulation};
use crate::engine::time::SimTime;
use crate::fleet::autoscaler::UnitState;
use crate::fleet::{Autoscaling, Change, Gauge, Pool, ScaleTarget};

/// The autoscaler's state within a run.
pub(super) struct Scaler {
    pool: Pool,
    /// Requests (or KV blocks) held by all replicas.
    load: Gauge,
    /// Requests (or KV blocks) the routable replicas would hold at the target.
    capacity: Gauge,
}

impl Scaler {
    /// A fleet scaled by `config`, its first servers on.
    pub(super) fn new(config: Autoscaling) -> Scaler {
        Scaler {
            pool: Pool::new(config),
            load: Gauge::default(),
            capacity: Gauge::default(),
        }
    }

    /// The fleet's requests waiting or running changed by `requests`, and its KV blocks in
    /// use by `kv_blocks`, at `now`.
    pub(super) fn levels_changed(&mut self, now: SimTime, requests: i64, kv_blocks: i64) {
        let delta = match self.pool.config().target {
            ScaleTarget::RequestsPerReplica(_) => requests,
            ScaleTarget::KvCache(_) => kv_blocks,
        };
        self.load.change(now.secs(), delta as f64);
    }

    /// Boot number `boot` of `unit` has ended: whether the unit serves now.
    pub(super) fn boot_ended(&mut self, unit: usize, boot: u32) -> bool {
        self.pool.boot_ended(unit, boot)
    }
}

impl Simulation<'_> {
    /// The routable replicas change by `replicas`: the load the autoscaler steers to
    /// follows.
    pub(super) fn change_capacity(&mut self, now: SimTime, replicas: f64) {
        if let Some(scaler) = &mut self.scaler {
            let per_replica = match scaler.pool.config().target {
                ScaleTarget::RequestsPerReplica(requests) => requests,
                ScaleTarget::KvCache(share) => share * self.scenario.kv_blocks_per_replica as f64,
            };
            scaler.capacity.change(now.secs(), replicas * per_replica);
        }
    }

    /// Switches on the fleet at midnight: all of it, or the autoscaler's first servers, and
    /// schedules the autoscaler's first decision.
    pub(super) fn switch_on_first_servers(&mut self) {
        let Some(scaler) = &self.scaler else {
            self.recorder
                .change_servers_on(SimTime::ZERO, self.scenario.fleet.servers as i64);
            return;
        };
        let config = *scaler.pool.config();
        for index in 0..self.slots.len() {
            self.slots[index].serving = false;
        }
        self.healthy = 0;
        for unit in 0..(config.initial_servers / config.unit) as usize {
            self.serve_unit(SimTime::ZERO, unit, true);
        }
        self.recorder
            .change_servers_on(SimTime::ZERO, config.initial_servers as i64);
        self.schedule_autoscale(SimTime::ZERO);
    }

    fn schedule_autoscale(&mut self, now: SimTime) {
        let scaler = self.scaler.as_ref().expect("autoscaling is on");
        let at = now + scaler.pool.config().interval;
        if at < self.horizon {
            self.queue.push(at, Event::Autoscale);
        }
    }

    /// The autoscaler compares the load of the interval just ended with its target and moves
    /// the fleet.
    pub(super) fn autoscale(&mut self, now: SimTime) {
        self.schedule_autoscale(now);
        let scaler = self.scaler.as_mut().expect("autoscaling is on");
        let load = scaler.load.take(now.secs());
        let capacity = scaler.capacity.take(now.secs());
        if capacity <= 0.0 {
            return;
        }
        let config = *scaler.pool.config();
        let recommended = config.recommend(scaler.pool.serving_servers(), load / capacity);
        let unit_servers = config.unit as i64;
        for change in scaler.pool.decide(now.secs(), recommended) {
            match change {
                Change::Boot { unit, boot } => {
                    self.recorder.change_servers_on(now, unit_servers);
                    let ready = now + config.provisioning_delay;
                    if ready <= now {
                        let pool = &mut self.scaler.as_mut().expect("on").pool;
                        pool.boot_ended(unit, boot);
                        self.serve_unit(now, unit, true);
                    } else {
                        let unit = unit as u32;
                        self.queue.push(ready, Event::Booted { unit, boot });
                    }
                }
                Change::Serve(unit) => self.serve_unit(now, unit, true),
                Change::Drain(unit) => {
                    self.serve_unit(now, unit, false);
                    self.release_if_drained(now, self.first_replica(unit));
                }
                Change::Cancel(_) => self.recorder.change_servers_on(now, -unit_servers),
            }
        }
    }

    /// The replicas of autoscaling unit `unit`.
    fn replicas_of_unit(&self, unit: usize) -> std::ops::Range<usize> {
        let servers = self
            .scaler
            .as_ref()
            .expect("autoscaling is on")
            .pool
            .config()
            .unit;
        let range = self
            .scenario
            .fleet
            .replicas_of_servers(unit as u64 * servers, servers);
        range.start as usize..range.end as usize
    }

    fn first_replica(&self, unit: usize) -> usize {
        self.replicas_of_unit(unit).start
    }

    /// The replicas of `unit` start (`serving`) or stop taking requests.
    pub(super) fn serve_unit(&mut self, now: SimTime, unit: usize, serving: bool) {
        for index in self.replicas_of_unit(unit) {
            let slot = &mut self.slots[index];
            debug_assert_ne!(slot.serving, serving);
            slot.serving = serving;
            if slot.down == 0 {
                if serving {
                    self.healthy += 1;
                } else {
                    self.healthy -= 1;
                }
                self.change_capacity(now, if serving { 1.0 } else { -1.0 });
            }
        }
    }

    /// Releases the unit of replica `index` if it is draining and every replica of it is
    /// empty and idle.
    pub(super) fn release_if_drained(&mut self, now: SimTime, index: usize) {
        let Some(scaler) = &self.scaler else { return };
        let config = *scaler.pool.config();
        let server = self.scenario.fleet.server_of_replica(index as u64);
        let unit = (server / config.unit) as usize;
        if scaler.pool.state(unit) != UnitState::Draining {
            return;
        }
        let empty = self.replicas_of_unit(unit).all(|i| {
            let replica = &self.slots[i].replica;
            replica.outstanding() == 0 && !replica.is_busy()
        });
        if empty {
            self.scaler.as_mut().expect("on").pool.drained(unit);
            self.recorder.change_servers_on(now, -(config.unit as i64));
        }
    }
}
