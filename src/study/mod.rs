//! Studies: many runs of a scenario, each with its own draw of the uncertain inputs and its
//! own random day, spread over threads and gathered into distributions.
//!
//! Run `i` depends only on `(seed, i)`: its inputs are drawn from per-field streams and its
//! simulation from per-purpose streams of that run. Results are gathered in run order, so the
//! outputs are the same bytes whatever the number of threads.

pub mod headline;
pub mod record;
pub mod run;

pub use headline::{HEADLINES, Headline};
pub use record::{Interval, Record, RunDetail};
pub use run::{RunResult, run};

use crate::error::{Error, InputError};
use crate::facility::FacilityRow;
use crate::scenario::{Scenario, ScenarioFile};
use crate::stats::{LatencyDistributions, Slo, Spread, TimeSeriesRow, rank_correlation, spread};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// A per-interval series a study reports bands of.
#[derive(Clone, Copy, Debug)]
pub struct Series {
    /// Column stem in `timeseries.csv`.
    pub key: &'static str,
    /// Label for people.
    pub label: &'static str,
    value: fn(&TimeSeriesRow, &FacilityRow) -> f64,
}

macro_rules! series {
    ($key:literal, $label:literal, |$t:ident, $p:ident| $body:expr) => {
        Series {
            key: $key,
            label: $label,
            value: |$t: &TimeSeriesRow, $p: &FacilityRow| $body,
        }
    };
}

/// The series of `timeseries.csv`, each as p5, p50 and p95 across runs.
pub const SERIES: &[Series] = &[
    series!("arrivals_per_s", "arrivals per second", |t, _p| {
        t.arrivals as f64 / t.duration_s
    }),
    series!(
        "output_tokens_per_s",
        "output tokens per second",
        |t, _p| { t.output_tokens_per_s }
    ),
    series!("waiting_mean", "requests waiting", |t, _p| t.waiting_mean),
    series!("running_mean", "requests running", |t, _p| t.running_mean),
    series!("servers_on", "servers on", |t, _p| t.servers_on),
    series!("gpu_busy", "GPU busy (share)", |t, _p| t.gpu_busy),
    series!("flops_util", "FLOP utilisation (share)", |t, _p| t
        .flops_util),
    series!("kv_cache", "KV cache in use (share)", |t, _p| t.kv_cache),
    // Empty in intervals where no prompt was looked up (and without prefix caching).
    series!(
        "prefix_hit_rate",
        "prefix cache hit rate (share of prompt blocks)",
        |t, _p| t.prefix_hit_blocks as f64 / t.prefix_blocks as f64
    ),
    series!("gpu_power_kw", "GPU power (kW)", |t, _p| t.gpu_power_kw),
    series!("it_kw", "IT power (kW)", |_t, p| p.it_kw),
    series!("facility_kw", "facility power (kW)", |_t, p| p.facility_kw),
    series!("pue", "PUE", |_t, p| p.pue),
];

/// How a study runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Worker threads; all cores when absent.
    pub threads: Option<usize>,
    /// Whether to draw a progress bar on the terminal.
    pub progress: bool,
    /// Set to stop the study between runs (Ctrl-C).
    pub cancel: Option<&'a AtomicBool>,
    /// Runs simulated elsewhere, taken instead of simulating them: what merges the shards
    /// of a study cut across machines. `None` simulates every run.
    pub recorded: Option<&'a dyn Recorded>,
}

/// Records of runs simulated elsewhere — by the shards of a study — that a study takes
/// instead of simulating the runs. Because a study gathers records the same way wherever
/// they were made, taking them gives the bits simulating them would.
pub trait Recorded: Sync + fmt::Debug {
    /// Which of the recorded studies `file`, as it is now resolved (its variant and the runs'
    /// loads), is. An error when it is none of them and its runs may not be simulated here;
    /// `None` when they may.
    fn study(&self, file: &ScenarioFile) -> Result<Option<usize>, Error>;

    /// The record of run `run` of recorded study `study`. An error when it is missing and may
    /// not be simulated here; `None` when it may.
    fn record(&self, study: usize, run: u64) -> Result<Option<Record>, Error>;
}

