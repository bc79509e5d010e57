//! The router in front of the replicas: which replica a new request goes to.

use serde::{Deserialize, Serialize};

/// A routing policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouterPolicy {
    /// Each replica in turn, whatever its load (stateless).
    #[default]
    RoundRobin,
    /// The replica with the fewest requests waiting or running; ties go to the first
    /// after the last choice, so equal replicas share the load in turn.
    LeastOutstandingRequests,
}

impl RouterPolicy {
    /// The name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            RouterPolicy::RoundRobin => "round-robin",
            RouterPolicy::LeastOutstandingRequests => "least-outstanding-requests",
        }
    }
}

/// A router's state: where the last request went.
#[derive(Clone, Debug)]
pub struct Router {
    policy: RouterPolicy,
    replicas: usize,
    next: usize,
}

impl Router {
    /// A router over `replicas` replicas.
    pub fn new(policy: RouterPolicy, replicas: usize) -> Router {
        Router {
            policy,
            replicas,
            next: 0,
        }
    }

    /// Picks a replica; `outstanding(i)` is replica `i`'s requests waiting or running.
    pub fn route(&mut self, outstanding: impl Fn(usize) -> usize) -> usize {
        let chosen = match self.policy {
            RouterPolicy::RoundRobin => self.next,
            RouterPolicy::LeastOutstandingRequests => (0..self.replicas)
                .map(|offset| (self.next + offset) % self.replicas)
                .min_by_key(|&i| outstanding(i))
                .expect("at least one replica"),
        };
        self.next = (chosen + 1) % self.replicas;
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles() {
        let mut router = Router::new(RouterPolicy::RoundRobin, 3);
        let picks: Vec<usize> = (0..5).map(|_| router.route(|_| 0)).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1]);
    }

    #[test]
    fn least_outstanding_picks_the_emptiest_and_rotates_ties() {
        let mut router = Router::new(RouterPolicy::LeastOutstandingRequests, 3);
        let load = [2, 0, 1];
        assert_eq!(router.route(|i| load[i]), 1);
        let even = [1, 1, 1];
        assert_eq!(router.route(|i| even[i]), 2);
        assert_eq!(router.route(|i| even[i]), 0);
    }
}
