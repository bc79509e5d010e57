//! The scenario file as written: serde types that mirror the YAML, with defaults.
//!
//! Nothing here is trusted yet: [`super::resolve`] checks ranges and cross-field rules and
//! turns these into the typed model the simulator runs. Unknown keys are rejected.

use crate::catalog::{GpuSpec, ModelSpec, Precision};
use crate::uncertain::Value;
use crate::units::{Bytes, BytesPerSec, PerSec, Ratio, Seconds, Watts};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// The whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Name of the scenario; the file name without extension when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: String,
    /// Seed, horizon and output resolution.
    #[serde(default)]
    pub study: StudySpec,
    /// The traffic.
    pub workload: WorkloadSpec,
    /// The model served: a catalog id or an inline definition.
    pub model: CatalogRef<ModelSpec>,
    /// Weight and KV-cache formats.
    #[serde(default)]
    pub precision: PrecisionSpec,
    /// The GPU and the server it sits in.
    pub hardware: HardwareSpec,
    /// How many servers, how replicas are cut from them, how requests are routed.
    pub fleet: FleetSpec,
    /// The per-replica batch scheduler.
    #[serde(default)]
    pub scheduler: SchedulerSpec,
    /// Efficiencies and overheads of the step model.
    #[serde(default)]
    pub perf: PerfSpec,
    /// The building around the servers.
    #[serde(default)]
    pub facility: FacilitySpec,
    /// The user-facing edge link.
    #[serde(default)]
    pub network: NetworkSpec,
    /// GPU and server failures.
    #[serde(default)]
    pub failures: FailuresSpec,
    /// Prices.
    #[serde(default)]
    pub costs: CostsSpec,
    /// Latency targets.
    #[serde(default)]
    pub slo: SloSpec,
    /// Fleet sizes and loads for `fleetsim sweep`; ignored by `run`.
    #[serde(default)]
    pub sweep: Option<SweepSpec>,
    /// Traffic growth over months and the fleet plan of `fleetsim grow`; ignored by `run`.
    #[serde(default)]
    pub growth: Option<GrowthSpec>,
}

/// `growth:` — how the traffic grows month by month, and how `fleetsim grow` plans the fleet
/// for it. Months and forecasts are read as text here and checked, with their field paths,
/// by [`crate::grow::Growth::new`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthSpec {
    /// The first month planned, `YYYY-MM`; the scenario's workload is its traffic.
    pub start: Text,
    /// Months planned, the first included; 12 when absent.
    #[serde(default)]
    pub months: Option<u64>,
    /// Compound growth of the traffic per month (`0.08`, `8%`, or a distribution drawn once
    /// per run); none when absent.
    #[serde(default)]
    pub monthly: Option<Value<Ratio>>,
    /// Step changes, each multiplying the traffic of its month and every later one.
    #[serde(default)]
    pub events: Vec<GrowthEventSpec>,
    /// Dated multipliers of the base traffic, by month (`YYYY-MM`), interpolated
    /// geometrically between the months given and held after the last.
    #[serde(default)]
    pub multipliers: std::collections::BTreeMap<String, Value<f64>>,
    /// How the fleet is planned.
    #[serde(default)]
    pub plan: GrowthPlanSpec,
}

/// `growth.events[i]:` — a launch or a loss of traffic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthEventSpec {
    /// The month it takes effect, `YYYY-MM`.
    pub month: Text,
    /// Multiplier of the traffic from that month on (1.5 for a launch adding half).
    pub multiplier: Value<f64>,
    /// What it is, for the report.
    #[serde(default)]
    pub label: Option<String>,
}

/// `growth.plan:` — lead time, headroom, forecast, ownership and the capacity search's bounds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthPlanSpec {
    /// Months between ordering servers and having them in service; 0 when absent.
    #[serde(default)]
    pub lead_time: Option<u64>,
    /// Capacity planned beyond the forecast: the plan provisions forecast × (1 + headroom);
    /// 0 when absent.
    #[serde(default)]
    pub headroom: Option<Ratio>,
    /// Which figure of the runs' traffic the plan provisions for: `p50`, `p90`, `mean`, …;
    /// `p50` when absent.
    #[serde(default)]
    pub forecast: Option<Text>,
    /// Owned (bought servers are kept) or rented (the fleet follows the requirement down);
    /// what `costs.hardware` says when absent.
    #[serde(default)]
    pub hardware: Option<crate::grow::Ownership>,
    /// The largest fleet the capacity search tries; 1024 when absent.
    #[serde(default)]
    pub max_servers: Option<u64>,
    /// Share of runs that must meet every SLO target; `sweep.slo_share`, else 0.95, when
    /// absent.
    #[serde(default)]
    pub slo_share: Option<f64>,
}