/// An uncertain input across runs.
#[derive(Clone, Debug)]
pub struct InputSeries {
    /// Field path.
    pub field: String,
    /// Its distribution, as written.
    pub distribution: String,
    /// The value of each run.
    pub values: Vec<f64>,
}

/// How strongly an input drives the daily cost.
#[derive(Clone, Debug)]
pub struct Sensitivity {
    /// Field path.
    pub field: String,
    /// Its distribution.
    pub distribution: String,
    /// Spearman's rank correlation with the daily cost, `None` when either does not vary.
    pub rho: Option<f64>,
}

/// The p5, p50 and p95 of every [`SERIES`] in one interval.
#[derive(Clone, Debug)]
pub struct Band {
    /// Interval start, seconds from midnight.
    pub t_start_s: f64,
    /// Interval length.
    pub duration_s: f64,
    /// Per series: p5, p50, p95.
    pub values: Vec<[f64; 3]>,
}

/// A whole study.
#[derive(Clone, Debug)]
pub struct StudyResult {
    /// Runs.
    pub runs: u64,
    /// Run 0, resolved: the configuration shown in reports.
    pub first_scenario: Box<Scenario>,
    /// Run 0's detail.
    pub first_run: Box<RunDetail>,
    /// Every run's headline figures, aligned with [`HEADLINES`].
    pub outputs: Vec<Vec<f64>>,
    /// The distribution of each headline figure.
    pub headlines: Vec<Spread>,
    /// The uncertain inputs.
    pub inputs: Vec<InputSeries>,
    /// Inputs by their pull on the daily cost, strongest first.
    pub sensitivity: Vec<Sensitivity>,
    /// Mean of each bill line across runs: category, item, $ per day.
    pub cost_lines: Vec<(&'static str, String, f64)>,
    /// Per-interval bands.
    pub bands: Vec<Band>,
    /// Latencies of all runs together.
    pub latency: LatencyDistributions,
    /// The latency targets (run 0's).
    pub slo: Slo,
}

impl StudyResult {
    /// The spread of the headline called `key`.
    pub fn headline(&self, key: &str) -> Option<&Spread> {
        HEADLINES
            .iter()
            .position(|h| h.key == key)
            .map(|i| &self.headlines[i])
    }
}

/// A pool of `threads` workers (every core when `None`) for simulations in parallel.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, InputError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| InputError::general(format!("cannot start {threads:?} threads: {e}")))
}

/// Runs every run of `file` (or takes its record from `options.recorded`) and gathers the
/// distributions.
pub fn run_study(file: &ScenarioFile, options: &Options) -> Result<StudyResult, Error> {
    let runs = file.runs();
    // Resolve every run first, so that a bad draw stops the study before any work.
    let mut scenarios = (0..runs)
        .map(|i| file.scenario(i))
        .collect::<Result<Vec<_>, InputError>>()?;
    let recorded = match options.recorded {
        Some(store) => store.study(file)?.map(|study| (store, study)),
        None => None,
    };
    let pool = thread_pool(options.threads)?;
    // Threads the runs leave idle go to each run's replicas (one run on many cores).
    let run_threads = (pool.current_num_threads() / scenarios.len().max(1)).max(1);
    for scenario in &mut scenarios {
        scenario.run_threads = run_threads;
    }
    let mut records = Vec::with_capacity(scenarios.len());
    let mut latency = LatencyDistributions::default();
    for_each_run(
        &pool,
        &scenarios,
        options,
        |scenario| {
            if let Some((store, study)) = recorded {
                if let Some(record) = store.record(study, scenario.run)? {
                    return Ok(record);
                }
            }
            Ok(Record::of(scenario, run(scenario), scenario.run == 0))
        },
        |mut record| {
            latency.merge(&record.latency);
            record.latency = LatencyDistributions::default();
            records.push(record);
        },
    )?;
    let first = scenarios.into_iter().next().expect("at least one run");
    Ok(gather(first, records, latency))
}

