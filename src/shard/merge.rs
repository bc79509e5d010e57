//! Merging shard folders into the results of the whole command: the manifests checked
//! against each other and against the scenario, every unit located in exactly one folder,
//! and the command run with the shards' records in place of simulations.

use super::manifest::{self, Manifest};
use super::{Command, StudyKey, Unit, UnitFile};
use crate::error::{Error, InputError};
use crate::grow::{self, Growth, GrowthResult};
use crate::scenario::ScenarioFile;
use crate::stats::TimeSeries;
use crate::study::{Options, Record, Recorded, StudyResult, run_study};
use crate::sweep::{SweepPlan, SweepResult, run_sweep};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Most lines a report of missing or duplicated units lists.
const MOST_LINES: usize = 20;
/// Most runs one line of such a report lists.
const MOST_RUNS: usize = 12;

/// Shard folders checked and indexed, ready to merge.
#[derive(Debug)]
pub struct Merge {
    manifest: Manifest,
    file: ScenarioFile,
    store: Store,
}

/// The results of a merged command, as its unsharded run returns them.
#[derive(Debug)]
pub enum Merged {
    /// `fleetsim run`.
    Study(Box<StudyResult>),
    /// `fleetsim sweep`.
    Sweep(Box<SweepResult>),
    /// `fleetsim grow`.
    Growth(Box<GrowthResult>),
}

/// Where every unit's record is, and what a study asks for that the shards do not hold.
#[derive(Debug)]
struct Store {
    dirs: Vec<PathBuf>,
    keys: Vec<StudyKey>,
    runs: u64,
    /// Time-series intervals of every run.
    intervals: usize,
    /// The folder (index of `dirs`) of unit `point × runs + run`.
    holders: Vec<Option<usize>>,
    /// Whether a unit no folder holds is simulated here (`--resume`) or an error.
    simulate_missing: bool,
}

impl Merge {
    /// Reads and checks the shard folders `dirs` and the scenario they were cut from (at
    /// `scenario`, else where the manifests say). Refuses shards of different sources and
    /// units held by two folders; units no folder holds are refused too, unless `resume`,
    /// which simulates them when the merge runs.
    pub fn open(dirs: &[PathBuf], scenario: Option<&Path>, resume: bool) -> Result<Merge, Error> {
        let manifests = dirs
            .iter()
            .map(|dir| Manifest::read(dir))
            .collect::<Result<Vec<_>, InputError>>()?;
        let first = manifests
            .first()
            .ok_or_else(|| InputError::general("give at least one shard folder to merge"))?;
        let first_name = dirs[0].display().to_string();
        for (dir, manifest) in dirs.iter().zip(&manifests).skip(1) {
            manifest
                .check_source(first, &first_name)
                .and_then(|()| manifest.check_plan(first, &first_name))
                .map_err(|e| e.in_file(dir.join(manifest::FILE)))?;
        }

        let path = first.scenario.locate(scenario);
        if !path.is_file() {
            return Err(InputError::general(format!(
                "the scenario the shards were cut from is not there; give it with --scenario \
                 (its SHA-256 is {})",
                first.scenario.sha256
            ))
            .in_file(path)
            .into());
        }
        let file = first.overrides.load(&path)?;
        first.scenario.check(&path, &file)?;

        let runs = first.runs;
        let points = first.points.len();
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); points * runs as usize];
        for (d, (dir, manifest)) in dirs.iter().zip(&manifests).enumerate() {
            for unit in &manifest.units {
                if unit.point < points && unit.run < runs && dir.join(unit.file()).is_file() {
                    holders[unit.point * runs as usize + unit.run as usize].push(d);
                }
            }
        }
        let labels: Vec<&str> = first.points.iter().map(|p| p.label.as_str()).collect();
        let unit_of = |k: usize| Unit {
            point: k / runs as usize,
            run: k as u64 % runs,
        };

        let mut duplicated: BTreeMap<Vec<usize>, Vec<Unit>> = BTreeMap::new();
        for (k, held) in holders.iter().enumerate().filter(|(_, h)| h.len() > 1) {
            duplicated.entry(held.clone()).or_default().push(unit_of(k));
        }
        if !duplicated.is_empty() {
            let lines = duplicated.iter().flat_map(|(held, units)| {
                let folders: Vec<String> = held
                    .iter()
                    .map(|d| dirs[*d].display().to_string())
                    .collect();
                by_point(units, &labels)
                    .into_iter()
                    .map(move |line| format!("{}: {line}", folders.join(" and ")))
            });
            return Err(InputError::general(format!(
                "runs held by more than one shard folder:\n{}\ngive each shard once",
                report(lines)
            ))
            .into());
        }

        let missing: Vec<Unit> = (0..holders.len())
            .filter(|k| holders[*k].is_empty())
            .map(unit_of)
            .collect();
        if !missing.is_empty() && !resume {
            let shard_of = |u: &Unit| (u.point as u64 * runs + u.run) % first.shard.count;
            let mut by_shard: BTreeMap<u64, Vec<Unit>> = BTreeMap::new();
            for unit in &missing {
                by_shard.entry(shard_of(unit)).or_default().push(*unit);
            }
            let lines = by_shard.iter().flat_map(|(index, units)| {
                let shard = format!("shard {index}/{}", first.shard.count);
                by_point(units, &labels)
                    .into_iter()
                    .map(move |line| format!("{shard}: {line}"))
            });
            return Err(InputError::general(format!(
                "{} of {} runs are in no shard folder given:\n{}\nrun those shards (one \
                 restarted with --resume keeps the runs it finished), or merge with --resume to \
                 simulate the missing runs here",
                missing.len(),
                holders.len(),
                report(lines)
            ))
            .into());
        }

        let written = file.scenario(0)?;
        let intervals = TimeSeries::new(written.timeseries_interval.0, written.horizon.0)
            .bins()
            .len();
        let store = Store {
            dirs: dirs.to_vec(),
            keys: first.points.iter().map(|p| p.key.clone()).collect(),
            runs,
            intervals,
            holders: holders.into_iter().map(|h| h.first().copied()).collect(),
            simulate_missing: resume,
        };
        Ok(Merge {
            manifest: first.clone(),
            file,
            store,
        })
    }

    /// The command the shards were cut from.
    pub fn command(&self) -> &Command {
        &self.manifest.command
    }

    /// The units of the command's work, all shards together.
    pub fn units(&self) -> usize {
        self.store.holders.len()
    }

    /// The units no shard folder holds: what the merge simulates (with `--resume`).
    pub fn missing(&self) -> usize {
        self.store.holders.iter().filter(|h| h.is_none()).count()
    }

    /// Runs the command with the shards' records, simulating the missing units if allowed:
    /// the results the command run whole in one process returns.
    pub fn run(&mut self, options: &Options) -> Result<Merged, Error> {
        let options = Options {
            recorded: Some(&self.store),
            ..*options
        };
        let file = &mut self.file;
        Ok(match &self.manifest.command {
            Command::Run => Merged::Study(Box::new(run_study(file, &options)?)),
            Command::Sweep(overrides) => {
                let plan = SweepPlan::new(file, overrides)?;
                Merged::Sweep(Box::new(run_sweep(file, &plan, &options)?))
            }
            Command::Grow(overrides) => {
                let growth = Growth::new(file, overrides)?;
                let searches = self.manifest.searches.clone().ok_or_else(|| {
                    InputError::field(
                        "searches",
                        "a growth plan's shards record its searches, but these have none",
                    )
                })?;
                Merged::Growth(Box::new(grow::run_growth_searched(
                    file, &growth, searches, &options,
                )?))
            }
        })
    }
}

