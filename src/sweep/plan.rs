//! What a sweep studies: the `sweep:` section of the scenario, with the command line's flags
//! in place of its keys, checked before anything runs.

use crate::error::InputError;
use crate::scenario::spec::ServersSpec;
use crate::scenario::{ScenarioFile, Variant};

/// The share of runs that must meet the SLO when neither the file nor a flag gives one.
pub const DEFAULT_SLO_SHARE: f64 = 0.95;
/// The largest fleet the capacity search tries when neither the file nor a flag says.
pub const DEFAULT_MAX_SERVERS: u64 = 1024;
/// Most points one sweep may study (grid points; the search adds a few per load).
pub const MAX_POINTS: usize = 10_000;

/// Values from the command line, each replacing the scenario's `sweep:` key.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--servers`.
    pub servers: Option<Vec<u64>>,
    /// `--tensor-parallel`.
    pub tensor_parallel: Option<Vec<u32>>,
    /// `--load`.
    pub load: Option<Vec<f64>>,
    /// `--slo-share`.
    pub slo_share: Option<f64>,
    /// `--find`: run the capacity search even if the file has no `sweep.search`.
    pub find: bool,
    /// `--max-servers`.
    pub max_servers: Option<u64>,
}

/// A checked sweep: every combination of `servers`, `tensor_parallel` and `loads` is a
/// point.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPlan {
    /// Fleet sizes, ascending, each once.
    pub servers: Vec<u64>,
    /// Tensor-parallel degrees, ascending, each once: the configurations.
    pub tensor_parallel: Vec<u32>,
    /// Per degree, the servers one replica spans (1 when it fits in a server): fleet sizes
    /// that are not a multiple of it are left out of that degree's grid.
    pub servers_units: Vec<u64>,
    /// Load multipliers, ascending, each once.
    pub loads: Vec<f64>,
    /// Share of runs that must meet every SLO target.
    pub slo_share: f64,
    /// The largest fleet the capacity search tries; `None` when the search does not run.
    pub search_max_servers: Option<u64>,
}

impl SweepPlan {
    /// The plan of `file`'s `sweep:` section with `overrides` applied. Every point is
    /// resolved (run 0) so that a fleet the layout cannot cut, or a load out of range,
    /// stops the sweep before any simulation. Errors about the file's keys name their line.
    pub fn new(file: &mut ScenarioFile, overrides: &Overrides) -> Result<SweepPlan, InputError> {
        let saved = file.variant();
        file.set_variant(Variant::default());
        let plan = Self::from_file(file, overrides);
        file.set_variant(saved);
        plan.map_err(|e| file.locate_error(e))
    }

