//! Reading a scenario file: YAML errors turned into messages that name the file, the line
//! and column, the field path and the nearest valid key; errors found after parsing located
//! by their field path.

use super::resolve::{resolve, resolve_gpu};
use super::spec::{GrowthSpec, ScenarioSpec, SweepSpec};
use super::{GpuVariant, Scenario, Variant};
use crate::catalog::Gpu;
use crate::error::InputError;
use crate::suggest;
use crate::uncertain::Drawer;
use crate::workload::Trace;
use crate::workload::trace::BadRows;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A scenario file parsed and checked: it resolves into one [`Scenario`] per run, each with
/// its own draw of the uncertain values. A trace it replays is read once, here, and shared
/// by every run.
#[derive(Debug)]
pub struct ScenarioFile {
    spec: ScenarioSpec,
    text: String,
    default_name: String,
    file: Option<PathBuf>,
    trace: Option<Arc<Trace>>,
    variant: Variant,
    run_loads: Option<Vec<f64>>,
    stepping: crate::engine::Stepping,
}

/// Reads and parses the scenario at `path` and the trace it replays (relative to the
/// scenario's folder; its bad rows rejected or skipped as `bad_rows` says), and checks it by
/// resolving its first run.
pub fn load(path: &Path, bad_rows: BadRows) -> Result<ScenarioFile, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::general(format!("cannot read the scenario: {e}")).in_file(path))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let mut file = ScenarioFile::parse_only(&text, &name).map_err(|e| e.in_file(path))?;
    file.file = Some(path.to_path_buf());
    file.read_trace(bad_rows)?;
    file.scenario(0)?;
    Ok(file)
}

/// Command-line options that change what a scenario file resolves to, each in place of what
/// the file says. A shard records them, so that its merge loads the file as the shard did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    /// `--seed`, instead of `study.seed`.
    pub seed: Option<u64>,
    /// `--runs`, instead of `study.runs`.
    pub runs: Option<u64>,
    /// `--single-step`: every step an event (the reference stepping).
    pub single_step: bool,
    /// `--skip-bad-rows`: rows of the trace that cannot be read are skipped and counted.
    pub skip_bad_rows: bool,
}

impl Overrides {
    /// Reads the scenario at `path` (and the trace it replays) with these options applied.
    pub fn load(&self, path: &Path) -> Result<ScenarioFile, InputError> {
        let bad_rows = if self.skip_bad_rows {
            BadRows::Skip
        } else {
            BadRows::Reject
        };
        let mut file = load(path, bad_rows)?;
        if let Some(seed) = self.seed {
            file.set_seed(seed);
        }
        if self.single_step {
            file.set_stepping(crate::engine::Stepping::Single);
        }
        if let Some(runs) = self.runs {
            file.set_runs(runs);
        }
        Ok(file)
    }
}

/// Parses and resolves the first run of scenario text; `default_name` names it when the text
/// does not.
pub fn from_yaml(text: &str, default_name: &str) -> Result<Scenario, InputError> {
    ScenarioFile::parse(text, default_name)?.scenario(0)
}

impl ScenarioFile {
    /// Parses scenario text, and reads the trace it replays (relative to the working
    /// directory, rejecting bad rows); `default_name` names it when the text does not.
    pub fn parse(text: &str, default_name: &str) -> Result<ScenarioFile, InputError> {
        let mut file = ScenarioFile::parse_only(text, default_name)?;
        file.read_trace(BadRows::Reject)?;
        Ok(file)
    }

    fn parse_only(text: &str, default_name: &str) -> Result<ScenarioFile, InputError> {
        Ok(ScenarioFile {
            spec: parse(text)?,
            text: text.to_string(),
            default_name: default_name.to_string(),
            file: None,
            trace: None,
            variant: Variant::default(),
            run_loads: None,
            stepping: crate::engine::Stepping::default(),
        })
    }

    /// Reads the trace `workload.trace.file` names. A file that cannot be opened is an error
    /// of the scenario's field; a bad row, of the trace file.
    fn read_trace(&mut self, bad_rows: BadRows) -> Result<(), InputError> {
        let (Some(spec), Some(path)) = (&self.spec.workload.trace, self.trace_path()) else {
            return Ok(());
        };
        if let Err(e) = std::fs::metadata(&path) {
            return Err(self.locate_error(InputError::field(
                "workload.trace.file",
                format!("cannot read the trace `{}`: {e}", path.display()),
            )));
        }
        self.trace = Some(Arc::new(Trace::read(&path, spec.format, bad_rows)?));
        Ok(())
    }