impl Recorded for Store {
    fn study(&self, file: &ScenarioFile) -> Result<Option<usize>, Error> {
        let key = StudyKey::of_file(file);
        match self.keys.iter().position(|k| *k == key) {
            Some(point) => Ok(Some(point)),
            None if self.simulate_missing => Ok(None),
            None => Err(InputError::general(format!(
                "the shards hold no study of {key}, which the command studies: they were cut \
                 from another plan"
            ))
            .into()),
        }
    }

    fn record(&self, study: usize, run: u64) -> Result<Option<Record>, Error> {
        let unit = Unit { point: study, run };
        let Some(holder) = self.holders[study * self.runs as usize + run as usize] else {
            if self.simulate_missing {
                return Ok(None);
            }
            return Err(InputError::general(format!(
                "no shard folder holds run {run} of point {study}"
            ))
            .into());
        };
        let path = self.dirs[holder].join(unit.file());
        let unreadable = |message: String| {
            Error::from(InputError::general(format!("unreadable record: {message}")).in_file(&path))
        };
        let bytes = std::fs::read(&path).map_err(|e| unreadable(e.to_string()))?;
        let written: UnitFile<Record> =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
        if (written.point, written.run) != (study, run) {
            return Err(unreadable(format!(
                "it holds run {} of point {}, not run {run} of point {study}",
                written.run, written.point
            )));
        }
        written
            .record
            .check(run, self.intervals)
            .map_err(unreadable)?;
        Ok(Some(written.record))
    }
}

/// One line per point: `point 1 (2 servers, tp 1, load ×1): runs 0, 3, 6`.
fn by_point(units: &[Unit], labels: &[&str]) -> Vec<String> {
    let mut runs: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for unit in units {
        runs.entry(unit.point).or_default().push(unit.run);
    }
    runs.into_iter()
        .map(|(point, runs)| {
            let listed: Vec<String> = runs.iter().take(MOST_RUNS).map(u64::to_string).collect();
            let more = if runs.len() > MOST_RUNS {
                format!(", … ({} runs in all)", runs.len())
            } else {
                String::new()
            };
            format!(
                "point {point} ({}): run{} {}{more}",
                labels[point],
                if runs.len() == 1 { "" } else { "s" },
                listed.join(", ")
            )
        })
        .collect()
}

/// Lines indented, at most [`MOST_LINES`] of them.
fn report(lines: impl Iterator<Item = String>) -> String {
    let lines: Vec<String> = lines.collect();
    let mut shown: Vec<String> = lines
        .iter()
        .take(MOST_LINES)
        .map(|l| format!("  {l}"))
        .collect();
    if lines.len() > MOST_LINES {
        shown.push(format!("  … and {} more lines", lines.len() - MOST_LINES));
    }
    shown.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_list_runs_by_point_and_cut_long_lists() {
        let units: Vec<Unit> = (0..30)
            .map(|run| Unit { point: 1, run })
            .chain([Unit { point: 0, run: 4 }])
            .collect();
        let lines = by_point(&units, &["a", "b"]);
        assert_eq!(lines[0], "point 0 (a): run 4");
        assert_eq!(
            lines[1],
            "point 1 (b): runs 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, … (30 runs in all)"
        );
        let text = report((0..25).map(|i| i.to_string()));
        assert_eq!(text.lines().count(), 21);
        assert!(text.ends_with("  … and 5 more lines"), "{text}");
    }
}