/// A scalar read as text whatever YAML made of it (`2027-01`, `p90`, `2027`), so that its
/// check can name the field and say what was expected.
#[derive(Clone, Debug, PartialEq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a plain value such as 2027-01 or p90")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// `sweep:` — the points of `fleetsim sweep` and its capacity search.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Fleet sizes: a list or a range; the scenario's `fleet.servers` when absent.
    #[serde(default)]
    pub servers: Option<ServersSpec>,
    /// GPUs, each with the prices that depend on it; the scenario's `hardware.gpu` when
    /// absent.
    #[serde(default)]
    pub gpus: Option<Vec<SweepGpuSpec>>,
    /// Tensor-parallel degrees; the scenario's `fleet.tensor_parallel` when absent.
    #[serde(default)]
    pub tensor_parallel: Option<Vec<u32>>,
    /// Multipliers of the offered load (open-loop rate or closed-loop clients); `[1]` when
    /// absent.
    #[serde(default)]
    pub load: Option<Vec<f64>>,
    /// Share of runs that must meet every SLO target for a fleet to pass; 0.95 when absent.
    #[serde(default)]
    pub slo_share: Option<f64>,
    /// The capacity search: present to run it (as `--find` does).
    #[serde(default)]
    pub search: Option<SearchSpec>,
}

/// One GPU of `sweep.gpus`: an id (`h200`), or a mapping that also gives the prices that
/// depend on the GPU (`{gpu: h200, server_price: 380000}`), each in place of the same key of
/// `costs.hardware`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct SweepGpuSpec {
    /// A catalog id, or the id of the scenario's inline `hardware.gpu`.
    pub gpu: String,
    /// `costs.hardware.owned.server_price` for a server of this GPU.
    #[serde(default)]
    pub server_price: Option<Value<f64>>,
    /// `costs.hardware.rented.gpu_hour` for this GPU.
    #[serde(default)]
    pub gpu_hour: Option<Value<f64>>,
    /// `costs.hardware.rented.reserved_gpu_hour` for this GPU.
    #[serde(default)]
    pub reserved_gpu_hour: Option<Value<f64>>,
}

impl SweepGpuSpec {
    /// The GPU `id` with no prices of its own.
    pub fn id(id: &str) -> SweepGpuSpec {
        SweepGpuSpec {
            gpu: id.to_string(),
            ..SweepGpuSpec::default()
        }
    }

    /// The price written at `key`: `server_price`, `gpu_hour` or `reserved_gpu_hour`.
    pub fn price(&self, key: &str) -> Option<&Value<f64>> {
        match key {
            "server_price" => self.server_price.as_ref(),
            "gpu_hour" => self.gpu_hour.as_ref(),
            _ => self.reserved_gpu_hour.as_ref(),
        }
    }
}

/// The id alone is the mapping with no prices.
impl<'de> Deserialize<'de> for SweepGpuSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SweepGpuVisitor;
        impl<'de> Visitor<'de> for SweepGpuVisitor {
            type Value = SweepGpuSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a GPU id such as h200, or {gpu: h200, server_price: 380000}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SweepGpuSpec, E> {
                Ok(SweepGpuSpec::id(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SweepGpuSpec, A::Error> {
                // The derived mapping form (`remote = "Self"` names it as an inherent fn).
                SweepGpuSpec::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_any(SweepGpuVisitor)
    }
}

/// Fleet sizes: `[2, 4, 8]` or `{from: 1, to: 16, step: 1}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "a list of server counts such as [2, 4, 8], or a range such as {from: 1, to: 16} \
                 (optional step)"
)]
pub enum ServersSpec {
    /// Each count listed.
    List(Vec<u64>),
    /// `from`, `from + step`, … up to `to` inclusive.
    Range(ServersRange),
}

/// `sweep.servers: {from, to, step}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServersRange {
    /// First count.
    pub from: u64,
    /// Last count (included when the steps land on it).
    pub to: u64,
    /// Step between counts; 1 when absent.
    #[serde(default = "one_u64")]
    pub step: u64,
}

