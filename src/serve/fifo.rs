//! A first-in first-out queue kept in fixed chunks, for the replicas' long waiting queues.
//!
//! A `VecDeque` doubles when it fills. An overloaded ChatGPT-scale evening fills all 3,617
//! replicas' queues evenly, so they all double within minutes of each other and the run's
//! memory jumps by the size of everything waiting (measured: 746 MB to 1.155 GB in the last
//! simulated minutes). Here a queue grows and shrinks by chunks of [`CHUNK`] entries, so it
//! holds at most two partly used chunks beyond its entries, however long it gets, and the
//! chunks it frees are the size that the next queue to grow asks for.

use std::collections::VecDeque;

/// Entries per chunk: 256 entries of 24 bytes are 6 KiB, so 3,617 queues hold at most
/// 43 MiB beyond their entries.
const CHUNK: usize = 256;

/// The queue.
#[derive(Clone, Debug)]
pub(super) struct Fifo<T> {
    /// Chunks, oldest first: each of [`CHUNK`] entries but the last, which is filling.
    chunks: VecDeque<Vec<T>>,
    /// Entries of the front chunk already taken out.
    head: usize,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo {
            chunks: VecDeque::new(),
            head: 0,
        }
    }
}

impl<T: Copy> Fifo<T> {
    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.chunks.back().map_or(0, |last| {
            CHUNK * (self.chunks.len() - 1) + last.len() - self.head
        })
    }

    /// Puts an entry at the back.
    pub fn push_back(&mut self, entry: T) {
        match self.chunks.back_mut() {
            Some(last) if last.len() < CHUNK => last.push(entry),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(entry);
                self.chunks.push_back(chunk);
            }
        }
    }

    /// The entry at the front.
    pub fn front(&self) -> Option<&T> {
        self.chunks.front().and_then(|chunk| chunk.get(self.head))
    }

    /// Takes the front entry out; a chunk emptied is freed, except the last, which is kept
    /// for the next entries.
    pub fn pop_front(&mut self) -> Option<T> {
        let chunk = self.chunks.front_mut()?;
        let entry = *chunk.get(self.head)?;
        self.head += 1;
        if self.head == chunk.len() {
            self.head = 0;
            if self.chunks.len() == 1 {
                self.chunks[0].clear();
            } else {
                self.chunks.pop_front();
            }
        }
        Some(entry)
    }

    /// Takes every entry out at once, and yields them front first.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + use<T> {
        let Fifo { chunks, head } = std::mem::take(self);
        chunks.into_iter().flatten().skip(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_out_in_the_order_they_went_in_across_chunks() {
        let mut fifo = Fifo::default();
        let mut out = Vec::new();
        for round in 0..5 {
            for i in 0..2 * CHUNK + 7 {
                fifo.push_back(round * 1_000 + i);
            }
            for _ in 0..CHUNK + 3 {
                let front = fifo.front().copied();
                out.push(fifo.pop_front().expect("an entry"));
                assert_eq!(front, out.last().copied());
            }
        }
        assert_eq!(fifo.len(), 5 * (CHUNK + 4));
        out.extend(fifo.drain());
        assert_eq!(out.len(), 5 * (2 * CHUNK + 7));
        assert!(out.windows(2).all(|w| w[0] < w[1]), "in order");
        assert_eq!((fifo.len(), fifo.front()), (0, None));
    }

    #[test]
    fn a_queue_holds_at_most_two_partly_used_chunks() {
        let mut fifo = Fifo::default();
        for i in 0..10 * CHUNK {
            fifo.push_back(i);
            if i % 3 == 0 {
                fifo.pop_front();
            }
            let capacity: usize = fifo.chunks.iter().map(Vec::capacity).sum();
            assert!(
                capacity <= fifo.len() + 2 * CHUNK,
                "{capacity} for {}",
                fifo.len()
            );
        }
    }

    #[test]
    fn an_emptied_queue_keeps_one_chunk_and_starts_it_afresh() {
        let mut fifo = Fifo::default();
        fifo.push_back(1u8);
        fifo.push_back(2);
        assert_eq!((fifo.pop_front(), fifo.pop_front()), (Some(1), Some(2)));
        assert_eq!((fifo.pop_front(), fifo.len()), (None, 0));
        assert_eq!(fifo.chunks.len(), 1);
        fifo.push_back(3);
        assert_eq!((fifo.front(), fifo.len()), (Some(&3), 1));
        assert_eq!(fifo.chunks.len(), 1);
    }
}
