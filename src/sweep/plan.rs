//! What a sweep studies: the `sweep:` section of the scenario, with the command line's flags
//! in place of its keys, checked before anything runs.

use crate::error::InputError;
use crate::scenario::spec::{ServersSpec, SweepGpuSpec};
use crate::scenario::{GpuVariant, ScenarioFile, Variant};
use serde::{Deserialize, Serialize};

/// The share of runs that must meet the SLO when neither the file nor a flag gives one.
pub const DEFAULT_SLO_SHARE: f64 = 0.95;
/// The largest fleet the capacity search tries when neither the file nor a flag says.
pub const DEFAULT_MAX_SERVERS: u64 = 1024;
/// Most points one sweep may study (grid points; the search adds a few per load).
pub const MAX_POINTS: usize = 10_000;

/// Values from the command line, each replacing the scenario's `sweep:` key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    /// `--servers`.
    pub servers: Option<Vec<u64>>,
    /// `--gpus`: ids, each taking its prices from the `sweep.gpus` entry of the same id.
    pub gpus: Option<Vec<String>>,
    /// `--tensor-parallel`.
    pub tensor_parallel: Option<Vec<u32>>,
    /// `--load`.
    pub load: Option<Vec<f64>>,
    /// `--slo-share`.
    pub slo_share: Option<f64>,
    /// `--find` (`true`: run the capacity search even if the file has no `sweep.search`) or
    /// `--no-find` (`false`: study the grid only, even if it has); as the file says when
    /// `None`.
    pub find: Option<bool>,
    /// `--max-servers`.
    pub max_servers: Option<u64>,
}

/// A checked sweep: every combination of `servers`, a configuration (a GPU at a
/// tensor-parallel degree) and `loads` is a point.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPlan {
    /// Fleet sizes, ascending, each once.
    pub servers: Vec<u64>,
    /// GPUs, in the order given, each once: the scenario's own when no GPUs are swept.
    pub gpus: Vec<SweepGpu>,
    /// Tensor-parallel degrees, ascending, each once.
    pub tensor_parallel: Vec<u32>,
    /// The configurations studied: every GPU at every degree, by GPU then degree, but those
    /// whose model does not fit.
    pub configurations: Vec<Configuration>,
    /// The configurations left out because the model does not fit their GPUs' memory.
    pub left_out: Vec<LeftOut>,
    /// Load multipliers, ascending, each once.
    pub loads: Vec<f64>,
    /// Share of runs that must meet every SLO target.
    pub slo_share: f64,
    /// The largest fleet the capacity search tries; `None` when the search does not run.
    pub search_max_servers: Option<u64>,
}

/// A GPU of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepGpu {
    /// Its id: the catalog's, or the inline `hardware.gpu`'s.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// What puts it in place of `hardware.gpu`, with its prices; `None` for the scenario's
    /// own when no GPUs are swept.
    pub variant: Option<GpuVariant>,
}

/// A configuration: a GPU at a tensor-parallel degree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Configuration {
    /// The GPU, an index of [`SweepPlan::gpus`].
    pub gpu: usize,
    /// The tensor-parallel degree.
    pub tensor_parallel: u32,
    /// Servers one replica spans (1 when it fits in a server): fleet sizes that are not a
    /// multiple of it are left out of this configuration's grid.
    pub servers_unit: u64,
}

