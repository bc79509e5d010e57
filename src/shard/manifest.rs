//! A shard's manifest: what the shard was cut from — the fleetsim release, the scenario's
//! and trace's bytes (SHA-256), the command and every option that changes its results, the
//! seed and runs, the number of shards — and what it holds: its index, the points of the
//! command's work and its units. Shards merge only when everything but the index and the
//! units is the same.

use super::{Command, Shard, StudyKey, Unit};
use crate::error::InputError;
use crate::grow::Search;
use crate::scenario::{Overrides, ScenarioFile};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Version of the shard folder's layout; raised when a file or field changes meaning.
pub const FORMAT: u32 = 1;

/// How units are assigned to shards, in words, for people reading a manifest.
pub const ASSIGNMENT: &str = "unit k = point × runs + run goes to shard k mod count";

/// The file of a shard folder that holds its manifest.
pub const FILE: &str = "manifest.json";

/// Everything `manifest.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// The fleetsim release that wrote the shard.
    pub fleetsim_version: String,
    /// The scenario file (and the trace it replays) the shard was cut from.
    pub scenario: Source,
    /// The command, with its options that change results.
    pub command: Command,
    /// The options that change what the scenario resolves to.
    pub overrides: Overrides,
    /// The seed of the random streams (the file's, or `--seed`).
    pub seed: u64,
    /// Runs per point (the file's, or `--runs`).
    pub runs: u64,
    /// This shard: its 0-based index and the number of shards.
    pub shard: Shard,
    /// How units are assigned to shards ([`ASSIGNMENT`]).
    pub assignment: String,
    /// The points of the command's work, in order; each a study of `runs` runs.
    pub points: Vec<Point>,
    /// A growth plan's capacity searches, month by month: done whole by every shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub searches: Option<Vec<Search>>,
    /// The units this shard holds: `[point, run]`, in order.
    pub units: Vec<Unit>,
}

/// One point of a command's work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Its name for people: `4 servers, tp 4, load ×1`.
    pub label: String,
    /// Which study of the scenario file it is.
    pub key: StudyKey,
}

/// Where a shard's scenario came from, and its exact bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The scenario file as the command line named it.
    pub path: PathBuf,
    /// The same, absolute, when it could be resolved: where a merge looks first.
    pub absolute: Option<PathBuf>,
    /// SHA-256 of the file's bytes (what `sha256sum` prints).
    pub sha256: String,
    /// The trace the scenario replays, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceSource>,
}

/// A replayed trace's file and bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceSource {
    /// Where it was read from.
    pub path: PathBuf,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// Reads a file's bytes, an error of the file when it cannot be read.
fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>, InputError> {
    std::fs::read(path)
        .map_err(|e| InputError::general(format!("cannot read the {what}: {e}")).in_file(path))
}

impl Source {
    /// The source of `file`, read from `path`: the hashes of the scenario's bytes and of the
    /// trace it replays.
    pub fn of(path: &Path, file: &ScenarioFile) -> Result<Source, InputError> {
        let trace = match file.trace_path() {
            Some(trace) => Some(TraceSource {
                sha256: sha256_hex(&read_bytes(&trace, "trace")?),
                path: trace,
            }),
            None => None,
        };
        Ok(Source {
            path: path.to_path_buf(),
            absolute: std::fs::canonicalize(path).ok(),
            sha256: sha256_hex(&read_bytes(path, "scenario")?),
            trace,
        })
    }

    /// Where the scenario is now: `given` if the user named it, else the absolute path
    /// recorded, else the path as the shard's command line named it.
    pub fn locate(&self, given: Option<&Path>) -> PathBuf {
        if let Some(given) = given {
            return given.to_path_buf();
        }
        match &self.absolute {
            Some(absolute) if absolute.exists() => absolute.clone(),
            _ => self.path.clone(),
        }
    }

    /// Checks that the scenario at `path` (and the trace it replays, as `file` resolves it)
    /// are the bytes the shards were cut from.
    pub fn check(&self, path: &Path, file: &ScenarioFile) -> Result<(), InputError> {
        let now = Source::of(path, file)?;
        if now.sha256 != self.sha256 {
            return Err(InputError::general(format!(
                "this is not the scenario the shards were cut from: its SHA-256 is {}, theirs \
                 {} (from {}); give the original with --scenario",
                now.sha256,
                self.sha256,
                self.path.display()
            ))
            .in_file(path));
        }
        match (&now.trace, &self.trace) {
            (Some(now), Some(then)) if now.sha256 != then.sha256 => Err(InputError::field(
                "workload.trace.file",
                format!(
                    "the trace {} is not the one the shards replayed: its SHA-256 is {}, theirs {}",
                    now.path.display(),
                    now.sha256,
                    then.sha256
                ),
            )
            .in_file(path)),
            _ => Ok(()),
        }
    }
}