fn one_u64() -> u64 {
    1
}

/// `sweep.search:` — bounds of the capacity search.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// The largest fleet the search tries before it gives up; 1024 when absent.
    #[serde(default)]
    pub max_servers: Option<u64>,
}

/// `slo:` — latency targets: `{metric}_p{50,90,99}` at most a duration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// Median time to first token.
    #[serde(default)]
    pub ttft_p50: Option<Value<Seconds>>,
    /// 90th-percentile time to first token.
    #[serde(default)]
    pub ttft_p90: Option<Value<Seconds>>,
    /// 99th-percentile time to first token.
    #[serde(default)]
    pub ttft_p99: Option<Value<Seconds>>,
    /// Median time per output token.
    #[serde(default)]
    pub tpot_p50: Option<Value<Seconds>>,
    /// 90th-percentile time per output token.
    #[serde(default)]
    pub tpot_p90: Option<Value<Seconds>>,
    /// 99th-percentile time per output token.
    #[serde(default)]
    pub tpot_p99: Option<Value<Seconds>>,
    /// Median gap between output tokens.
    #[serde(default)]
    pub itl_p50: Option<Value<Seconds>>,
    /// 90th-percentile gap between output tokens.
    #[serde(default)]
    pub itl_p90: Option<Value<Seconds>>,
    /// 99th-percentile gap between output tokens.
    #[serde(default)]
    pub itl_p99: Option<Value<Seconds>>,
    /// Median end-to-end latency.
    #[serde(default)]
    pub e2e_p50: Option<Value<Seconds>>,
    /// 90th-percentile end-to-end latency.
    #[serde(default)]
    pub e2e_p90: Option<Value<Seconds>>,
    /// 99th-percentile end-to-end latency.
    #[serde(default)]
    pub e2e_p99: Option<Value<Seconds>>,
}

impl SloSpec {
    /// The targets written, with their metric and percentile.
    pub fn targets(&self) -> [(crate::stats::LatencyMetric, u8, &Option<Value<Seconds>>); 12] {
        use crate::stats::LatencyMetric::{E2e, Itl, Tpot, Ttft};
        [
            (Ttft, 50, &self.ttft_p50),
            (Ttft, 90, &self.ttft_p90),
            (Ttft, 99, &self.ttft_p99),
            (Tpot, 50, &self.tpot_p50),
            (Tpot, 90, &self.tpot_p90),
            (Tpot, 99, &self.tpot_p99),
            (Itl, 50, &self.itl_p50),
            (Itl, 90, &self.itl_p90),
            (Itl, 99, &self.itl_p99),
            (E2e, 50, &self.e2e_p50),
            (E2e, 90, &self.e2e_p90),
            (E2e, 99, &self.e2e_p99),
        ]
    }
}

/// `study:` — seed, horizon, time-series resolution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudySpec {
    /// Seed of every random stream.
    pub seed: u64,
    /// Simulated time from midnight.
    pub horizon: Seconds,
    /// Width of one row of `timeseries.csv`.
    pub timeseries_interval: Seconds,
    /// Monte Carlo runs.
    pub runs: u64,
}

impl Default for StudySpec {
    fn default() -> Self {
        StudySpec {
            seed: 1,
            horizon: Seconds(86_400.0),
            timeseries_interval: Seconds(60.0),
            runs: 1,
        }
    }
}

/// `workload:` — arrivals and token lengths, or a trace that gives both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// A trace to replay: its arrivals and lengths, instead of `requests_per_day`, `rate`
    /// or `concurrency` and the length distributions.
    #[serde(default)]
    pub trace: Option<TraceSpec>,
    /// Mean daily volume (requests per day); give this, `rate` or `concurrency`.
    #[serde(default)]
    pub requests_per_day: Option<Value<f64>>,
    /// Mean arrival rate; give this, `requests_per_day` or `concurrency`.
    #[serde(default)]
    pub rate: Option<Value<PerSec>>,
    /// Clients in a closed loop, each sending its next request when its last one ends, as
    /// benchmark load generators do; give this, `rate` or `requests_per_day`.
    #[serde(default)]
    pub concurrency: Option<Value<u64>>,
    /// A closed-loop client's pause between a response and its next request; 0 when absent.
    #[serde(default)]
    pub think_time: Option<Value<Seconds>>,
    /// Shape of the day; flat when absent. With a looped trace, the replay's speed follows it.
    #[serde(default)]
    pub diurnal: Option<DiurnalSpec>,
    /// How irregular the gaps between open-loop arrivals are; Poisson (CV 1) when absent.
    #[serde(default)]
    pub burstiness: Option<BurstinessSpec>,
    /// Prompt length distribution; required unless a trace gives the lengths.
    #[serde(default)]
    pub prompt_tokens: Option<LengthSpec>,
    /// Output length distribution; required unless a trace gives the lengths.
    #[serde(default)]
    pub output_tokens: Option<LengthSpec>,
}

