//! Shards and merge: a study, a sweep's grid or a growth plan's months cut into disjoint
//! parts that run as separate processes — the tasks of a Slurm job array, the pods of a
//! Kubernetes Indexed Job — and merged into exactly the folder one process writes.
//!
//! # Concepts
//!
//! - **Points and units.** A command's work is an ordered list of **points**, each a study
//!   of the same runs: the scenario as written (`run`), the grid's points in the sweep's
//!   order (`sweep`), the fleet in service each month (`grow`). A **unit** is one run of one
//!   point; units are numbered `k = point × runs + run`.
//! - **Shard `I/N`** holds the units with `k mod N = I`. Indices are 0-based, as Kubernetes'
//!   `JOB_COMPLETION_INDEX` is and a Slurm array `--array=0-(N-1)` makes them. Round-robin
//!   rather than blocks: every shard gets about as many runs of every point, so cheap and
//!   dear points (small and large fleets) spread evenly.
//! - **Shard folder**: [`manifest::FILE`] ([`Manifest`]: what the shard was cut from and
//!   what it holds) and `units/{point}-{run}.json`, one [`UnitFile`] per unit: the run's
//!   [`Record`] (its draws, headline figures, series, bill and latency histograms; run 0's
//!   detail), every number as it was in memory. Units are written one by one, each whole,
//!   into a staging folder that becomes the shard folder when all are done; a shard
//!   restarted with `--resume` keeps the units an earlier attempt finished.
//! - **Merge** ([`Merge`]) reads shard folders, refuses shards of another scenario, trace,
//!   command, option, seed, run count, shard count or release, reports units missing or held
//!   twice, and then runs the command itself with the shards' records in place of
//!   simulations ([`crate::study::Options::recorded`]): the same gathering, the same
//!   reports, the same bytes. With `--resume` it simulates the missing units itself.
//!
//! # What cannot be cut
//!
//! The capacity search (`sweep --find`, `sweep.search`) chooses each fleet size from the
//! result of the last, so its studies are not known before it runs; a shard of it is
//! refused. A growth plan's monthly searches are sequential in the same way: every shard runs
//! them whole — the same in every shard, and written into its manifest — and only the study
//! of each month's fleet is cut into units.

pub mod manifest;
pub mod merge;

pub use manifest::Manifest;
pub use merge::{Merge, Merged};

use crate::error::{Error, InputError};
use crate::grow::{self, Growth};
use crate::scenario::{Overrides, ScenarioFile, Variant};
use crate::study::{Options, Record, for_each_run, run, thread_pool};
use crate::sweep::{self, SweepPlan};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// Most shards one command may be cut into.
pub const MAX_SHARDS: u64 = 1_000_000;

/// One shard of `count`: the units whose number is `index` modulo `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index.
    pub index: u64,
    /// How many shards the work is cut into.
    pub count: u64,
}