    /// The trace the scenario replays, if it replays one: `workload.trace.file`, relative to
    /// the scenario's folder (to the working directory for text not read from a file).
    pub fn trace_path(&self) -> Option<PathBuf> {
        let spec = self.spec.workload.trace.as_ref()?;
        let folder = self.file.as_deref().and_then(Path::parent);
        Some(folder.unwrap_or(Path::new("")).join(&spec.file))
    }

    /// The study seed.
    pub fn seed(&self) -> u64 {
        self.spec.study.seed
    }

    /// Sets how the engine advances steps in every run.
    pub fn set_stepping(&mut self, stepping: crate::engine::Stepping) {
        self.stepping = stepping;
    }

    /// Replaces the study seed.
    pub fn set_seed(&mut self, seed: u64) {
        self.spec.study.seed = seed;
    }

    /// Runs in the study.
    pub fn runs(&self) -> u64 {
        self.spec.study.runs
    }

    /// Replaces the number of runs.
    pub fn set_runs(&mut self, runs: u64) {
        self.spec.study.runs = runs;
    }

    /// The `sweep:` section, if the file has one.
    pub fn sweep(&self) -> Option<&SweepSpec> {
        self.spec.sweep.as_ref()
    }

    /// The `growth:` section, if the file has one.
    pub fn growth(&self) -> Option<&GrowthSpec> {
        self.spec.growth.as_ref()
    }

    /// The variant runs resolve as (the file as written by default).
    pub fn variant(&self) -> Variant {
        self.variant.clone()
    }

    /// Resolves every later run as `variant`.
    pub fn set_variant(&mut self, variant: Variant) {
        self.variant = variant;
    }

    /// Gives each run its own multiplier of the offered load, on top of the variant's: run
    /// `i` resolves with load `variant.load × loads[i]` (1 for runs beyond the list). A growth
    /// plan uses it to simulate a month at each run's own drawn traffic; `None` restores one
    /// load for every run.
    pub fn set_run_loads(&mut self, loads: Option<Vec<f64>>) {
        self.run_loads = loads;
    }

    /// Each run's multiplier of the offered load, when runs have their own
    /// ([`ScenarioFile::set_run_loads`]).
    pub fn run_loads(&self) -> Option<&[f64]> {
        self.run_loads.as_deref()
    }

    /// Ties an error about this file's text to the file, and to the line of its field.
    pub fn locate_error(&self, mut e: InputError) -> InputError {
        if let Some(field) = &e.field {
            e.location = locate(&self.text, field);
        }
        if let Some(file) = &self.file {
            e = e.in_file(file);
        }
        e
    }

    /// Run `run` of the scenario, its uncertain values drawn from `(seed, run)`. Errors are
    /// located in the file.
    pub fn scenario(&self, run: u64) -> Result<Scenario, InputError> {
        let mut drawer = Drawer::new(self.spec.study.seed, run);
        let variant = match &self.run_loads {
            Some(loads) => Variant {
                load: self.variant.load * loads.get(run as usize).copied().unwrap_or(1.0),
                ..self.variant.clone()
            },
            None => self.variant.clone(),
        };
        let resolved = resolve(
            &self.spec,
            &self.default_name,
            self.trace.as_ref(),
            &variant,
            &mut drawer,
        )
        .map_err(|e| self.locate_error(e))?;
        Ok(Scenario {
            run,
            inputs: drawer.into_drawn(),
            stepping: self.stepping,
            ..resolved
        })
    }

    /// The GPU of run 0 with `gpu` in place of `hardware.gpu` (the file's own when `None`):
    /// a catalog entry, or the inline one. Errors are located in the file.
    pub fn gpu(&self, gpu: Option<&GpuVariant>) -> Result<Gpu, InputError> {
        let mut drawer = Drawer::new(self.spec.study.seed, 0);
        resolve_gpu(&self.spec, gpu, &mut drawer).map_err(|e| self.locate_error(e))
    }
}

/// Parses the YAML into the written form of a scenario.
fn parse(text: &str) -> Result<ScenarioSpec, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::general(
            "the file is empty; a scenario needs at least workload, model, hardware and fleet",
        ));
    }
    serde_yaml::from_str(text).map_err(|e| yaml_error(&e))
}

