//! The router in front of the replicas: which healthy replica a new request goes to.

use rand::Rng;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// A routing policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouterPolicy {
    /// Each replica in turn, whatever its load (stateless).
    #[default]
    RoundRobin,
    /// A replica drawn uniformly at random (stateless).
    Random,
    /// The replica with the fewest requests waiting or running.
    LeastOutstandingRequests,
    /// The replica holding the fewest tokens of context in its waiting and running
    /// requests (prompt plus tokens generated so far: what a router can know without
    /// knowing output lengths in advance).
    LeastOutstandingTokens,
    /// Two replicas drawn at random; the one with fewer outstanding requests (Mitzenmacher,
    /// "The Power of Two Choices in Randomized Load Balancing", 2001).
    PowerOfTwoChoices,
    /// The replica whose prefix cache holds the longest run of the request's prompt blocks,
    /// ties to the fewest outstanding requests; but while the fleet is out of balance (the
    /// busiest replica has more than [`PREFIX_BALANCE_SLACK`] outstanding requests more than
    /// the least busy), the least busy. This is SGLang's cache-aware routing (its router's
    /// default `balance_abs_threshold` of 32) reading each replica's actual cache, as llm-d's
    /// precise prefix-cache scorer does from the engines' KV events. It needs prefix
    /// caching.
    PrefixAware,
}

/// How many more outstanding requests the busiest replica may have than the least busy
/// before the prefix-aware router stops following cached prefixes and balances the load.
pub const PREFIX_BALANCE_SLACK: usize = 32;

impl RouterPolicy {
    /// Every policy, in the order the README lists them.
    pub const ALL: [RouterPolicy; 6] = [
        RouterPolicy::RoundRobin,
        RouterPolicy::Random,
        RouterPolicy::LeastOutstandingRequests,
        RouterPolicy::LeastOutstandingTokens,
        RouterPolicy::PowerOfTwoChoices,
        RouterPolicy::PrefixAware,
    ];

    /// The name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            RouterPolicy::RoundRobin => "round-robin",
            RouterPolicy::Random => "random",
            RouterPolicy::LeastOutstandingRequests => "least-outstanding-requests",
            RouterPolicy::LeastOutstandingTokens => "least-outstanding-tokens",
            RouterPolicy::PowerOfTwoChoices => "power-of-two-choices",
            RouterPolicy::PrefixAware => "prefix-aware",
        }
    }

    /// Whether the choice ignores replica state, so replicas are independent given their
    /// arrivals.
    pub fn is_stateless(self) -> bool {
        matches!(self, RouterPolicy::RoundRobin | RouterPolicy::Random)
    }
}

/// What the router may see of one replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaLoad {
    /// Whether it is up and taking requests.
    pub healthy: bool,
    /// Requests waiting or running.
    pub requests: usize,
    /// Tokens of context of those requests.
    pub tokens: u64,
    /// Blocks of the request's prompt, from its first, that its prefix cache holds (read
    /// only for the prefix-aware policy).
    pub cached_blocks: u32,
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

    /// The policy.
    pub fn policy(&self) -> RouterPolicy {
        self.policy
    }

    /// Picks a healthy replica, or `None` when none is; `load(i)` describes replica `i` and
    /// `healthy` is how many are healthy. Ties go to the first after the last choice, so
    /// equal replicas share the load in turn.
    pub fn route<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        healthy: usize,
        load: impl Fn(usize) -> ReplicaLoad,
    ) -> Option<usize> {
        if healthy == 0 {
            return None;
        }
        let in_turn = (0..self.replicas)
            .map(|offset| (self.next + offset) % self.replicas)
            .map(|i| (i, load(i)))
            .filter(|(_, l)| l.healthy);
        let chosen = match self.policy {
            RouterPolicy::RoundRobin => in_turn.map(|(i, _)| i).next(),
            RouterPolicy::LeastOutstandingRequests => {
                in_turn.min_by_key(|(_, l)| l.requests).map(|(i, _)| i)
            }
            RouterPolicy::LeastOutstandingTokens => {
                in_turn.min_by_key(|(_, l)| l.tokens).map(|(i, _)| i)
            }
            RouterPolicy::PrefixAware => prefix_aware(in_turn),
            RouterPolicy::Random => Some(self.random_healthy(rng, healthy, &load)),
            RouterPolicy::PowerOfTwoChoices => {
                let first = self.random_healthy(rng, healthy, &load);
                let second = if healthy > 1 {
                    loop {
                        let other = self.random_healthy(rng, healthy, &load);
                        if other != first {
                            break other;
                        }
                    }
                } else {
                    first
                };
                Some(if load(second).requests < load(first).requests {
                    second
                } else {
                    first
                })
            }
        }?;
        self.next = (chosen + 1) % self.replicas;
        Some(chosen)
    }

    /// A healthy replica drawn uniformly: by rejection when most are healthy, else by
    /// counting through them.
    fn random_healthy<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        healthy: usize,
        load: &impl Fn(usize) -> ReplicaLoad,
    ) -> usize {
        if 2 * healthy >= self.replicas {
            loop {
                let i = rng.random_range(0..self.replicas);
                if load(i).healthy {
                    return i;
                }
            }
        }
        let k = rng.random_range(0..healthy);
        (0..self.replicas)
            .filter(|&i| load(i).healthy)
            .nth(k)
            .expect("`healthy` counts the healthy replicas")
    }
}