/// `workload.trace:` — a request log replayed as the workload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// The trace file, relative to the scenario file.
    pub file: String,
    /// Its format; detected from the first line when absent.
    #[serde(default)]
    pub format: Option<crate::workload::trace::TraceFormat>,
    /// Multiplier of the trace's timestamps (2 plays it at half speed); 1 when absent.
    #[serde(default)]
    pub time_scale: Option<Value<f64>>,
    /// Multiplier of the request rate: below 1 keeps each request with that probability,
    /// above 1 adds shifted copies of the trace; 1 when absent.
    #[serde(default)]
    pub rate_scale: Option<Value<f64>>,
    /// Whether the trace repeats until the horizon; once when absent.
    #[serde(default, rename = "loop")]
    pub looped: bool,
    /// Tokens of one prompt block of the trace's block ids; the format's when absent
    /// (Mooncake: 512).
    #[serde(default)]
    pub block_tokens: Option<u32>,
}

/// `workload.burstiness:` — gaps between arrivals drawn from a Gamma distribution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstinessSpec {
    /// Coefficient of variation (standard deviation ÷ mean) of the gaps: 1 is Poisson,
    /// above 1 burstier, below 1 more regular.
    pub cv: Value<f64>,
}

/// `workload.diurnal:` — either 24 hourly weights, or a peak-to-trough ratio and peak hour.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiurnalSpec {
    /// Relative rate in each hour from midnight (24 values, scaled to mean 1).
    #[serde(default)]
    pub hourly: Option<Vec<Value<f64>>>,
    /// Ratio of the busiest hour's rate to the quietest's (a cosine over the day).
    #[serde(default)]
    pub peak_to_trough: Option<Value<f64>>,
    /// Hour of the peak, 0–23.
    #[serde(default)]
    pub peak_hour: Option<Value<f64>>,
}

/// A token-length distribution with optional caps.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthFields {
    /// Every request the same length.
    #[serde(default)]
    pub fixed: Option<Value<f64>>,
    /// Uniform over whole numbers `[low, high]`.
    #[serde(default)]
    pub uniform: Option<Vec<Value<f64>>>,
    /// Lognormal by median and sigma (of the log).
    #[serde(default)]
    pub lognormal: Option<LogNormalSpec>,
    /// Normal by mean and standard deviation.
    #[serde(default)]
    pub normal: Option<NormalSpec>,
    /// Drawn uniformly from these observed lengths.
    #[serde(default)]
    pub empirical: Option<Vec<f64>>,
    /// A quantile function by its knots, `{p0: 2, p50: 1020, p100: 14050}`, interpolated
    /// linearly between them.
    #[serde(default)]
    pub quantiles: Option<std::collections::BTreeMap<String, f64>>,
    /// Lower cap (default 1).
    #[serde(default)]
    pub min: Option<Value<f64>>,
    /// Upper cap (default none).
    #[serde(default)]
    pub max: Option<Value<f64>>,
}

/// Lognormal parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogNormalSpec {
    /// Median length.
    pub median: Value<f64>,
    /// Standard deviation of the natural log.
    pub sigma: Value<f64>,
}

/// Normal parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalSpec {
    /// Mean length.
    pub mean: Value<f64>,
    /// Standard deviation.
    pub sd: Value<f64>,
}

/// A length given as a plain number (fixed) or as a mapping of [`LengthFields`].
#[derive(Debug, Clone)]
pub struct LengthSpec(pub LengthFields);

