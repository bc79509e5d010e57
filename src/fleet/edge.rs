//! The user-facing edge link: requests come in over it, streamed tokens go out over it.
//!
//! A stream is a first-in-first-out link of fixed bandwidth plus a one-way latency: a message
//! of `b` bytes offered at `t` leaves at `max(t, free) + b/bandwidth` and arrives `latency`
//! later. When the offered load exceeds the bandwidth, the queue (and so the delay) grows, as
//! on a saturated uplink. Requests come in as one stream, in the order users send them. Each
//! replica's tokens go out as a stream of their own: responses of different replicas do not
//! queue behind one another, so that a replica's timing depends on its own steps only (what
//! simulating replicas apart, or many steps as one event, needs); a replica whose stream
//! alone exceeds the bandwidth still queues. The egress busy share adds up every stream, so
//! above 1 it says the link is oversubscribed. Egress bytes are what the provider bills.

use crate::stats::ExactSum;
use crate::units::{Bytes, BytesPerSec, Seconds, u64_to_f64};

/// The edge link a scenario gets when it sets none: 100 Gb/s each way, no latency (latencies
/// are measured at the datacenter edge), about 4 bytes of text per prompt token ("one token
/// is about four characters of English", OpenAI's tokenizer guide) plus 1 KB of HTTP headers
/// and JSON, and 200 bytes per streamed token (one server-sent event carrying a
/// chat-completion chunk with ids, model name and a one-token delta).
pub const DEFAULT_EDGE: EdgeConfig = EdgeConfig {
    bandwidth: BytesPerSec(12.5e9),
    latency: Seconds(0.0),
    request_bytes_per_token: 4.0,
    request_overhead_bytes: 1000.0,
    response_bytes_per_token: 200.0,
};

/// The edge link's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdgeConfig {
    /// Bandwidth of each direction.
    pub bandwidth: BytesPerSec,
    /// One-way latency between the edge and the router.
    pub latency: Seconds,
    /// Request bytes per prompt token.
    pub request_bytes_per_token: f64,
    /// Fixed request bytes (headers, framing).
    pub request_overhead_bytes: f64,
    /// Response bytes per streamed output token.
    pub response_bytes_per_token: f64,
}

/// One direction of the link.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Direction {
    free_at_s: f64,
    bytes: f64,
    busy_s: f64,
}

impl Direction {
    /// Sends `bytes` offered at `now_s` over a link of `bandwidth` and `latency`; returns
    /// the arrival time in seconds.
    pub fn send(
        &mut self,
        now_s: f64,
        bytes: f64,
        bandwidth: BytesPerSec,
        latency: Seconds,
    ) -> f64 {
        self.carry(now_s, bytes, bytes / bandwidth.0) + latency.0
    }

    /// Sends `bytes` offered at `now_s` that take `transfer` seconds to send; returns when
    /// their last byte has left.
    fn carry(&mut self, now_s: f64, bytes: f64, transfer: f64) -> f64 {
        self.free_at_s = self.free_at_s.max(now_s) + transfer;
        self.bytes += bytes;
        self.busy_s += transfer;
        self.free_at_s
    }

    /// Bytes carried.
    pub fn bytes(&self) -> Bytes {
        Bytes(self.bytes)
    }

    /// Seconds spent transmitting.
    pub fn busy(&self) -> Seconds {
        Seconds(self.busy_s)
    }
}

/// The edge link: one stream in, one stream out per replica.
#[derive(Clone, Debug)]
pub struct EdgeLink {
    config: EdgeConfig,
    /// Requests, users to router.
    pub ingress: Direction,
    /// Responses, each replica's to its users.
    egress: Vec<Direction>,
}

impl EdgeLink {
    /// An idle link in front of `replicas` replicas.
    pub fn new(config: EdgeConfig, replicas: usize) -> EdgeLink {
        EdgeLink {
            config,
            ingress: Direction::default(),
            egress: vec![Direction::default(); replicas],
        }
    }