/// A configuration left out of a sweep, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct LeftOut {
    /// The configuration.
    pub configuration: Configuration,
    /// The memory check's message: what the replica needs and what the GPU offers.
    pub reason: String,
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
        let gpus = gpus(file, overrides, spec.and_then(|s| s.gpus.as_deref()))?;

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
        if servers.len() * gpus.len() * tensor_parallel.len() * loads.len() > MAX_POINTS {
            return Err(InputError::general(format!(
                "{} fleet sizes × {} GPUs × {} tensor-parallel degrees × {} loads is more than \
                 the {MAX_POINTS} points a sweep may study",
                servers.len(),
                gpus.len(),
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
        let search_max_servers = if overrides.find.unwrap_or(search.is_some()) {
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

        // Resolve every point's run 0: a fleet the layout cannot cut stops the sweep now, and
        // a configuration whose model does not fit is left out.
        let mut configurations = Vec::new();
        let mut left_out = Vec::new();
        for (g, gpu) in gpus.iter().enumerate() {
            for &tp in &tensor_parallel {
                let configuration = Configuration {
                    gpu: g,
                    tensor_parallel: tp,
                    servers_unit: super::servers_unit(&base, tp),
                };
                let unit = configuration.servers_unit;
                let mut fleets: Vec<u64> =
                    servers.iter().copied().filter(|n| n % unit == 0).collect();
                if fleets.is_empty() && search_max_servers.is_some() {
                    fleets.push(unit);
                }
                match check_points(file, gpu, tp, &fleets, &loads) {
                    Ok(()) => configurations.push(configuration),
                    Err(e) if e.does_not_fit => left_out.push(LeftOut {
                        configuration,
                        reason: e.message,
                    }),
                    Err(e) => return Err(e),
                }
            }
        }
        if configurations.is_empty() {
            let reasons: Vec<String> = left_out
                .iter()
                .map(|l| {
                    let c = &l.configuration;
                    format!("{}: {}", label(&gpus, c.gpu, c.tensor_parallel), l.reason)
                })
                .collect();
            return Err(InputError::general(format!(
                "the model fits none of the configurations swept, so there is nothing to study; {}",
                reasons.join("; ")
            )));
        }
        Ok(SweepPlan {
            servers,
            gpus,
            tensor_parallel,
            configurations,
            left_out,
            loads,
            slo_share,
            search_max_servers,
        })
    }

    /// The grid's points in the order a sweep studies them — by load, then configuration,
    /// then fleet size — as (load, configuration) indices and servers; fleet sizes a
    /// configuration cannot cut are left out of it.
    pub fn grid(&self) -> Vec<(usize, usize, u64)> {
        let mut points = Vec::new();
        for load in 0..self.loads.len() {
            for (c, configuration) in self.configurations.iter().enumerate() {
                for &servers in &self.servers {
                    if servers % configuration.servers_unit == 0 {
                        points.push((load, c, servers));
                    }
                }
            }
        }
        points
    }

    /// The variant a point studies: `servers` of configuration `c` at load index `load`.
    pub fn variant(&self, load: usize, c: usize, servers: u64) -> Variant {
        let configuration = &self.configurations[c];
        Variant {
            servers: Some(servers),
            tensor_parallel: Some(configuration.tensor_parallel),
            gpu: self.gpus[configuration.gpu].variant.clone(),
            load: self.loads[load],
            ..Variant::default()
        }
    }

    /// How reports name a point: `4 servers, tp 4, load ×1`.
    pub fn point_label(&self, load: usize, c: usize, servers: u64) -> String {
        let configuration = &self.configurations[c];
        let gpu = &self.gpus[configuration.gpu].id;
        format!(
            "{servers} server{}, {}, load ×{}",
            if servers == 1 { "" } else { "s" },
            self.label(gpu, configuration.tensor_parallel),
            self.loads[load]
        )
    }

    /// How reports name a configuration: `tp 4`, or `H200 SXM tp 4` when several GPUs are
    /// swept.
    pub fn label(&self, gpu: &str, tensor_parallel: u32) -> String {
        let index = self.gpus.iter().position(|g| g.id == gpu).unwrap_or(0);
        label(&self.gpus, index, tensor_parallel)
    }
}

/// `tp 4`, or `H200 SXM tp 4` among several GPUs.
fn label(gpus: &[SweepGpu], gpu: usize, tensor_parallel: u32) -> String {
    if gpus.len() > 1 {
        format!("{} tp {tensor_parallel}", gpus[gpu].name)
    } else {
        format!("tp {tensor_parallel}")
    }
}

/// Resolves run 0 of every point of one configuration at `fleets` and `loads`; an error
/// names the point, but for a model that does not fit, which none of the points changes.
fn check_points(
    file: &mut ScenarioFile,
    gpu: &SweepGpu,
    tp: u32,
    fleets: &[u64],
    loads: &[f64],
) -> Result<(), InputError> {
    for &n in fleets {
        for &load in loads {
            file.set_variant(Variant {
                servers: Some(n),
                tensor_parallel: Some(tp),
                gpu: gpu.variant.clone(),
                load,
                ..Variant::default()
            });
            file.scenario(0).map_err(|e| {
                if e.does_not_fit {
                    return e; // the same at every point of the configuration
                }
                let which = match gpu.variant {
                    Some(_) => format!("{}, ", gpu.id),
                    None => String::new(),
                };
                InputError {
                    message: format!(
                        "{} (sweep point: {n} servers, {which}tensor_parallel {tp}, load ×{load})",
                        e.message
                    ),
                    ..e
                }
            })?;
        }
    }
    Ok(())
}

/// The GPUs swept: `--gpus` (each with the prices of the `sweep.gpus` entry of its id), else
/// `sweep.gpus`, else the scenario's own. Each is looked up, so an unknown id stops the
/// sweep naming where it was written; one named twice counts once, unless with other prices.
fn gpus(
    file: &ScenarioFile,
    overrides: &Overrides,
    written: Option<&[SweepGpuSpec]>,
) -> Result<Vec<SweepGpu>, InputError> {
    let entry = |i: usize, spec: &SweepGpuSpec| GpuVariant {
        spec: spec.clone(),
        field: format!("sweep.gpus[{i}]"),
    };
    let variants: Vec<GpuVariant> = match (&overrides.gpus, written) {
        (Some(ids), _) => ids
            .iter()
            .map(|id| {
                let found = written
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .find(|(_, spec)| spec.gpu.eq_ignore_ascii_case(id));
                match found {
                    Some((i, spec)) => entry(i, spec),
                    None => GpuVariant {
                        spec: SweepGpuSpec::id(id),
                        field: "--gpus".into(),
                    },
                }
            })
            .collect(),
        (None, Some([])) => {
            return Err(InputError::field(
                "sweep.gpus",
                "expected at least one GPU, such as [h100-sxm, h200]",
            ));
        }
        (None, Some(list)) => list.iter().enumerate().map(|(i, s)| entry(i, s)).collect(),
        (None, None) => {
            let own = file.gpu(None)?;
            return Ok(vec![SweepGpu {
                id: own.id,
                name: own.name,
                variant: None,
            }]);
        }
    };
    let mut gpus: Vec<SweepGpu> = Vec::new();
    for variant in variants {
        let gpu = file.gpu(Some(&variant))?;
        let earlier = gpus
            .iter()
            .find(|g| g.id == gpu.id)
            .and_then(|g| g.variant.as_ref());
        if let Some(earlier) = earlier {
            let same_prices = ["server_price", "gpu_hour", "reserved_gpu_hour"]
                .iter()
                .all(|key| earlier.spec.price(key) == variant.spec.price(key));
            if same_prices {
                continue;
            }
            return Err(InputError::field(
                variant.field,
                format!(
                    "{} is listed twice with different prices (also {})",
                    gpu.id, earlier.field
                ),
            ));
        }
        gpus.push(SweepGpu {
            id: gpu.id,
            name: gpu.name,
            variant: Some(variant),
        });
    }
    Ok(gpus)
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

/// Parses `--gpus`: GPU ids, `h100-sxm,h200`.
pub fn parse_gpus(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(|t| match t.trim() {
            "" => Err(format!(
                "expected GPU ids such as h100-sxm,h200 (see `fleetsim catalog gpus`); got `{text}`"
            )),
            id => Ok(id.to_string()),
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
        assert_eq!(
            parse_gpus("h100-sxm, h200"),
            Ok(vec!["h100-sxm".to_string(), "h200".to_string()])
        );
        assert!(parse_gpus("h100-sxm,").is_err());
    }

    /// An owned fleet of one-GPU servers sweeping two GPUs at two degrees.
    const OWNED: &str = "
workload: {rate: 2/s, prompt_tokens: 100, output_tokens: 10}
model: llama-3.1-8b
hardware: {gpu: h100-sxm, gpus_per_server: 2}
fleet: {servers: 1}
costs: {hardware: {owned: {server_price: 40000}}}
sweep:
  gpus: [h100-sxm, {gpu: h200, server_price: {uniform: [45000, 55000]}}]
  tensor_parallel: [2, 1]
";

    fn plan_of(text: &str, overrides: &Overrides) -> Result<SweepPlan, InputError> {
        SweepPlan::new(&mut ScenarioFile::parse(text, "t").unwrap(), overrides)
    }

    #[test]
    fn sweep_gpus_are_ids_or_entries_with_prices_each_at_every_degree() {
        let plan = plan_of(OWNED, &Overrides::default()).unwrap();
        let ids: Vec<&str> = plan.gpus.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["h100-sxm", "h200"], "in the order given");
        assert_eq!(plan.gpus[1].name, "H200 SXM");
        let h200 = plan.gpus[1].variant.as_ref().unwrap();
        assert_eq!(h200.field, "sweep.gpus[1]");
        assert!(h200.spec.server_price.is_some());
        assert_eq!(
            plan.gpus[0].variant.as_ref().unwrap().spec.server_price,
            None
        );
        let configurations: Vec<(usize, u32)> = plan
            .configurations
            .iter()
            .map(|c| (c.gpu, c.tensor_parallel))
            .collect();
        assert_eq!(configurations, [(0, 1), (0, 2), (1, 1), (1, 2)]);
        assert_eq!(plan.label("h200", 2), "H200 SXM tp 2");
        assert!(plan.left_out.is_empty());
    }

    #[test]
    fn without_gpus_the_scenario_gpu_is_the_only_one() {
        let text = OWNED.replace(
            "  gpus: [h100-sxm, {gpu: h200, server_price: {uniform: [45000, 55000]}}]\n",
            "",
        );
        let plan = plan_of(&text, &Overrides::default()).unwrap();
        assert_eq!(plan.gpus.len(), 1);
        assert_eq!(plan.gpus[0].id, "h100-sxm");
        assert_eq!(plan.gpus[0].variant, None, "the file as written");
        assert_eq!(plan.label("h100-sxm", 2), "tp 2");
    }

    #[test]
    fn the_gpus_flag_takes_the_prices_of_the_entry_of_each_id() {
        let overrides = Overrides {
            gpus: Some(vec!["H200".into(), "h200".into()]),
            ..Overrides::default()
        };
        let plan = plan_of(OWNED, &overrides).unwrap();
        assert_eq!(plan.gpus.len(), 1, "named twice, studied once");
        assert_eq!(
            plan.gpus[0].variant.as_ref().unwrap().field,
            "sweep.gpus[1]"
        );
        let overrides = Overrides {
            gpus: Some(vec!["b200".into()]),
            ..Overrides::default()
        };
        let err = plan_of(OWNED, &overrides).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("--gpus"));
        assert!(err.message.contains("needs its own server_price"), "{err}");
    }

    #[test]
    fn a_gpu_listed_twice_counts_once_unless_its_prices_differ() {
        let twice = OWNED.replace("gpus: [h100-sxm,", "gpus: [h100-sxm, H100-SXM,");
        assert_eq!(
            plan_of(&twice, &Overrides::default()).unwrap().gpus.len(),
            2
        );
        let priced = twice.replace("H100-SXM,", "{gpu: H100-SXM, server_price: 1},");
        let err = plan_of(&priced, &Overrides::default()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("sweep.gpus[1]"));
        assert!(
            err.message
                .contains("listed twice with different prices (also sweep.gpus[0])"),
            "{err}"
        );
    }

    #[test]
    fn a_configuration_the_model_does_not_fit_is_left_out() {
        let text = OWNED.replace("llama-3.1-8b", "llama-2-13b").replace(
            "gpus: [h100-sxm,",
            "gpus: [h100-sxm, {gpu: l40s, server_price: 20000},",
        );
        let overrides = Overrides {
            tensor_parallel: Some(vec![1]),
            ..Overrides::default()
        };
        // 24 GiB of weights: half an H100 or H200 holds them, half an L40S does not.
        let tight = text.replace(
            "fleet: {servers: 1}",
            "fleet: {servers: 1}\nscheduler: {memory_utilization: 0.5}",
        );
        let plan = plan_of(&tight, &overrides).unwrap();
        let kept: Vec<&str> = plan
            .configurations
            .iter()
            .map(|c| plan.gpus[c.gpu].id.as_str())
            .collect();
        assert_eq!(kept, ["h100-sxm", "h200"]);
        assert_eq!(plan.left_out.len(), 1);
        assert_eq!(plan.gpus[plan.left_out[0].configuration.gpu].id, "l40s");
        assert!(
            plan.left_out[0]
                .reason
                .starts_with("Llama-2 13B does not fit"),
            "{}",
            plan.left_out[0].reason
        );
    }
}