impl<'de> Deserialize<'de> for LengthSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LengthVisitor;
        impl<'de> Visitor<'de> for LengthVisitor {
            type Value = LengthSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a token count, or a mapping with one of fixed, uniform, lognormal, normal, \
                     empirical, quantiles (and optional min, max)",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LengthSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LengthSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LengthSpec, E> {
                Ok(LengthSpec(LengthFields {
                    fixed: Some(Value::Fixed(v)),
                    ..LengthFields::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LengthSpec, A::Error> {
                LengthFields::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(LengthSpec)
            }
        }
        deserializer.deserialize_any(LengthVisitor)
    }
}

/// A catalog entry named by id, or an inline definition of the same shape.
#[derive(Debug, Clone)]
pub enum CatalogRef<T> {
    /// The id of a built-in entry.
    Id(String),
    /// A definition given in the scenario.
    Inline(Box<T>),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for CatalogRef<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for RefVisitor<T> {
            type Value = CatalogRef<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a catalog id (see `fleetsim catalog`) or an inline definition")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CatalogRef<T>, E> {
                Ok(CatalogRef::Id(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CatalogRef<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|inline| CatalogRef::Inline(Box::new(inline)))
            }
        }
        deserializer.deserialize_any(RefVisitor(PhantomData))
    }
}

/// `precision:` — storage formats.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrecisionSpec {
    /// Weight format.
    pub weights: Precision,
    /// KV-cache format.
    pub kv_cache: Precision,
}

impl Default for PrecisionSpec {
    fn default() -> Self {
        PrecisionSpec {
            weights: Precision::Bf16,
            kv_cache: Precision::Bf16,
        }
    }
}

/// `hardware:` — the GPU and its server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareSpec {
    /// The GPU: a catalog id or an inline definition.
    pub gpu: CatalogRef<GpuSpec>,
    /// GPUs in one server.
    #[serde(default = "default_gpus_per_server")]
    pub gpus_per_server: Value<u32>,
    /// Per-GPU bandwidth inside a server, both directions together as GPU datasheets state
    /// it (NVLink 900 GB/s); the GPU's own when absent.
    #[serde(default)]
    pub scale_up_link: Option<Value<BytesPerSec>>,
    /// Per-GPU network bandwidth between servers, each direction, as NICs are rated.
    #[serde(default = "default_nic_bandwidth")]
    pub nic_bandwidth: Value<BytesPerSec>,
    /// The server's non-GPU parts; a typical HGX-class server when absent.
    #[serde(default)]
    pub server: Option<ServerSpec>,
}

/// `hardware.server:` — the bill of materials that draws power besides the GPUs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Component lines.
    pub components: Vec<ComponentSpec>,
}

/// One component line: `count × (static + dynamic · load)` watts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// What it is.
    pub name: String,
    /// How many units.
    pub count: Value<f64>,
    /// Watts per unit at any load.
    #[serde(default = "zero_watts", rename = "static")]
    pub static_power: Value<Watts>,
    /// Watts per unit added at full load.
    #[serde(default = "zero_watts")]
    pub dynamic: Value<Watts>,
}

fn default_gpus_per_server() -> Value<u32> {
    Value::Fixed(8)
}

fn zero_watts() -> Value<Watts> {
    Value::Fixed(Watts(0.0))
}

/// One 400 Gb/s ConnectX-7 NIC per GPU, as in DGX/HGX H100, H200 and B200 systems
/// (NVIDIA DGX BasePOD reference architecture): 50 GB/s each way.
fn default_nic_bandwidth() -> Value<BytesPerSec> {
    Value::Fixed(BytesPerSec(50e9))
}

/// `fleet:` — servers, replicas, routing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    /// Servers in the fleet.
    pub servers: Value<u64>,
    /// Tensor-parallel degree of a replica.
    #[serde(default = "one")]
    pub tensor_parallel: Value<u32>,
    /// Pipeline-parallel degree of a replica.
    #[serde(default = "one")]
    pub pipeline_parallel: Value<u32>,
    /// Router policy.
    #[serde(default)]
    pub router: crate::fleet::RouterPolicy,
    /// Servers switched on and off with the load; `servers` is then the fleet at midnight
    /// and the fixed fleet `fleetsim autoscale` compares with.
    #[serde(default)]
    pub autoscaling: Option<AutoscalingSpec>,
}