impl Shard {
    /// Reads `I/N`: the 0-based index `I` of `N` shards.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "expected I/N, the 0-based index I of N shards, such as 0/3 or \
                 $SLURM_ARRAY_TASK_ID/8; got `{text}`"
            )
        };
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let number = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
        let (index, count) = (number(index)?, number(count)?);
        if !(1..=MAX_SHARDS).contains(&count) {
            return Err(format!(
                "expected 1 to {MAX_SHARDS} shards, got {count} in `{text}`"
            ));
        }
        if index >= count {
            return Err(format!(
                "expected a shard index from 0 to {} (indices start at 0), got {index} in `{text}`",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The units of `points` points of `runs` runs each that this shard holds, in order.
    pub fn units(self, points: usize, runs: u64) -> Vec<Unit> {
        let total = points as u64 * runs;
        (self.index..total)
            .step_by(self.count as usize)
            .map(|k| Unit {
                point: (k / runs) as usize,
                run: k % runs,
            })
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One run of one point of a command's work. Written `point-run`, as its file is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Unit {
    /// The point's index in the command's work.
    pub point: usize,
    /// The run.
    pub run: u64,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.point, self.run)
    }
}

impl TryFrom<String> for Unit {
    type Error = String;
    fn try_from(text: String) -> Result<Unit, String> {
        let parsed = text
            .split_once('-')
            .and_then(|(p, r)| Some((p.parse().ok()?, r.parse().ok()?)));
        match parsed {
            Some((point, run)) => Ok(Unit { point, run }),
            None => Err(format!(
                "expected a unit as point-run, such as 0-3; got `{text}`"
            )),
        }
    }
}

impl From<Unit> for String {
    fn from(unit: Unit) -> String {
        unit.to_string()
    }
}

impl Unit {
    /// The unit's file in a shard folder: `units/{point}-{run}.json`.
    pub fn file(self) -> String {
        format!("{UNITS}/{self}.json")
    }
}

/// The folder of a shard folder that holds its units.
pub const UNITS: &str = "units";

/// What a unit's file holds: which unit, and its record.
#[derive(Serialize, Deserialize)]
pub struct UnitFile<R> {
    /// The point's index.
    pub point: usize,
    /// The run.
    pub run: u64,
    /// The run's record ([`Record`], or a reference to one when written).
    pub record: R,
}

/// Which study of a scenario file a point is: how the file is resolved for it — the
/// variant's fleet, degree, GPU, load and autoscaling, and each run's own load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyKey {
    /// Servers in place of `fleet.servers`.
    pub servers: Option<u64>,
    /// Tensor-parallel degree in place of `fleet.tensor_parallel`.
    pub tensor_parallel: Option<u32>,
    /// The GPU in place of `hardware.gpu` and where it was written: `h200 (sweep.gpus[1])`.
    pub gpu: Option<String>,
    /// Multiplier of the offered load.
    pub load: f64,
    /// Whether `fleet.autoscaling` applies.
    pub autoscaling: bool,
    /// Each run's own multiplier of the load (a growth plan's month).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_loads: Option<Vec<f64>>,
}

impl StudyKey {
    /// The key of the study of a file resolved as `variant` with `run_loads`.
    pub fn of(variant: &Variant, run_loads: Option<&[f64]>) -> StudyKey {
        StudyKey {
            servers: variant.servers,
            tensor_parallel: variant.tensor_parallel,
            gpu: variant
                .gpu
                .as_ref()
                .map(|g| format!("{} ({})", g.spec.gpu, g.field)),
            load: variant.load,
            autoscaling: variant.autoscaling,
            run_loads: run_loads.map(<[f64]>::to_vec),
        }
    }

    /// The key of the study `file` now resolves to.
    pub fn of_file(file: &ScenarioFile) -> StudyKey {
        StudyKey::of(&file.variant(), file.run_loads())
    }
}

/// `4 servers, tp 4, load ×1`: how messages name a study.
impl fmt::Display for StudyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.servers {
            Some(servers) => write!(f, "{servers} servers")?,
            None => f.write_str("the scenario's servers")?,
        }
        if let Some(tp) = self.tensor_parallel {
            write!(f, ", tp {tp}")?;
        }
        if let Some(gpu) = &self.gpu {
            write!(f, ", {gpu}")?;
        }
        match &self.run_loads {
            Some(_) => f.write_str(", each run at its own load"),
            None => write!(f, ", load ×{}", self.load),
        }
    }
}

/// The command a shard is cut from, with its options that change results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    /// `fleetsim run`: one study.
    Run,
    /// `fleetsim sweep`: the grid's points (the capacity search cannot be cut).
    Sweep(sweep::Overrides),
    /// `fleetsim grow`: the months' fleets, after searches every shard runs whole.
    Grow(grow::Overrides),
}

impl Command {
    /// `run`, `sweep` or `grow`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Sweep(_) => "sweep",
            Command::Grow(_) => "grow",
        }
    }
}

/// One point of the work, as a shard resolves it.
#[derive(Clone, Debug)]
struct Planned {
    label: String,
    variant: Variant,
    run_loads: Option<Vec<f64>>,
}

/// A shard's work, decided before any of it runs: the scenario file (loaded with the
/// command's options), the manifest and the points.
#[derive(Debug)]
pub struct Cut {
    file: ScenarioFile,
    /// What the shard writes as its manifest.
    pub manifest: Manifest,
    points: Vec<Planned>,
}

/// How many units a shard simulated and how many it kept from an earlier attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Done {
    /// Units simulated now.
    pub simulated: usize,
    /// Units an earlier attempt had finished.
    pub kept: usize,
}

