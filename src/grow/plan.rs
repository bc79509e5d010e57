//! From the servers each month requires to the servers in service and the orders that put
//! them there, under a lead time: servers in service in month `p` were ordered in month
//! `p − lead_time`.
//!
//! The fleet at the start (the scenario's `fleet.servers`) is in service from month 0. Before
//! month `lead_time` nothing ordered within the plan can have arrived, so those months have at
//! most the initial fleet; a requirement above it there is **under-provisioned**: an order
//! would have had to be placed before the plan starts.
//!
//! - **Owned** servers are kept: the fleet never shrinks. From month `lead_time` on it is the
//!   largest of the initial fleet and the requirements of months `lead_time ..= p`.
//! - **Rented** servers are returned as soon as they are not needed, and new ones still take
//!   the lead time to arrive. From month `lead_time` on the fleet is the month's requirement;
//!   before it, the initial fleet less what will not be needed again before new servers can
//!   arrive (servers returned cannot come back in time).
//!
//! An order placed in month `q` is the increase of the fleet in month `q + lead_time`; the
//! last `lead_time` months order nothing, since the plan does not see beyond its horizon.

use serde::{Deserialize, Serialize};

/// Whether the fleet's servers are bought or rented: how the fleet may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ownership {
    /// Bought: servers are kept once in service, so the fleet never shrinks.
    Owned,
    /// Rented: the fleet follows the requirement down at once, and up after the lead time.
    Rented,
}

impl Ownership {
    /// `owned` or `rented`.
    pub fn name(self) -> &'static str {
        match self {
            Ownership::Owned => "owned",
            Ownership::Rented => "rented",
        }
    }
}

/// One month of the fleet plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FleetMonth {
    /// Servers in service this month.
    pub in_service: u64,
    /// Servers ordered this month, in service `lead_time` months later.
    pub ordered: u64,
    /// Whether fewer servers are in service than the month requires.
    pub under_provisioned: bool,
}

/// The fleet of every month, given the servers each requires, the servers in service at the
/// start, the lead time in months and whether servers are owned or rented.
pub fn plan_fleet(
    required: &[u64],
    initial: u64,
    lead_time: usize,
    ownership: Ownership,
) -> Vec<FleetMonth> {
    let in_service = in_service(required, initial, lead_time, ownership);
    (0..required.len())
        .map(|p| {
            let arriving = p + lead_time;
            let ordered = match arriving {
                a if a >= required.len() => 0,
                0 => in_service[0].saturating_sub(initial),
                a => in_service[a].saturating_sub(in_service[a - 1]),
            };
            FleetMonth {
                in_service: in_service[p],
                ordered,
                under_provisioned: in_service[p] < required[p],
            }
        })
        .collect()
}

/// Servers in service in each month.
fn in_service(required: &[u64], initial: u64, lead_time: usize, ownership: Ownership) -> Vec<u64> {
    let mut fleet: Vec<u64> = Vec::with_capacity(required.len());
    for p in 0..required.len() {
        let servers = match ownership {
            Ownership::Owned if p < lead_time => initial,
            Ownership::Owned => fleet.last().copied().unwrap_or(initial).max(required[p]),
            Ownership::Rented if p < lead_time => {
                let needed_before_arrivals = required[p..lead_time.min(required.len())]
                    .iter()
                    .copied()
                    .max()
                    .unwrap_or(0);
                initial.min(needed_before_arrivals)
            }
            Ownership::Rented => required[p],
        };
        fleet.push(servers);
    }
    fleet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(plan: &[FleetMonth]) -> (Vec<u64>, Vec<u64>, Vec<bool>) {
        (
            plan.iter().map(|m| m.in_service).collect(),
            plan.iter().map(|m| m.ordered).collect(),
            plan.iter().map(|m| m.under_provisioned).collect(),
        )
    }

    #[test]
    fn owned_fleets_order_a_lead_time_ahead_and_never_shrink() {
        // Requirement 2, 2, 3, 5, 4, 6 from 2 servers, lead time 2: month 2's 3 servers are
        // ordered in month 0, month 3's two more in month 1, month 5's one more in month 3;
        // month 4 keeps 5.
        let plan = plan_fleet(&[2, 2, 3, 5, 4, 6], 2, 2, Ownership::Owned);
        let (in_service, ordered, under) = columns(&plan);
        assert_eq!(in_service, vec![2, 2, 3, 5, 5, 6]);
        assert_eq!(ordered, vec![1, 2, 0, 1, 0, 0]);
        assert!(under.iter().all(|u| !u));
        // Without a lead time the order arrives the month it is placed.
        let (in_service, ordered, _) = columns(&plan_fleet(&[3, 1, 4], 2, 0, Ownership::Owned));
        assert_eq!(in_service, vec![3, 3, 4]);
        assert_eq!(ordered, vec![1, 0, 1]);
    }

    #[test]
    fn months_before_the_first_arrival_are_under_provisioned_when_the_start_is_too_small() {
        // A launch in month 1 needs 6 servers; with lead time 3 none can come before month 3.
        let plan = plan_fleet(&[2, 6, 6, 6, 7], 2, 3, Ownership::Owned);
        let (in_service, ordered, under) = columns(&plan);
        assert_eq!(in_service, vec![2, 2, 2, 6, 7]);
        assert_eq!(ordered, vec![4, 1, 0, 0, 0]);
        assert_eq!(under, vec![false, true, true, false, false]);
        // A fleet larger than needed at the start is kept when owned.
        let (in_service, ordered, _) = columns(&plan_fleet(&[1, 1, 2], 4, 1, Ownership::Owned));
        assert_eq!(in_service, vec![4, 4, 4]);
        assert_eq!(ordered, vec![0, 0, 0]);
    }

    #[test]
    fn rented_fleets_follow_the_requirement_down_at_once_and_up_after_the_lead_time() {
        // Requirement 4, 2, 3, 1, 5 from 4 servers, lead time 3: month 0 keeps 4; month 1
        // keeps the 3 that month 2 needs again before anything can arrive; from month 3 on
        // the fleet is the requirement, month 4's increase of 4 ordered in month 1.
        let plan = plan_fleet(&[4, 2, 3, 1, 5], 4, 3, Ownership::Rented);
        let (in_service, ordered, under) = columns(&plan);
        assert_eq!(in_service, vec![4, 3, 3, 1, 5]);
        assert_eq!(ordered, vec![0, 4, 0, 0, 0]);
        assert!(under.iter().all(|u| !u));
        // With lead time 2, month 2 can be served by an order of month 0: month 1 returns
        // what month 1 does not need.
        let (in_service, ordered, _) =
            columns(&plan_fleet(&[4, 2, 3, 1, 5], 4, 2, Ownership::Rented));
        assert_eq!(in_service, vec![4, 2, 3, 1, 5]);
        assert_eq!(ordered, vec![1, 0, 4, 0, 0]);
        // Too few at the start: under-provisioned until the first order arrives.
        let plan = plan_fleet(&[3, 3, 3], 2, 1, Ownership::Rented);
        let (in_service, ordered, under) = columns(&plan);
        assert_eq!(in_service, vec![2, 3, 3]);
        assert_eq!(ordered, vec![1, 0, 0]);
        assert_eq!(under, vec![true, false, false]);
    }
}