/// `fleet.autoscaling:` — see [`crate::fleet::Autoscaling`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingSpec {
    /// Fewest servers on; one replica's servers when absent.
    #[serde(default)]
    pub min_servers: Option<Value<u64>>,
    /// Most servers on.
    pub max_servers: Value<u64>,
    /// Target of requests waiting or running per replica (give this or `kv_cache`).
    #[serde(default)]
    pub requests_per_replica: Option<Value<f64>>,
    /// Target share of each replica's KV cache in use (give this or
    /// `requests_per_replica`).
    #[serde(default)]
    pub kv_cache: Option<Value<f64>>,
    /// Relative deviation from the target that changes nothing.
    #[serde(default = "default_scale_tolerance")]
    pub tolerance: Value<f64>,
    /// Time between decisions.
    #[serde(default = "default_scale_interval")]
    pub interval: Value<Seconds>,
    /// Time from asking for a server to its serving.
    #[serde(default = "default_provisioning_delay")]
    pub provisioning_delay: Value<Seconds>,
    /// How long a lower recommendation must hold before servers are released.
    #[serde(default = "default_scale_down_delay")]
    pub scale_down_delay: Value<Seconds>,
}

fn default_scale_tolerance() -> Value<f64> {
    crate::fleet::autoscaler::DEFAULTS.tolerance.into()
}

fn default_scale_interval() -> Value<Seconds> {
    crate::fleet::autoscaler::DEFAULTS.interval.into()
}

fn default_provisioning_delay() -> Value<Seconds> {
    crate::fleet::autoscaler::DEFAULTS.provisioning_delay.into()
}

fn default_scale_down_delay() -> Value<Seconds> {
    crate::fleet::autoscaler::DEFAULTS.scale_down_delay.into()
}

fn one() -> Value<u32> {
    Value::Fixed(1)
}

/// `scheduler:` — the replica's batching.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerSpec {
    /// Continuous (vLLM-style) or static batching.
    pub batching: crate::serve::Batching,
    /// Most sequences in one batch (vLLM `max_num_seqs`).
    pub max_seqs: Value<u32>,
    /// Most tokens in one step (vLLM `max_num_batched_tokens`).
    pub max_tokens_per_step: Value<u32>,
    /// Split long prompts into chunks that share steps with decodes.
    pub chunked_prefill: bool,
    /// Tokens per KV-cache block (vLLM `block_size`).
    pub kv_block_tokens: Value<u32>,
    /// Fraction of GPU memory the server may use (vLLM `gpu_memory_utilization`).
    pub memory_utilization: Value<f64>,
    /// Memory per GPU set aside for activations and runtime; a formula when absent.
    pub activation_reserve: Option<Value<Bytes>>,
    /// Keep computed prompt blocks and reuse them (vLLM `enable_prefix_caching`); when
    /// absent, on if the workload's trace has prompt block ids and batching is continuous.
    pub prefix_caching: Option<bool>,
}

impl Default for SchedulerSpec {
    fn default() -> Self {
        SchedulerSpec {
            batching: crate::serve::Batching::Continuous,
            max_seqs: Value::Fixed(256),
            max_tokens_per_step: Value::Fixed(8192),
            chunked_prefill: true,
            kv_block_tokens: Value::Fixed(16),
            memory_utilization: Value::Fixed(0.9),
            activation_reserve: None,
            prefix_caching: None,
        }
    }
}

/// `perf:` — how close to the hardware peaks the serving software gets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerfSpec {
    /// Fraction of peak tensor throughput reached by matrix products.
    pub compute_efficiency: Value<f64>,
    /// Fraction of peak memory bandwidth reached by streaming reads.
    pub memory_efficiency: Value<f64>,
    /// Fraction of link bandwidth reached by collectives.
    pub link_efficiency: Value<f64>,
    /// Fixed time added to every step.
    pub step_overhead: Value<Seconds>,
    /// Fixed time added to every collective and pipeline hand-off.
    pub collective_latency: Value<Seconds>,
}

impl Default for PerfSpec {
    fn default() -> Self {
        let defaults = crate::perf_model::DEFAULTS;
        PerfSpec {
            compute_efficiency: defaults.efficiencies.compute.into(),
            memory_efficiency: defaults.efficiencies.memory.into(),
            link_efficiency: defaults.efficiencies.link.into(),
            step_overhead: defaults.overheads.step.into(),
            collective_latency: defaults.overheads.collective.into(),
        }
    }
}