impl Cut {
    /// Plans shard `shard` of `command` on the scenario at `path` read with `overrides`. A
    /// growth plan runs its capacity searches here (every shard does, with `options`) unless
    /// `earlier` — the manifest an interrupted attempt of this shard left — was cut from the
    /// same source, whose searches it takes. A sweep's capacity search is refused.
    pub fn new(
        path: &Path,
        overrides: &Overrides,
        command: &Command,
        shard: Shard,
        earlier: Option<&Manifest>,
        options: &Options,
    ) -> Result<Cut, Error> {
        let mut file = overrides.load(path)?;
        let mut manifest = Manifest {
            format: manifest::FORMAT,
            fleetsim_version: env!("CARGO_PKG_VERSION").into(),
            scenario: manifest::Source::of(path, &file)?,
            command: command.clone(),
            overrides: overrides.clone(),
            seed: file.seed(),
            runs: file.runs(),
            shard,
            assignment: manifest::ASSIGNMENT.into(),
            points: Vec::new(),
            searches: None,
            units: Vec::new(),
        };
        let points = match command {
            Command::Run => vec![Planned {
                label: "the scenario as written".into(),
                variant: Variant::default(),
                run_loads: None,
            }],
            Command::Sweep(overrides) => grid(&mut file, overrides)?,
            Command::Grow(overrides) => {
                let growth = Growth::new(&mut file, overrides)?;
                let same_source = earlier.filter(|e| {
                    e.shard == shard && e.check_source(&manifest, "this shard").is_ok()
                });
                let searches = match same_source.and_then(|e| e.searches.clone()) {
                    Some(searches) => searches,
                    None => grow::search_months(&mut file, &growth, options)?,
                };
                let points = months(&growth, &searches);
                manifest.searches = Some(searches);
                points
            }
        };
        manifest.points = points
            .iter()
            .map(|p| manifest::Point {
                label: p.label.clone(),
                key: StudyKey::of(&p.variant, p.run_loads.as_deref()),
            })
            .collect();
        manifest.units = shard.units(points.len(), file.runs());
        Ok(Cut {
            file,
            manifest,
            points,
        })
    }

    /// The scenario's name (run 0 as written).
    pub fn scenario_name(&self) -> Result<String, InputError> {
        Ok(self.file.scenario(0)?.name)
    }

    /// Simulates the shard's units but those `done` says an earlier attempt finished, in
    /// parallel, handing each record to `write` as soon as it is made. `file`'s variant is
    /// left as written.
    pub fn run(
        &mut self,
        done: impl Fn(Unit) -> bool,
        write: impl Fn(Unit, &Record) -> Result<(), Error> + Sync,
        options: &Options,
    ) -> Result<Done, Error> {
        let mut count = Done::default();
        let mut todo = Vec::new();
        let mut point = None;
        let resolved = (|| {
            for &unit in &self.manifest.units {
                if done(unit) {
                    count.kept += 1;
                    continue;
                }
                if point != Some(unit.point) {
                    let planned = &self.points[unit.point];
                    self.file.set_variant(planned.variant.clone());
                    self.file.set_run_loads(planned.run_loads.clone());
                    point = Some(unit.point);
                }
                todo.push((unit, self.file.scenario(unit.run)?));
            }
            Ok::<(), InputError>(())
        })();
        self.file.set_variant(Variant::default());
        self.file.set_run_loads(None);
        resolved?;
        let pool = thread_pool(options.threads)?;
        let run_threads = (pool.current_num_threads() / todo.len().max(1)).max(1);
        for (_, scenario) in &mut todo {
            scenario.run_threads = run_threads;
        }
        for_each_run(
            &pool,
            &todo,
            options,
            |(unit, scenario)| {
                let record = Record::of(scenario, run(scenario), scenario.run == 0);
                write(*unit, &record)
            },
            |()| count.simulated += 1,
        )?;
        Ok(count)
    }
}