    fn from_file(file: &mut ScenarioFile, overrides: &Overrides) -> Result<SweepPlan, InputError> {
        let base = file.scenario(0)?;
        let spec = file.sweep();
        let mut servers = match (&overrides.servers, spec.and_then(|s| s.servers.as_ref())) {
            (Some(list), _) => {
                check_servers("--servers", list)?;
                list.clone()
            }
            (None, Some(ServersSpec::List(list))) => {
                check_servers("sweep.servers", list)?;
                list.clone()
            }
            (None, Some(ServersSpec::Range(range))) => {
                if range.from == 0 || range.step == 0 || range.to < range.from {
                    return Err(InputError::field(
                        "sweep.servers",
                        format!(
                            "expected from ≥ 1, to ≥ from and step ≥ 1, got from {}, to {}, \
                             step {}",
                            range.from, range.to, range.step
                        ),
                    ));
                }
                let count = (range.to - range.from) / range.step + 1;
                if count > MAX_POINTS as u64 {
                    return Err(InputError::field(
                        "sweep.servers",
                        format!(
                            "{count} fleet sizes is more than the {MAX_POINTS} points a sweep may study"
                        ),
                    ));
                }
                (range.from..=range.to)
                    .step_by(range.step as usize)
                    .collect()
            }
            (None, None) => vec![base.fleet.servers],
        };
        servers.sort_unstable();
        servers.dedup();

        let (field, mut tensor_parallel) = match (
            &overrides.tensor_parallel,
            spec.and_then(|s| s.tensor_parallel.as_ref()),
        ) {
            (Some(list), _) => ("--tensor-parallel", list.clone()),
            (None, Some(list)) => ("sweep.tensor_parallel", list.clone()),
            (None, None) => (
                "sweep.tensor_parallel",
                vec![base.replica.parallelism.tensor],
            ),
        };
        if tensor_parallel.is_empty() || tensor_parallel.contains(&0) {
            return Err(InputError::field(
                field,
                "expected tensor-parallel degrees of at least 1, such as [2, 4, 8]",
            ));
        }
        tensor_parallel.sort_unstable();
        tensor_parallel.dedup();

        let (field, mut loads) = match (&overrides.load, spec.and_then(|s| s.load.as_ref())) {
            (Some(list), _) => ("--load", list.clone()),
            (None, Some(list)) => ("sweep.load", list.clone()),
            (None, None) => ("sweep.load", vec![1.0]),
        };
        if loads.is_empty() {
            return Err(InputError::field(
                field,
                "expected at least one load multiplier",
            ));
        }
        if let Some(bad) = loads.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
            return Err(InputError::field(
                field,
                format!("expected load multipliers above 0, such as 0.5 or 2; got {bad}"),
            ));
        }
        loads.sort_by(f64::total_cmp);
        loads.dedup();
        if servers.len() * loads.len() * tensor_parallel.len() > MAX_POINTS {
            return Err(InputError::general(format!(
                "{} fleet sizes × {} tensor-parallel degrees × {} loads is more than the \
                 {MAX_POINTS} points a sweep may study",
                servers.len(),
                tensor_parallel.len(),
                loads.len()
            )));
        }

        let (field, slo_share) = match (overrides.slo_share, spec.and_then(|s| s.slo_share)) {
            (Some(share), _) => ("--slo-share", share),
            (None, Some(share)) => ("sweep.slo_share", share),
            (None, None) => ("sweep.slo_share", DEFAULT_SLO_SHARE),
        };
        if !(slo_share > 0.0 && slo_share <= 1.0) {
            return Err(InputError::field(
                field,
                format!(
                    "expected a share of runs above 0 and at most 1, such as 0.95; got {slo_share}"
                ),
            ));
        }

        let search = spec.and_then(|s| s.search.as_ref());
        let search_max_servers = if overrides.find || search.is_some() {
            let (field, max) = match (overrides.max_servers, search.and_then(|s| s.max_servers)) {
                (Some(max), _) => ("--max-servers", max),
                (None, Some(max)) => ("sweep.search.max_servers", max),
                (None, None) => ("sweep.search.max_servers", DEFAULT_MAX_SERVERS),
            };
            let unit = tensor_parallel
                .iter()
                .map(|&tp| super::servers_unit(&base, tp))
                .max()
                .unwrap_or(1);
            if max < unit {
                return Err(InputError::field(
                    field,
                    format!("expected at least {unit} (the servers one replica spans), got {max}"),
                ));
            }
            if base.slo.targets.is_empty() {
                return Err(InputError::field(
                    "slo",
                    "the capacity search needs latency targets to meet, such as \
                     slo: {ttft_p99: 2s, tpot_p99: 100ms}",
                ));
            }
            Some(max)
        } else {
            None
        };