impl Manifest {
    /// Reads the manifest of the shard folder `dir`. A folder without one is not a shard,
    /// or a shard that has not finished (its staging folder beside it holds what it did).
    pub fn read(dir: &Path) -> Result<Manifest, InputError> {
        let path = dir.join(FILE);
        if !dir.is_dir() {
            return Err(InputError::general("no such shard folder").in_file(dir));
        }
        let bytes = std::fs::read(&path).map_err(|e| {
            InputError::general(format!(
                "not a finished shard folder: cannot read {FILE} ({e}); a shard writes its \
                 folder when all its runs are done (rerun it with --resume to finish it)"
            ))
            .in_file(dir)
        })?;
        Manifest::parse(&bytes).map_err(|e| e.in_file(&path))
    }

    /// Reads a manifest's bytes: its format and release first, so that a manifest of
    /// another layout is named as such rather than as malformed.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, InputError> {
        let unreadable = |e: serde_json::Error| InputError::general(format!("unreadable: {e}"));
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(unreadable)?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(InputError::field(
                "format",
                format!(
                    "shard format {}, but this fleetsim reads format {FORMAT}: merge with the \
                     fleetsim release that wrote the shards",
                    format.map_or("unknown".into(), |f| f.to_string())
                ),
            ));
        }
        let version = value.get("fleetsim_version").and_then(|v| v.as_str());
        if version != Some(env!("CARGO_PKG_VERSION")) {
            return Err(InputError::field(
                "fleetsim_version",
                format!(
                    "written by fleetsim {}, but this is fleetsim {}: a release may compute or \
                     write differently, so merge with the release that wrote the shards",
                    version.unwrap_or("unknown"),
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        serde_json::from_value(value).map_err(unreadable)
    }

    /// Checks that `self` was cut from what `first` was — the same scenario and trace bytes,
    /// command and options, seed, runs and number of shards — naming the first field that
    /// differs. `first_name` names `first` in the message. (The release is checked as each
    /// manifest is read: it must be this one.)
    pub fn check_source(&self, first: &Manifest, first_name: &str) -> Result<(), InputError> {
        let differs = |field: &str, this: String, that: String| {
            Err(InputError::field(
                field,
                format!("{this}, but {first_name} has {that}"),
            ))
        };
        if self.scenario.sha256 != first.scenario.sha256 {
            return differs(
                "scenario.sha256",
                format!("another scenario (SHA-256 {})", self.scenario.sha256),
                format!(
                    "{} (SHA-256 {})",
                    first.scenario.path.display(),
                    first.scenario.sha256
                ),
            );
        }
        let trace = |m: &Manifest| m.scenario.trace.as_ref().map(|t| t.sha256.clone());
        if trace(self) != trace(first) {
            return differs(
                "scenario.trace.sha256",
                format!(
                    "another trace (SHA-256 {})",
                    trace(self).unwrap_or("none".into())
                ),
                format!("SHA-256 {}", trace(first).unwrap_or("none".into())),
            );
        }
        if self.command.name() != first.command.name() {
            return differs(
                "command",
                format!("cut from `fleetsim {}`", self.command.name()),
                format!("`fleetsim {}`", first.command.name()),
            );
        }
        if self.seed != first.seed {
            return differs(
                "seed",
                format!("seed {}", self.seed),
                format!("seed {}", first.seed),
            );
        }
        if self.runs != first.runs {
            return differs(
                "runs",
                format!("{} runs", self.runs),
                format!("{}", first.runs),
            );
        }
        if let Some(option) = first_difference(&self.options(), &first.options()) {
            return differs(
                &option,
                format!("{option} {}", self.options()[&option]),
                format!("{}", first.options()[&option]),
            );
        }
        if self.shard.count != first.shard.count {
            return differs(
                "shard.count",
                format!("cut into {} shards", self.shard.count),
                format!("{}", first.shard.count),
            );
        }
        Ok(())
    }

    /// Checks that `self` plans the work `first` does: the same points and, for a growth
    /// plan, the same searches. Shards of the same source always do, but for a bug.
    pub fn check_plan(&self, first: &Manifest, first_name: &str) -> Result<(), InputError> {
        if self.points != first.points || self.searches != first.searches {
            return Err(InputError::field(
                "points",
                format!(
                    "another plan of points than {first_name}'s, from the same scenario and \
                     options: the shards do not agree on what the command studies"
                ),
            ));
        }
        Ok(())
    }

    /// Checks that `self` is the manifest of the shard `other` was — the same source, plan
    /// and index — as a shard resumed over an earlier attempt must be.
    pub fn check_same_shard(&self, other: &Manifest, other_name: &str) -> Result<(), InputError> {
        self.check_source(other, other_name)?;
        self.check_plan(other, other_name)?;
        if self.shard != other.shard {
            return Err(InputError::field(
                "shard",
                format!(
                    "shard {}, but {other_name} is shard {}",
                    self.shard, other.shard
                ),
            ));
        }
        Ok(())
    }

    /// The options that change results, by their command-line flags, as JSON values (`null`
    /// when not given): what [`Manifest::check_source`] compares, the seed and runs apart.
    fn options(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut options = serde_json::Map::new();
        let mut add = |value: serde_json::Value| {
            if let serde_json::Value::Object(map) = value {
                for (key, value) in map {
                    let flag = match key.as_str() {
                        "ownership" => "--owned/--rented".to_string(),
                        "seed" | "runs" => continue,
                        key => format!("--{}", key.replace('_', "-")),
                    };
                    options.insert(flag, value);
                }
            }
        };
        add(serde_json::to_value(&self.overrides).expect("options serialise"));
        match &self.command {
            Command::Run => {}
            Command::Sweep(overrides) => add(serde_json::to_value(overrides).expect("serialise")),
            Command::Grow(overrides) => add(serde_json::to_value(overrides).expect("serialise")),
        }
        options
    }
}

/// The first key whose value differs between `a` and `b`, in `a`'s order.
fn first_difference(
    a: &serde_json::Map<String, serde_json::Value>,
    b: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    a.iter()
        .find(|(key, value)| b.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
}

/// The SHA-256 digest of `bytes` as 64 lowercase hex digits: what `sha256sum FILE` prints, so
/// a user can check which file a shard was cut from.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Variant;

    #[test]
    fn digests_are_what_sha256sum_prints() {
        // FIPS 180-4 examples.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            fleetsim_version: env!("CARGO_PKG_VERSION").into(),
            scenario: Source {
                path: "s.yaml".into(),
                absolute: None,
                sha256: "aa".into(),
                trace: None,
            },
            command: Command::Sweep(crate::sweep::Overrides {
                load: Some(vec![0.5, 1.0]),
                ..Default::default()
            }),
            overrides: Overrides::default(),
            seed: 7,
            runs: 6,
            shard: Shard { index: 0, count: 3 },
            assignment: ASSIGNMENT.into(),
            points: vec![Point {
                label: "the scenario".into(),
                key: StudyKey::of(&Variant::default(), None),
            }],
            searches: None,
            units: vec![Unit { point: 0, run: 0 }, Unit { point: 0, run: 3 }],
        }
    }

    fn field_of(result: Result<(), InputError>) -> String {
        result.unwrap_err().field.unwrap()
    }

    #[test]
    fn shards_of_one_study_match_whatever_their_index() {
        let first = manifest();
        let other = Manifest {
            shard: Shard { index: 2, count: 3 },
            units: vec![Unit { point: 0, run: 2 }],
            ..manifest()
        };
        other.check_source(&first, "a").unwrap();
        other.check_plan(&first, "a").unwrap();
    }

    #[test]
    fn a_mismatch_names_its_field() {
        let first = manifest();
        let check = |m: Manifest| field_of(m.check_source(&first, "shards/0"));
        let mut m = manifest();
        m.scenario.sha256 = "bb".into();
        assert_eq!(check(m), "scenario.sha256");
        assert_eq!(
            check(Manifest {
                seed: 8,
                ..manifest()
            }),
            "seed"
        );
        assert_eq!(
            check(Manifest {
                runs: 5,
                ..manifest()
            }),
            "runs"
        );
        let mut m = manifest();
        m.shard.count = 4;
        assert_eq!(check(m), "shard.count");
        let mut m = manifest();
        m.overrides.single_step = true;
        assert_eq!(check(m), "--single-step");
        let m = Manifest {
            command: Command::Sweep(crate::sweep::Overrides::default()),
            ..manifest()
        };
        let error = m.check_source(&first, "shards/0").unwrap_err();
        assert_eq!(error.field.as_deref(), Some("--load"));
        assert!(
            error
                .message
                .contains("--load null, but shards/0 has [0.5,1.0]"),
            "{error}"
        );
        assert_eq!(
            check(Manifest {
                command: Command::Run,
                ..manifest()
            }),
            "command"
        );
        let mut m = manifest();
        m.points[0].label = "another".into();
        assert_eq!(field_of(m.check_plan(&first, "shards/0")), "points");
    }

    #[test]
    fn a_manifest_reads_back_and_names_another_release() {
        let m = manifest();
        let bytes = serde_json::to_vec_pretty(&m).unwrap();
        assert_eq!(Manifest::parse(&bytes).unwrap(), m);
        let old = String::from_utf8(bytes)
            .unwrap()
            .replace(env!("CARGO_PKG_VERSION"), "0.0.1");
        let error = Manifest::parse(old.as_bytes()).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("fleetsim_version"));
        assert!(
            error.message.contains("written by fleetsim 0.0.1"),
            "{error}"
        );
        let error = Manifest::parse(br#"{"format": 99}"#).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("format"));
    }
}