/// The points of a sweep's grid; the capacity search is refused.
fn grid(file: &mut ScenarioFile, overrides: &sweep::Overrides) -> Result<Vec<Planned>, Error> {
    let plan = SweepPlan::new(file, overrides)?;
    if plan.search_max_servers.is_some() {
        let field = if overrides.find == Some(true) {
            "--find"
        } else {
            "sweep.search"
        };
        return Err(file
            .locate_error(InputError::field(
                field,
                "the capacity search cannot be cut into shards: it chooses each fleet size from \
                 the result of the last, so its studies are not known before it runs. Shard the \
                 grid instead (--no-find, and --servers 1..32 for the fleets to study) and read \
                 the smallest passing fleet off sweep.csv, or run the search on one machine",
            ))
            .into());
    }
    Ok(plan
        .grid()
        .into_iter()
        .map(|(load, c, servers)| Planned {
            label: plan.point_label(load, c, servers),
            variant: plan.variant(load, c, servers),
            run_loads: None,
        })
        .collect())
}

/// The study of each month's fleet in service, in month order; months that study the same
/// fleet at the same traffic share one point.
fn months(growth: &Growth, searches: &[grow::Search]) -> Vec<Planned> {
    let mut points: Vec<Planned> = Vec::new();
    for (p, month) in grow::fleet_plan(growth, searches).iter().enumerate() {
        let (variant, run_loads) = grow::study_at(growth, month.in_service, &growth.traffic[p]);
        let same = points
            .iter_mut()
            .find(|q| q.variant == variant && q.run_loads == run_loads);
        match same {
            Some(point) => point.label.push_str(&format!(", {}", growth.month(p))),
            None => points.push(Planned {
                label: format!(
                    "{} server{} in service at the traffic of {}",
                    month.in_service,
                    if month.in_service == 1 { "" } else { "s" },
                    growth.month(p)
                ),
                variant,
                run_loads,
            }),
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_as_a_zero_based_index_of_a_count() {
        assert_eq!(Shard::parse("0/3"), Ok(Shard { index: 0, count: 3 }));
        assert_eq!(Shard::parse(" 2 / 3 "), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(Shard::parse("0/1"), Ok(Shard { index: 0, count: 1 }));
        for bad in ["3/3", "1/0", "-1/3", "1", "a/3", "1/3/4", "", "1/2000000"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert!(Shard::parse("3/3").unwrap_err().contains("from 0 to 2"));
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
    }

    #[test]
    fn shards_take_every_nth_unit_and_together_hold_each_once() {
        let (points, runs) = (5, 7);
        for count in [1, 2, 3, 7, 10, 40] {
            let mut all: Vec<Unit> = (0..count)
                .flat_map(|index| Shard { index, count }.units(points, runs))
                .collect();
            for index in 0..count {
                let units = Shard { index, count }.units(points, runs);
                assert!(
                    units
                        .iter()
                        .all(|u| (u.point as u64 * runs + u.run) % count == index)
                );
                assert!(units.windows(2).all(|w| w[0] < w[1]), "in order");
            }
            all.sort();
            let expected: Vec<Unit> = (0..points)
                .flat_map(|point| (0..runs).map(move |run| Unit { point, run }))
                .collect();
            assert_eq!(
                all, expected,
                "{count} shards: disjoint, and every unit once"
            );
        }
        let unit = |point, run| Unit { point, run };
        assert_eq!(
            Shard { index: 1, count: 3 }.units(2, 4),
            [unit(0, 1), unit(1, 0), unit(1, 3)]
        );
    }

    #[test]
    fn study_keys_name_their_study() {
        let variant = Variant {
            servers: Some(4),
            tensor_parallel: Some(8),
            load: 1.5,
            ..Variant::default()
        };
        assert_eq!(
            StudyKey::of(&variant, None).to_string(),
            "4 servers, tp 8, load ×1.5"
        );
        let month = StudyKey::of(&Variant::default(), Some(&[1.0, 1.1]));
        assert_eq!(
            month.to_string(),
            "the scenario's servers, each run at its own load"
        );
        assert_ne!(month, StudyKey::of(&Variant::default(), Some(&[1.0, 1.2])));
    }

    #[test]
    fn units_are_written_as_their_files_are_named() {
        let unit = Unit { point: 2, run: 5 };
        assert_eq!(serde_json::to_string(&unit).unwrap(), r#""2-5""#);
        assert_eq!(serde_json::from_str::<Unit>(r#""2-5""#).unwrap(), unit);
        assert!(serde_json::from_str::<Unit>(r#""2/5""#).is_err());
        assert_eq!(unit.file(), "units/2-5.json");
    }
}