/// Rewrites a YAML or serde error for people.
fn yaml_error(error: &serde_yaml::Error) -> InputError {
    let location = error.location().map(|l| (l.line(), l.column()));
    let mut message = error.to_string();
    if let Some(l) = error.location() {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    // yaml_serde prefixes the path of the value: "fleet.servers: invalid value ...".
    let mut field = None;
    if let Some((path, rest)) = message.split_once(": ") {
        if !path.is_empty() && !path.contains(' ') {
            field = Some(path.to_string());
            message = rest.to_string();
        }
    }
    let (field, message) = explain_unknown(field, &message);
    InputError {
        file: None,
        location,
        field,
        message: plain_types(&message),
        does_not_fit: false,
    }
}

/// For "unknown field `x`, expected one of `a`, `b`": points at `x` and suggests the nearest.
fn explain_unknown(field: Option<String>, message: &str) -> (Option<String>, String) {
    let kind = if message.starts_with("unknown field") {
        "field"
    } else if message.starts_with("unknown variant") {
        "value"
    } else {
        return (field, message.to_string());
    };
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let Some((&unknown, valid)) = quoted.split_first() else {
        return (field, message.to_string());
    };
    let field = if kind == "field" {
        Some(match field {
            Some(parent) => format!("{parent}.{unknown}"),
            None => unknown.to_string(),
        })
    } else {
        field
    };
    let hint = suggest::did_you_mean(unknown, valid.iter().copied());
    let listing = if valid.is_empty() {
        String::new()
    } else {
        format!("; expected one of: {}", valid.join(", "))
    };
    (field, format!("unknown {kind} `{unknown}`{hint}{listing}"))
}

/// Replaces Rust type names in serde messages with what they mean to a user.
fn plain_types(message: &str) -> String {
    message
        .replace("expected u32", "expected a whole number ≥ 0")
        .replace("expected u64", "expected a whole number ≥ 0")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected true or false")
}

/// Line and column of the key at `field` (`fleet.servers`, `workload.hourly[3]`) in block
/// YAML; the deepest ancestor found when the key itself is absent or written in flow style.
pub fn locate(text: &str, field: &str) -> Option<(usize, usize)> {
    let mut found = None;
    let mut parent_indent: Option<usize> = None;
    let mut from_line = 0;
    let lines: Vec<&str> = text.lines().collect();
    'segments: for segment in field.split('.') {
        let key = segment.split('[').next().unwrap_or(segment);
        if key.is_empty() {
            break;
        }
        for (index, line) in lines.iter().enumerate().skip(from_line) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|p| indent <= p) {
                break 'segments;
            }
            let rest = trimmed.strip_prefix(key).map(str::trim_start);
            if rest.is_some_and(|r| r.starts_with(':')) {
                found = Some((index + 1, indent + 1));
                parent_indent = Some(indent);
                from_line = index + 1;
                continue 'segments;
            }
        }
        break;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
name: x
# comment
workload:
  rate: 5/s
  diurnal:
    hourly: [1, 2]
fleet:
  servers: 0
  router: round-robin
";

    #[test]
    fn locate_finds_nested_keys_and_falls_back_to_ancestors() {
        assert_eq!(locate(TEXT, "fleet.servers"), Some((8, 3)));
        assert_eq!(locate(TEXT, "workload.diurnal.hourly[3]"), Some((6, 5)));
        assert_eq!(locate(TEXT, "workload.diurnal.peak_hour"), Some((5, 3)));
        // `servers` under workload does not exist: stay at workload.
        assert_eq!(locate(TEXT, "workload.servers"), Some((3, 1)));
        assert_eq!(locate(TEXT, "nothing"), None);
    }

    #[test]
    fn unknown_fields_name_the_nearest_key() {
        let (field, message) = explain_unknown(
            Some("fleet".into()),
            "unknown field `servrs`, expected one of `servers`, `tensor_parallel`, `router`",
        );
        assert_eq!(field.as_deref(), Some("fleet.servrs"));
        assert_eq!(
            message,
            "unknown field `servrs` (did you mean `servers`?); expected one of: servers, \
             tensor_parallel, router"
        );
    }

    #[test]
    fn unknown_variants_keep_their_field() {
        let (field, message) = explain_unknown(
            Some("fleet.router".into()),
            "unknown variant `round-robbin`, expected `round-robin` or `least-outstanding-requests`",
        );
        assert_eq!(field.as_deref(), Some("fleet.router"));
        assert!(message.contains("did you mean `round-robin`"), "{message}");
    }
}