/// The prefix-aware choice among `replicas` (healthy, in turn order): the longest cached
/// prefix, then the fewest outstanding requests, then the first in turn; the fewest
/// outstanding requests while the busiest has more than [`PREFIX_BALANCE_SLACK`] more.
fn prefix_aware(replicas: impl Iterator<Item = (usize, ReplicaLoad)>) -> Option<usize> {
    let mut least: Option<(usize, usize)> = None;
    let mut best: Option<(usize, ReplicaLoad)> = None;
    let mut most = 0;
    for (i, l) in replicas {
        most = most.max(l.requests);
        if least.is_none_or(|(_, requests)| l.requests < requests) {
            least = Some((i, l.requests));
        }
        let better = best.is_none_or(|(_, b)| {
            (l.cached_blocks, std::cmp::Reverse(l.requests))
                > (b.cached_blocks, std::cmp::Reverse(b.requests))
        });
        if better {
            best = Some((i, l));
        }
    }
    let (least, fewest) = least?;
    if most - fewest > PREFIX_BALANCE_SLACK {
        Some(least)
    } else {
        best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Stream, stream};

    fn up(requests: usize, tokens: u64) -> ReplicaLoad {
        ReplicaLoad {
            healthy: true,
            requests,
            tokens,
            cached_blocks: 0,
        }
    }

    fn cached(requests: usize, cached_blocks: u32) -> ReplicaLoad {
        ReplicaLoad {
            cached_blocks,
            ..up(requests, 0)
        }
    }

    fn route_all(policy: RouterPolicy, loads: &[ReplicaLoad], n: usize) -> Vec<usize> {
        let mut router = Router::new(policy, loads.len());
        let mut rng = stream(1, 0, Stream::Routing);
        let healthy = loads.iter().filter(|l| l.healthy).count();
        (0..n)
            .map(|_| router.route(&mut rng, healthy, |i| loads[i]).unwrap())
            .collect()
    }

    #[test]
    fn round_robin_cycles_over_healthy_replicas() {
        let mut loads = vec![up(0, 0); 3];
        assert_eq!(
            route_all(RouterPolicy::RoundRobin, &loads, 5),
            vec![0, 1, 2, 0, 1]
        );
        loads[1].healthy = false;
        assert_eq!(
            route_all(RouterPolicy::RoundRobin, &loads, 4),
            vec![0, 2, 0, 2]
        );
    }

    #[test]
    fn least_outstanding_picks_the_emptiest_and_rotates_ties() {
        let loads = [up(2, 10), up(0, 900), up(1, 5)];
        assert_eq!(
            route_all(RouterPolicy::LeastOutstandingRequests, &loads, 1),
            vec![1]
        );
        assert_eq!(
            route_all(RouterPolicy::LeastOutstandingTokens, &loads, 1),
            vec![2]
        );
        let even = [up(1, 1); 3];
        assert_eq!(
            route_all(RouterPolicy::LeastOutstandingRequests, &even, 3),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn random_policies_spread_evenly_and_avoid_failed_replicas() {
        let mut loads = vec![up(0, 0); 4];
        loads[2].healthy = false;
        for policy in [RouterPolicy::Random, RouterPolicy::PowerOfTwoChoices] {
            let mut counts = [0usize; 4];
            for i in route_all(policy, &loads, 30_000) {
                counts[i] += 1;
            }
            assert_eq!(counts[2], 0, "{policy:?}");
            for i in [0, 1, 3] {
                assert!(
                    (counts[i] as f64 - 10_000.0).abs() < 500.0,
                    "{policy:?} {counts:?}"
                );
            }
        }
    }

    #[test]
    fn power_of_two_prefers_the_less_loaded_of_its_pair() {
        // One busy replica among idle ones is picked only when both draws land on it, which
        // cannot happen with distinct draws: never.
        let loads = [up(50, 0), up(0, 0), up(0, 0)];
        let picks = route_all(RouterPolicy::PowerOfTwoChoices, &loads, 3000);
        assert!(picks.iter().all(|&i| i != 0));
    }

    #[test]
    fn prefix_aware_follows_the_longest_cached_prefix_unless_the_load_is_out_of_balance() {
        let policy = RouterPolicy::PrefixAware;
        // The longest prefix wins over a lighter load.
        let loads = [cached(3, 1), cached(9, 4), cached(0, 0)];
        assert_eq!(route_all(policy, &loads, 1), vec![1]);
        // Equal prefixes: the fewest outstanding; equal loads too: in turn.
        let loads = [cached(5, 2), cached(4, 2), cached(4, 2)];
        assert_eq!(route_all(policy, &loads, 1), vec![1]);
        assert_eq!(route_all(policy, &[cached(0, 0); 3], 3), vec![0, 1, 2]);
        // The replica holding the prefix is 33 requests busier than the least busy: balance.
        let slack = PREFIX_BALANCE_SLACK;
        let loads = [cached(1, 0), cached(1 + slack + 1, 7), cached(2, 0)];
        assert_eq!(route_all(policy, &loads, 1), vec![0]);
        // At exactly the slack, the prefix still wins.
        let loads = [cached(1, 0), cached(1 + slack, 7)];
        assert_eq!(route_all(policy, &loads, 1), vec![1]);
        // A failed replica is never chosen, whatever it holds.
        let mut loads = [cached(0, 9), cached(0, 1)];
        loads[0].healthy = false;
        assert_eq!(route_all(policy, &loads, 1), vec![1]);
    }

    #[test]
    fn no_healthy_replica_means_no_route() {
        let loads = [ReplicaLoad::default(); 3];
        let mut router = Router::new(RouterPolicy::LeastOutstandingRequests, 3);
        let mut rng = stream(1, 0, Stream::Routing);
        assert_eq!(router.route(&mut rng, 0, |i| loads[i]), None);
    }
}
