//! A tournament tree over a fixed set of owners, each with at most one pending event: the
//! earliest of them is at the root, and changing one owner's event replays only the matches
//! on its path, `log₂ owners` comparisons of keys, with nothing moved.
//!
//! A replica has one step (or one run of steps) in flight at a time, so its next event is
//! such an entry: rescheduling it replaces it in place, where a heap would keep the old one
//! until it came up, stale, and would move whole events as it sifted.

use super::queue::EventKey;

/// One pending key per owner, the earliest found in O(1) and any changed in O(log n).
#[derive(Clone, Debug)]
pub struct Tournament {
    /// `nodes[i]`: the earliest key under node `i` and its owner (root 1, children `2i` and
    /// `2i + 1`, the leaves at `size + owner`), side by side so that a match reads one place.
    nodes: Vec<Node>,
    /// Leaves: the owners' count rounded up to a power of two.
    size: usize,
}

/// A node of the tree: the winner of the matches below it.
#[derive(Clone, Copy, Debug)]
struct Node {
    /// Its key, packed ([`EventKey::packed`]) so that a match is one comparison; `u128::MAX`
    /// where nothing is pending.
    key: u128,
    /// Whose key that is.
    owner: u32,
}

impl Tournament {
    /// `owners` owners, none with anything pending.
    pub fn new(owners: usize) -> Tournament {
        let size = owners.max(1).next_power_of_two();
        let empty = Node {
            key: u128::MAX,
            owner: 0,
        };
        let mut tree = Tournament {
            nodes: vec![empty; 2 * size],
            size,
        };
        for owner in 0..size {
            tree.nodes[size + owner].owner = owner as u32;
        }
        for node in (1..size).rev() {
            tree.nodes[node].owner = tree.nodes[2 * node].owner;
        }
        tree
    }

    /// The owner with the earliest pending key, and the key; `None` when nothing is pending.
    pub fn earliest(&self) -> Option<(usize, EventKey)> {
        let root = self.nodes[1];
        (root.key != u128::MAX).then(|| (root.owner as usize, EventKey::unpacked(root.key)))
    }

    /// `owner`'s pending key, if any.
    pub fn key(&self, owner: usize) -> Option<EventKey> {
        let key = self.nodes[self.size + owner].key;
        (key != u128::MAX).then(|| EventKey::unpacked(key))
    }

    /// Sets `owner`'s pending key (or clears it, with `None`) and replays the matches on its
    /// path to the root.
    pub fn set(&mut self, owner: usize, key: Option<EventKey>) {
        let mut node = self.size + owner;
        let mut winner = Node {
            key: key.map_or(u128::MAX, EventKey::packed),
            owner: owner as u32,
        };
        self.nodes[node] = winner;
        while node > 1 {
            let sibling = self.nodes[node ^ 1];
            if sibling.key < winner.key {
                winner = sibling;
            }
            node /= 2;
            self.nodes[node] = winner;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::queue::EventQueue;
    use crate::engine::time::SimTime;

    /// Keys in the order they are made, at the given times.
    fn keys(times: &[u64]) -> Vec<EventKey> {
        let mut queue = EventQueue::<()>::new();
        times.iter().map(|&t| queue.key_later(SimTime(t))).collect()
    }

    #[test]
    fn the_root_holds_the_earliest_key_as_owners_change() {
        let mut t = Tournament::new(5);
        assert_eq!(t.earliest(), None);
        let k = keys(&[30, 10, 20, 10, 5]);
        for (owner, &key) in k.iter().take(4).enumerate() {
            t.set(owner, Some(key));
        }
        // Owners 1 and 3 are both at 10: the one keyed first wins.
        assert_eq!(t.earliest(), Some((1, k[1])));
        t.set(1, None);
        assert_eq!(t.earliest(), Some((3, k[3])));
        t.set(4, Some(k[4]));
        assert_eq!(t.earliest(), Some((4, k[4])));
        t.set(4, None);
        t.set(3, None);
        t.set(2, None);
        assert_eq!(t.earliest(), Some((0, k[0])));
        assert_eq!(t.key(0), Some(k[0]));
        assert_eq!(t.key(2), None);
        t.set(0, None);
        assert_eq!(t.earliest(), None);
    }

    #[test]
    fn draining_by_the_root_gives_every_key_in_order() {
        let times: Vec<u64> = (0..37).map(|i| (i * 7919) % 101).collect();
        let k = keys(&times);
        let mut t = Tournament::new(k.len());
        for (owner, &key) in k.iter().enumerate() {
            t.set(owner, Some(key));
        }
        let mut drained = Vec::new();
        while let Some((owner, key)) = t.earliest() {
            drained.push(key);
            t.set(owner, None);
        }
        let mut sorted = k.clone();
        sorted.sort();
        assert_eq!(drained, sorted);
    }
}