        // Resolve every point's run 0: a fleet the layout cannot cut stops the sweep now.
        let servers_units: Vec<u64> = tensor_parallel
            .iter()
            .map(|&tp| super::servers_unit(&base, tp))
            .collect();
        for &n in &servers {
            for (&tp, &unit) in tensor_parallel.iter().zip(&servers_units) {
                if n % unit != 0 {
                    continue;
                }
                for &load in &loads {
                    file.set_variant(Variant {
                        servers: Some(n),
                        tensor_parallel: Some(tp),
                        load,
                        ..Variant::default()
                    });
                    file.scenario(0).map_err(|e| InputError {
                        message: format!(
                            "{} (sweep point: {n} servers, tensor_parallel {tp}, load ×{load})",
                            e.message
                        ),
                        ..e
                    })?;
                }
            }
        }
        Ok(SweepPlan {
            servers,
            tensor_parallel,
            servers_units,
            loads,
            slo_share,
            search_max_servers,
        })
    }
}

fn check_servers(field: &str, list: &[u64]) -> Result<(), InputError> {
    if list.is_empty() {
        return Err(InputError::field(field, "expected at least one fleet size"));
    }
    if list.contains(&0) {
        return Err(InputError::field(
            field,
            "expected fleet sizes of at least 1 server, got 0",
        ));
    }
    if list.len() > MAX_POINTS {
        return Err(InputError::field(
            field,
            format!(
                "{} fleet sizes is more than the {MAX_POINTS} points a sweep may study",
                list.len()
            ),
        ));
    }
    Ok(())
}

/// Parses `--servers`: a list `2,4,8` or an inclusive range `1..16` (optionally `1..16:2`,
/// every second).
pub fn parse_servers(text: &str) -> Result<Vec<u64>, String> {
    let bad = || {
        format!(
            "expected fleet sizes as a list such as 2,4,8 or a range such as 1..16 (or 2..32:2); got `{text}`"
        )
    };
    let number = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
    if let Some((from, rest)) = text.split_once("..") {
        let (to, step) = rest.split_once(':').unwrap_or((rest, "1"));
        let (from, to, step) = (number(from)?, number(to)?, number(step)?);
        if from == 0 || step == 0 || to < from {
            return Err(format!(
                "expected a range from ≥ 1 up to ≥ from, step ≥ 1; got `{text}`"
            ));
        }
        if (to - from) / step >= MAX_POINTS as u64 {
            return Err(format!(
                "`{text}` is more than the {MAX_POINTS} points a sweep may study"
            ));
        }
        return Ok((from..=to).step_by(step as usize).collect());
    }
    let list = text
        .split(',')
        .map(number)
        .collect::<Result<Vec<u64>, String>>()?;
    if list.contains(&0) {
        return Err(format!(
            "expected fleet sizes of at least 1 server; got `{text}`"
        ));
    }
    Ok(list)
}

/// Parses `--tensor-parallel`: degrees of at least 1, `1,2,4`.
pub fn parse_tensor_parallel(text: &str) -> Result<Vec<u32>, String> {
    text.split(',')
        .map(|t| match t.trim().parse::<u32>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(format!(
                "expected tensor-parallel degrees of at least 1 such as 2,4,8; got `{text}`"
            )),
        })
        .collect()
}

/// Parses `--load`: multipliers above 0, `0.5,1,2`.
pub fn parse_loads(text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .map(|t| match t.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(format!(
                "expected load multipliers above 0 such as 0.5,1,2; got `{text}`"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_parse_as_lists_and_ranges() {
        assert_eq!(parse_servers("2,4,8"), Ok(vec![2, 4, 8]));
        assert_eq!(parse_servers("1..4"), Ok(vec![1, 2, 3, 4]));
        assert_eq!(parse_servers("2..9:3"), Ok(vec![2, 5, 8]));
        assert!(parse_servers("0,2").is_err());
        assert!(parse_servers("4..2").is_err());
        assert!(parse_servers("two").is_err());
        assert!(parse_servers("1..1000000").is_err());
        assert_eq!(parse_loads("0.5, 1,2"), Ok(vec![0.5, 1.0, 2.0]));
        assert!(parse_loads("0").is_err());
        assert!(parse_loads("1,x").is_err());
    }
}
