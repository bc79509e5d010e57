//! Request logs replayed as the workload: the Azure LLM inference traces, BurstGPT and
//! Mooncake ([`format`](mod@format)) are read into a [`Trace`] — its requests in time order,
//! in seconds from the first — and replayed, scaled in time and rate and looped, by
//! [`replay`].
//!
//! A trace is read once per study and shared by every run (`Arc`). It keeps three columns of
//! 16 bytes a request together, and for Mooncake the ids of each prompt's 512-token blocks
//! (equal ids are a shared prefix), for prefix caching.

pub mod format;
pub mod replay;

pub use format::TraceFormat;
pub use replay::{MAX_RATE_SCALE, Played, Player, Replay};

use crate::error::InputError;
use std::path::Path;
use std::sync::Arc;

/// What to do with a row that cannot be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BadRows {
    /// Stop with an error naming the row.
    #[default]
    Reject,
    /// Leave it out and count it.
    Skip,
}

/// One request of a trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceRecord {
    /// Seconds from the trace's first request.
    pub time_s: f64,
    /// Prompt length in tokens.
    pub prompt_tokens: u32,
    /// Output length in tokens.
    pub output_tokens: u32,
}

/// How the rows of a trace file were used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowCounts {
    /// Requests kept.
    pub requests: u64,
    /// Rows with no prompt or no output tokens, left out: a request the service did not
    /// answer (BurstGPT marks its failures so) cannot be served as one that emits a token.
    pub empty: u64,
    /// Rows that could not be read, skipped (with [`BadRows::Skip`]).
    pub bad: u64,
    /// The first bad row: its line and what was wrong.
    pub first_bad: Option<String>,
}

/// The ids of each request's prompt blocks (Mooncake's `hash_ids`), renumbered densely in
/// order of first appearance: only their equality means anything (a shared prefix).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromptBlocks {
    ids: Vec<u32>,
    /// Request `i`'s ids are `ids[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: Vec<usize>,
}

/// A request log, its requests in time order (ties in file order), times in seconds from
/// the first request.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    name: String,
    format: TraceFormat,
    times_s: Vec<f64>,
    prompt_tokens: Arc<[u32]>,
    output_tokens: Arc<[u32]>,
    blocks: Option<PromptBlocks>,
    clock_start_s: Option<f64>,
    rows: RowCounts,
}

impl Trace {
    /// Reads the trace at `path` in `format`, or in the format its first line shows. A row
    /// that cannot be read stops the reading with an error naming the file, the line, the
    /// column and what was expected, or is skipped and counted, as `bad_rows` says.
    pub fn read(
        path: &Path,
        format: Option<TraceFormat>,
        bad_rows: BadRows,
    ) -> Result<Trace, InputError> {
        format::read(path, format, bad_rows)
    }

    /// The file name the trace was read from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its format.
    pub fn format(&self) -> TraceFormat {
        self.format
    }

    /// How its rows were used.
    pub fn rows(&self) -> &RowCounts {
        &self.rows
    }

    /// Requests.
    pub fn len(&self) -> usize {
        self.times_s.len()
    }

    /// Whether it has no requests (never so for a trace that was read).
    pub fn is_empty(&self) -> bool {
        self.times_s.is_empty()
    }

    /// Request `i`, in time order.
    pub fn record(&self, i: usize) -> TraceRecord {
        TraceRecord {
            time_s: self.times_s[i],
            prompt_tokens: self.prompt_tokens[i],
            output_tokens: self.output_tokens[i],
        }
    }