    /// Bytes carried out and seconds spent sending them, all replicas' streams together,
    /// as sums that links over other replicas add to exactly.
    pub fn egress_totals(&self) -> (ExactSum, ExactSum) {
        let (mut bytes, mut busy) = (ExactSum::default(), ExactSum::default());
        for stream in &self.egress {
            bytes.add(stream.bytes);
            busy.add(stream.busy_s);
        }
        (bytes, busy)
    }

    /// When a request of `prompt_tokens` arriving at `now_s` reaches the router.
    pub fn request(&mut self, now_s: f64, prompt_tokens: u32) -> f64 {
        let c = &self.config;
        let bytes = c.request_overhead_bytes + c.request_bytes_per_token * f64::from(prompt_tokens);
        self.ingress.send(now_s, bytes, c.bandwidth, c.latency)
    }

    /// When `tokens` tokens that replica `replica` emitted together at `now_s` reach their
    /// users.
    pub fn response(&mut self, replica: usize, now_s: f64, tokens: u64) -> f64 {
        self.responses(replica, tokens).send(now_s)
    }

    /// Replica `replica`'s stream out, for messages of `tokens` tokens each (the steps of a
    /// run of decode steps): their size and transfer time are worked out once.
    pub fn responses(&mut self, replica: usize, tokens: u64) -> Responses<'_> {
        let c = &self.config;
        let bytes = c.response_bytes_per_token * u64_to_f64(tokens);
        Responses {
            stream: &mut self.egress[replica],
            bytes,
            transfer: bytes / c.bandwidth.0,
            latency_s: c.latency.0,
        }
    }
}

/// A replica's stream out, sending messages of one size ([`EdgeLink::responses`]).
pub struct Responses<'a> {
    stream: &'a mut Direction,
    bytes: f64,
    transfer: f64,
    latency_s: f64,
}

impl Responses<'_> {
    /// When a message offered at `now_s` reaches its users, in seconds.
    pub fn send(&mut self, now_s: f64) -> f64 {
        self.stream.carry(now_s, self.bytes, self.transfer) + self.latency_s
    }

    /// Bytes of each message.
    pub fn bytes(&self) -> f64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> EdgeLink {
        EdgeLink::new(
            EdgeConfig {
                bandwidth: BytesPerSec(1000.0),
                latency: Seconds(0.5),
                request_bytes_per_token: 4.0,
                request_overhead_bytes: 100.0,
                response_bytes_per_token: 200.0,
            },
            2,
        )
    }

    #[test]
    fn an_idle_link_adds_transfer_and_latency() {
        let mut edge = link();
        // 100 + 4·100 = 500 bytes at 1000 B/s: 0.5 s, plus 0.5 s of latency.
        assert_eq!(edge.request(10.0, 100), 11.0);
        assert_eq!(edge.ingress.bytes(), Bytes(500.0));
    }

    #[test]
    fn a_saturated_stream_queues() {
        let mut edge = link();
        // Two 5-token bursts (1000 B each) of one replica offered at once leave one after
        // the other.
        assert_eq!(edge.response(0, 0.0, 5), 1.5);
        assert_eq!(edge.response(0, 0.0, 5), 2.5);
        // Later traffic finds the link free again.
        assert_eq!(edge.response(0, 10.0, 5), 11.5);
        let (bytes, busy) = edge.egress_totals();
        assert_eq!((bytes.value(), busy.value()), (3000.0, 3.0));
    }

    #[test]
    fn replicas_stream_apart() {
        let mut edge = link();
        // Another replica's burst at the same moment does not wait for the first's.
        assert_eq!(edge.response(0, 0.0, 5), 1.5);
        assert_eq!(edge.response(1, 0.0, 5), 1.5);
        // Both count toward the link's load: 2 s of sending in total.
        let (bytes, busy) = edge.egress_totals();
        assert_eq!((bytes.value(), busy.value()), (2000.0, 2.0));
    }
}