/// Does `each` for every item on `pool`, in parallel, and hands the results to `take` in the
/// items' order. Items go in chunks, so that memory holds a chunk's results at most (a run's
/// latency histograms are large), and the work stops between items when `options.cancel` is
/// set. Draws a progress bar over the items when `options.progress`.
pub fn for_each_run<I: Sync, T: Send>(
    pool: &rayon::ThreadPool,
    items: &[I],
    options: &Options,
    each: impl Fn(&I) -> Result<T, Error> + Sync,
    mut take: impl FnMut(T),
) -> Result<(), Error> {
    let bar = if options.progress {
        ProgressBar::with_draw_target(Some(items.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} elapsed, ~{eta} left")
            .expect("a valid template"),
    );
    let cancelled = || options.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let chunk = (pool.current_num_threads() * 4).max(8);
    for batch in items.chunks(chunk) {
        let done: Vec<Option<Result<T, Error>>> = pool.install(|| {
            batch
                .par_iter()
                .map(|item| {
                    if cancelled() {
                        return None;
                    }
                    let result = each(item);
                    bar.inc(1);
                    Some(result)
                })
                .collect()
        });
        if cancelled() {
            bar.abandon();
            return Err(Error::Interrupted);
        }
        for result in done.into_iter().flatten() {
            take(result?);
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// Turns the runs' records into the study's distributions.
fn gather(
    first_scenario: Scenario,
    mut records: Vec<Record>,
    latency: LatencyDistributions,
) -> StudyResult {
    let runs = records.len();
    let first_run = records[0].detail.take().expect("run 0 keeps its detail");
    let outputs: Vec<Vec<f64>> = records.iter().map(|r| r.outputs.clone()).collect();
    let headlines = (0..HEADLINES.len())
        .map(|h| {
            let values: Vec<f64> = outputs
                .iter()
                .map(|o| o[h])
                .filter(|v| v.is_finite())
                .collect();
            spread(&values)
        })
        .collect();

    let inputs: Vec<InputSeries> = records[0]
        .inputs
        .iter()
        .map(|first| InputSeries {
            field: first.field.clone(),
            distribution: first.distribution.clone(),
            values: records
                .iter()
                .map(|r| {
                    r.inputs
                        .iter()
                        .find(|d| d.field == first.field)
                        .map_or(f64::NAN, |d| d.value)
                })
                .collect(),
        })
        .collect();
    let cost: Vec<f64> = outputs.iter().map(|o| o[0]).collect();
    let mut sensitivity: Vec<Sensitivity> = inputs
        .iter()
        .map(|input| Sensitivity {
            field: input.field.clone(),
            distribution: input.distribution.clone(),
            rho: rank_correlation(&input.values, &cost),
        })
        .collect();
    sensitivity.sort_by(|a, b| {
        let strength = |s: &Sensitivity| s.rho.map_or(-1.0, f64::abs);
        strength(b).total_cmp(&strength(a))
    });

    let mut cost_lines: Vec<(&'static str, String, f64)> = Vec::new();
    for record in &records {
        for (category, item, usd) in &record.cost_lines {
            match cost_lines
                .iter_mut()
                .find(|(c, i, _)| c == category && i == item)
            {
                Some(line) => line.2 += usd / runs as f64,
                None => cost_lines.push((category, item.clone(), usd / runs as f64)),
            }
        }
    }

    let bands = first_run
        .intervals
        .iter()
        .enumerate()
        .map(|(i, interval)| Band {
            t_start_s: interval.t_start_s,
            duration_s: interval.duration_s,
            values: (0..SERIES.len())
                .map(|s| {
                    let across: Vec<f64> = records
                        .iter()
                        .map(|r| r.series[i][s])
                        .filter(|v| v.is_finite())
                        .collect();
                    let spread = spread(&across);
                    [spread.p5, spread.p50, spread.p95]
                })
                .collect(),
        })
        .collect();

    StudyResult {
        runs: runs as u64,
        slo: first_scenario.slo.clone(),
        first_scenario: Box::new(first_scenario),
        first_run: Box::new(first_run),
        outputs,
        headlines,
        inputs,
        sensitivity,
        cost_lines,
        bands,
        latency,
    }
}