/// `facility:` — cooling and distribution overhead.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FacilitySpec {
    /// Power usage effectiveness: a number, `{hourly: [...]}` or `{temperature: {...}}`.
    pub pue: PueSpec,
    /// Share of the overhead that is cooling.
    pub cooling_share: Value<f64>,
    /// Outside temperature in each hour from midnight, °C (for the temperature model).
    pub outside_temperature: Option<Vec<Value<f64>>>,
}

impl Default for FacilitySpec {
    fn default() -> Self {
        FacilitySpec {
            pue: PueSpec(PueFields {
                constant: Some(crate::facility::DEFAULT_PUE.into()),
                ..PueFields::default()
            }),
            cooling_share: crate::facility::DEFAULT_COOLING_SHARE.into(),
            outside_temperature: None,
        }
    }
}

/// The ways PUE may be written; exactly one is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PueFields {
    /// The plain-number form (not a YAML key).
    #[serde(skip)]
    pub constant: Option<Value<f64>>,
    /// One PUE per hour from midnight.
    #[serde(default)]
    pub hourly: Option<Vec<Value<f64>>>,
    /// PUE from outside temperature and IT load.
    #[serde(default)]
    pub temperature: Option<TemperaturePueSpec>,
}

/// `facility.pue.temperature:` — see [`crate::facility::PueModel::Temperature`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemperaturePueSpec {
    /// PUE at full load at or below the threshold.
    pub base: Value<f64>,
    /// °C above which cooling works harder.
    pub threshold: Value<f64>,
    /// PUE added per °C above the threshold.
    pub per_degree: Value<f64>,
    /// PUE added at zero IT load, falling to nothing at full load.
    #[serde(default = "zero")]
    pub low_load: Value<f64>,
}

/// PUE: a number, or a mapping of [`PueFields`].
#[derive(Debug)]
pub struct PueSpec(pub PueFields);

impl<'de> Deserialize<'de> for PueSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PueVisitor;
        impl<'de> Visitor<'de> for PueVisitor {
            type Value = PueSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a PUE such as 1.2, or {hourly: [24 values]}, or {temperature: {...}}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PueSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PueSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PueSpec, E> {
                Ok(PueSpec(PueFields {
                    constant: Some(Value::Fixed(v)),
                    ..PueFields::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PueSpec, A::Error> {
                // A mapping is either a PUE distribution or one of the hourly and temperature
                // forms; which keys it has decides.
                let content =
                    serde_yaml::Mapping::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let is_form = content
                    .keys()
                    .any(|k| matches!(k.as_str(), Some("hourly") | Some("temperature")));
                let value = serde_yaml::Value::Mapping(content);
                if is_form {
                    PueFields::deserialize(value)
                        .map(PueSpec)
                        .map_err(de::Error::custom)
                } else {
                    Value::<f64>::deserialize(value)
                        .map(|v| {
                            PueSpec(PueFields {
                                constant: Some(v),
                                ..PueFields::default()
                            })
                        })
                        .map_err(de::Error::custom)
                }
            }
        }
        deserializer.deserialize_any(PueVisitor)
    }
}

/// `network:` — the links to the users.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    /// The user-facing edge link.
    pub edge: EdgeSpec,
}

/// `network.edge:` — see [`crate::fleet::EdgeConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeSpec {
    /// Bandwidth of each direction.
    pub bandwidth: Value<BytesPerSec>,
    /// One-way latency.
    pub latency: Value<Seconds>,
    /// Request bytes per prompt token.
    pub request_bytes_per_token: Value<f64>,
    /// Fixed bytes per request.
    pub request_overhead_bytes: Value<f64>,
    /// Response bytes per streamed token.
    pub response_bytes_per_token: Value<f64>,
}

impl Default for EdgeSpec {
    fn default() -> Self {
        let d = crate::fleet::edge::DEFAULT_EDGE;
        EdgeSpec {
            bandwidth: d.bandwidth.into(),
            latency: d.latency.into(),
            request_bytes_per_token: d.request_bytes_per_token.into(),
            request_overhead_bytes: d.request_overhead_bytes.into(),
            response_bytes_per_token: d.response_bytes_per_token.into(),
        }
    }
}

/// `failures:` — see [`crate::fleet::FailureModel`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailuresSpec {
    /// Whether parts fail at all.
    pub enabled: bool,
    /// Mean time between failures of one GPU.
    pub gpu_mtbf: Value<Seconds>,
    /// Mean time between failures of one server (host, network, NICs).
    pub server_mtbf: Value<Seconds>,
    /// Mean time to repair a GPU.
    pub gpu_mttr: Value<Seconds>,
    /// Mean time to repair a server.
    pub server_mttr: Value<Seconds>,
    /// Retries before a request thrown out of a failed replica fails.
    pub max_retries: Value<u32>,
}