    /// Every request in time order.
    pub fn records(&self) -> impl Iterator<Item = TraceRecord> + '_ {
        (0..self.len()).map(|i| self.record(i))
    }

    /// Arrival times, seconds from the first request, in order.
    pub fn times_s(&self) -> &[f64] {
        &self.times_s
    }

    /// Prompt lengths, in time order.
    pub fn prompt_tokens(&self) -> &Arc<[u32]> {
        &self.prompt_tokens
    }

    /// Output lengths, in time order.
    pub fn output_tokens(&self) -> &Arc<[u32]> {
        &self.output_tokens
    }

    /// Whether its requests carry prompt block ids (Mooncake's `hash_ids`): some do.
    pub fn has_prompt_blocks(&self) -> bool {
        self.blocks.as_ref().is_some_and(|b| !b.ids.is_empty())
    }

    /// The ids of request `i`'s prompt blocks, for a trace that has them (Mooncake).
    pub fn prompt_blocks(&self, i: usize) -> Option<&[u32]> {
        let blocks = self.blocks.as_ref()?;
        let start = if i == 0 { 0 } else { blocks.ends[i - 1] };
        Some(&blocks.ids[start..blocks.ends[i]])
    }

    /// Seconds after midnight of the first request, for a trace whose timestamps are dates
    /// (Azure); `None` when they count from the trace's start.
    pub fn clock_start_s(&self) -> Option<f64> {
        self.clock_start_s
    }

    /// Seconds from the first request to the last.
    pub fn span_s(&self) -> f64 {
        self.times_s.last().copied().unwrap_or(0.0)
    }

    /// The time one pass of the trace takes when it repeats: its span and one mean gap, so
    /// that the last request and the first of the next pass are a mean gap apart. Zero when
    /// every request is at the same instant.
    pub fn period_s(&self) -> f64 {
        match self.len() {
            0 | 1 => 0.0,
            n => self.span_s() * n as f64 / (n - 1) as f64,
        }
    }
}

/// The columns of a trace as its reader collects them, in file order, before sorting.
#[derive(Debug, Default)]
struct Columns {
    times_s: Vec<f64>,
    prompt_tokens: Vec<u32>,
    output_tokens: Vec<u32>,
    blocks: Option<PromptBlocks>,
}

impl Columns {
    /// Sorts the requests by time (ties in file order), makes times relative to the first,
    /// and shares the lengths. `clock_origin_s` is the time of day of time 0 of the
    /// columns, for dated timestamps.
    fn into_trace(
        self,
        name: String,
        format: TraceFormat,
        clock_origin_s: Option<f64>,
        rows: RowCounts,
    ) -> Trace {
        let mut order: Vec<usize> = (0..self.times_s.len()).collect();
        order.sort_by(|a, b| self.times_s[*a].total_cmp(&self.times_s[*b]));
        let first = order.first().map_or(0.0, |i| self.times_s[*i]);
        let blocks = self.blocks.map(|blocks| {
            let mut sorted = PromptBlocks::default();
            for &i in &order {
                let start = if i == 0 { 0 } else { blocks.ends[i - 1] };
                sorted
                    .ids
                    .extend_from_slice(&blocks.ids[start..blocks.ends[i]]);
                sorted.ends.push(sorted.ids.len());
            }
            sorted
        });
        Trace {
            name,
            format,
            times_s: order.iter().map(|i| self.times_s[*i] - first).collect(),
            prompt_tokens: order.iter().map(|i| self.prompt_tokens[*i]).collect(),
            output_tokens: order.iter().map(|i| self.output_tokens[*i]).collect(),
            blocks,
            clock_start_s: clock_origin_s.map(|origin| (origin + first).rem_euclid(86_400.0)),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_sort_by_time_keeping_file_order_for_ties() {
        let columns = Columns {
            times_s: vec![5.0, 3.0, 5.0, 4.0],
            prompt_tokens: vec![10, 20, 30, 40],
            output_tokens: vec![1, 2, 3, 4],
            blocks: Some(PromptBlocks {
                ids: vec![0, 1, 2, 0, 3, 4],
                ends: vec![2, 3, 5, 6],
            }),
        };
        let trace = columns.into_trace(
            "t.jsonl".into(),
            TraceFormat::Mooncake,
            Some(86_398.0),
            RowCounts::default(),
        );
        assert_eq!(trace.times_s(), &[0.0, 1.0, 2.0, 2.0]);
        assert_eq!(&trace.prompt_tokens()[..], &[20, 40, 10, 30]);
        assert_eq!(trace.prompt_blocks(0), Some(&[2][..]));
        assert_eq!(trace.prompt_blocks(1), Some(&[4][..]));
        assert_eq!(trace.prompt_blocks(2), Some(&[0, 1][..]));
        assert_eq!(trace.prompt_blocks(3), Some(&[0, 3][..]));
        // 86,398 s + 3 s after midnight is 1 s into the next day.
        assert!((trace.clock_start_s().unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(trace.span_s(), 2.0);
        // Four requests over 2 s: a mean gap of 2/3 s.
        assert!((trace.period_s() - 8.0 / 3.0).abs() < 1e-12);
    }
}