impl Default for FailuresSpec {
    fn default() -> Self {
        let d = crate::fleet::failures::DEFAULT_FAILURES;
        FailuresSpec {
            enabled: true,
            gpu_mtbf: d.gpu_mtbf.into(),
            server_mtbf: d.server_mtbf.into(),
            gpu_mttr: d.gpu_mttr.into(),
            server_mttr: d.server_mttr.into(),
            max_retries: d.max_retries.into(),
        }
    }
}

/// `costs:` — prices, each in dollars.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostsSpec {
    /// Owned or rented servers; rented at the GPU's catalog price when absent.
    pub hardware: Option<HardwareCostSpec>,
    /// Electricity tariff.
    pub energy: EnergyCostSpec,
    /// Internet egress, $ per GB.
    pub egress_per_gb: Value<f64>,
    /// Colocation, $ per kW of provisioned IT power per month.
    pub colocation_per_kw_month: Value<f64>,
    /// Fixed costs, $ per day by name (staff, software, data).
    pub fixed_per_day: std::collections::BTreeMap<String, Value<f64>>,
    /// Grid carbon intensity and price.
    pub carbon: CarbonSpec,
}

impl Default for CostsSpec {
    fn default() -> Self {
        let d = crate::cost::prices::DEFAULTS;
        CostsSpec {
            hardware: None,
            energy: EnergyCostSpec::default(),
            egress_per_gb: d.egress_usd_per_gb.into(),
            colocation_per_kw_month: d.colocation_usd_per_kw_month.into(),
            fixed_per_day: Default::default(),
            carbon: CarbonSpec::default(),
        }
    }
}

/// `costs.hardware:` — exactly one of `owned` and `rented`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareCostSpec {
    /// Bought servers.
    #[serde(default)]
    pub owned: Option<OwnedSpec>,
    /// Rented GPUs.
    #[serde(default)]
    pub rented: Option<RentedSpec>,
}

/// `costs.hardware.owned:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnedSpec {
    /// Price of one server, all-in, $.
    pub server_price: Value<f64>,
    /// Years it is written off over.
    #[serde(default = "default_amortization_years")]
    pub amortization_years: Value<f64>,
    /// Yearly interest rate on the purchase.
    #[serde(default = "zero")]
    pub financing_rate: Value<f64>,
    /// Yearly maintenance as a share of the price.
    #[serde(default = "zero")]
    pub maintenance_rate: Value<f64>,
}

fn default_amortization_years() -> Value<f64> {
    crate::cost::prices::DEFAULTS.amortization_years.into()
}

fn zero() -> Value<f64> {
    Value::Fixed(0.0)
}

/// `costs.hardware.rented:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RentedSpec {
    /// On-demand $ per GPU-hour; the GPU's catalog price when absent.
    #[serde(default)]
    pub gpu_hour: Option<Value<f64>>,
    /// Reserved $ per GPU-hour.
    #[serde(default)]
    pub reserved_gpu_hour: Option<Value<f64>>,
    /// Share of GPUs reserved.
    #[serde(default)]
    pub reserved_share: Option<Value<f64>>,
    /// Whether the price covers power, cooling and space (default true, as cloud prices do).
    #[serde(default)]
    pub includes_facility: Option<bool>,
}

/// `costs.energy:` — a flat `price` or 24 `hourly` prices, $ per kWh.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyCostSpec {
    /// Flat tariff.
    #[serde(default)]
    pub price_per_kwh: Option<Value<f64>>,
    /// Time-of-use tariff, one price per hour from midnight.
    #[serde(default)]
    pub hourly: Option<Vec<Value<f64>>>,
}

/// `costs.carbon:` — grid intensity (flat or hourly, kg CO2e per kWh) and a price.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarbonSpec {
    /// Flat intensity.
    #[serde(default)]
    pub kg_per_kwh: Option<Value<f64>>,
    /// Hourly intensity.
    #[serde(default)]
    pub hourly: Option<Vec<Value<f64>>>,
    /// Price, $ per tonne CO2e.
    #[serde(default = "zero")]
    pub price_per_tonne: Value<f64>,
}
