//! The measurement file: one measured figure per CSV row, with the configuration it was
//! measured under. Every malformed row is reported with its line number.

use crate::catalog::{Catalog, Precision};
use crate::error::InputError;
use std::path::Path;

/// A figure a measurement can give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Gap between consecutive output tokens of a request, milliseconds.
    ItlMs,
    /// Time to first token, milliseconds.
    TtftMs,
    /// Time per output token after the first, per request, milliseconds.
    TpotMs,
    /// Output tokens per second of the replica.
    ThroughputTokS,
    /// Mean power of all the replica's GPUs together, watts.
    GpuPowerW,
    /// GPU energy per output token, joules.
    EnergyPerTokenJ,
}

impl Metric {
    /// Every metric, in table order.
    pub const ALL: [Metric; 6] = [
        Metric::ItlMs,
        Metric::TtftMs,
        Metric::TpotMs,
        Metric::ThroughputTokS,
        Metric::GpuPowerW,
        Metric::EnergyPerTokenJ,
    ];

    /// The name in the `metric` column.
    pub fn name(self) -> &'static str {
        match self {
            Metric::ItlMs => "itl_ms",
            Metric::TtftMs => "ttft_ms",
            Metric::TpotMs => "tpot_ms",
            Metric::ThroughputTokS => "throughput_tok_s",
            Metric::GpuPowerW => "gpu_power_w",
            Metric::EnergyPerTokenJ => "energy_per_token_j",
        }
    }

    /// Whether it is a latency, with a distribution (percentiles) rather than one mean.
    pub fn is_latency(self) -> bool {
        matches!(self, Metric::ItlMs | Metric::TtftMs | Metric::TpotMs)
    }

    /// Whether it measures time (latency or throughput), which the efficiencies and
    /// overheads of the step model set; power and energy come from the power model too.
    pub fn is_timing(self) -> bool {
        !matches!(self, Metric::GpuPowerW | Metric::EnergyPerTokenJ)
    }
}

/// Which summary of a latency distribution a row gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Statistic {
    /// The mean.
    Mean,
    /// The median.
    P50,
    /// The 90th percentile.
    P90,
    /// The 99th percentile.
    P99,
}

impl Statistic {
    /// The name in the `statistic` column.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Mean => "mean",
            Statistic::P50 => "p50",
            Statistic::P90 => "p90",
            Statistic::P99 => "p99",
        }
    }

    fn parse(text: &str) -> Option<Statistic> {
        match text {
            "" | "mean" => Some(Statistic::Mean),
            "p50" | "median" => Some(Statistic::P50),
            "p90" => Some(Statistic::P90),
            "p99" => Some(Statistic::P99),
            _ => None,
        }
    }
}

/// The configuration a figure was measured under: one replica of `tensor_parallel` GPUs
/// serving `concurrency` clients that each send their next request as soon as the last
/// one ends (the closed loop of benchmark load generators).
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// Catalog model id.
    pub model: String,
    /// Catalog GPU id.
    pub gpu: String,
    /// Weight (and KV-cache) precision.
    pub precision: Precision,
    /// GPUs of the replica.
    pub tensor_parallel: u32,
    /// Clients of the closed loop.
    pub concurrency: u32,
    /// Most sequences in a batch (vLLM `max_num_seqs`).
    pub max_seqs: u32,
    /// Mean prompt tokens.
    pub input_tokens: f64,
    /// Mean output tokens.
    pub output_tokens: f64,
    /// Log-normal sigma of both lengths around their means; 0 for fixed lengths.
    pub length_sigma: f64,
}

/// One measured figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Line in the file (the header is line 1).
    pub line: usize,
    /// The configuration.
    pub setup: Setup,
    /// What was measured.
    pub metric: Metric,
    /// Which summary of it.
    pub statistic: Statistic,
    /// The measured value, in the metric's unit.
    pub value: f64,
    /// Where it comes from.
    pub source: String,
    /// Every cell of the row as written, for the output table.
    pub cells: Vec<String>,
}

/// A parsed measurement file.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasurementFile {
    /// The header, as written.
    pub headers: Vec<String>,
    /// The rows, in file order.
    pub rows: Vec<Measurement>,
}

/// How many malformed rows one error lists before it stops counting them out.
const LISTED: usize = 20;

/// Reads the measurement file at `path`.
pub fn read(path: &Path) -> Result<MeasurementFile, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::general(format!("cannot read the measurement file: {e}")).in_file(path)
    })?;
    parse(&text).map_err(|e| e.in_file(path))
}

/// Parses measurement CSV text: a header naming at least the required columns (any order;
/// other columns are kept as they are), then one row per measured figure.
pub fn parse(text: &str) -> Result<MeasurementFile, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| InputError::general(format!("cannot read the header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let columns = Columns::find(&headers)?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        match columns.row(&record, line) {
            Ok(row) => rows.push(row),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        let count = problems.len();
        let mut message = format!(
            "{count} malformed row{}:",
            if count == 1 { "" } else { "s" }
        );
        for problem in problems.iter().take(LISTED) {
            message.push_str("\n  ");
            message.push_str(problem);
        }
        if count > LISTED {
            message.push_str(&format!("\n  and {} more", count - LISTED));
        }
        return Err(InputError::general(message));
    }
    if rows.is_empty() {
        return Err(InputError::general(
            "no measurements: expected at least one row after the header",
        ));
    }
    Ok(MeasurementFile { headers, rows })
}

/// Columns every file must have.
const REQUIRED: &str =
    "model, gpu, tensor_parallel, concurrency, input_tokens, output_tokens, metric, value";

/// Where each known column sits in the header.
struct Columns {
    model: usize,
    gpu: usize,
    tensor_parallel: usize,
    concurrency: usize,
    input_tokens: usize,
    output_tokens: usize,
    metric: usize,
    value: usize,
    precision: Option<usize>,
    max_seqs: Option<usize>,
    length_sigma: Option<usize>,
    statistic: Option<usize>,
    source: Option<usize>,
}

impl Columns {
    fn find(headers: &[String]) -> Result<Columns, InputError> {
        let at = |name: &str| headers.iter().position(|h| h == name);
        let need = |name: &str| {
            at(name).ok_or_else(|| {
                InputError::general(format!(
                    "the header has no `{name}` column; expected at least {REQUIRED}"
                ))
            })
        };
        Ok(Columns {
            model: need("model")?,
            gpu: need("gpu")?,
            tensor_parallel: need("tensor_parallel")?,
            concurrency: need("concurrency")?,
            input_tokens: need("input_tokens")?,
            output_tokens: need("output_tokens")?,
            metric: need("metric")?,
            value: need("value")?,
            precision: at("precision"),
            max_seqs: at("max_seqs"),
            length_sigma: at("length_sigma"),
            statistic: at("statistic"),
            source: at("source"),
        })
    }

    /// The row at `line`, or what is wrong with it.
    fn row(&self, record: &csv::StringRecord, line: usize) -> Result<Measurement, String> {
        let cell = |i: usize| record.get(i).unwrap_or("");
        let wrong = |column: &str, what: String| format!("line {line}, {column}: {what}");
        let count = |column: &str, text: &str| -> Result<u32, String> {
            match text.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(wrong(
                    column,
                    format!("expected a whole number ≥ 1, got `{text}`"),
                )),
            }
        };
        let positive = |column: &str, text: &str| -> Result<f64, String> {
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                _ => Err(wrong(
                    column,
                    format!("expected a number > 0, got `{text}`"),
                )),
            }
        };
        let catalog = Catalog::builtin();
        // A measurement file cannot define a model or GPU inline as a scenario can.
        let unknown = |column: &str, e: InputError| {
            wrong(column, e.message.replace(" (or define one inline)", ""))
        };
        let model = cell(self.model).to_string();
        catalog.model(&model).map_err(|e| unknown("model", e))?;
        let gpu = cell(self.gpu).to_string();
        catalog.gpu(&gpu).map_err(|e| unknown("gpu", e))?;
        let precision = match self.precision.map(cell).filter(|p| !p.is_empty()) {
            None => Precision::Bf16,
            Some(text) => Precision::ALL
                .into_iter()
                .find(|p| p.name() == text.to_ascii_lowercase())
                .ok_or_else(|| {
                    wrong(
                        "precision",
                        format!("expected one of fp16, bf16, fp8, int8, int4, got `{text}`"),
                    )
                })?,
        };
        let concurrency = count("concurrency", cell(self.concurrency))?;
        let max_seqs = match self.max_seqs.map(cell).filter(|c| !c.is_empty()) {
            None => concurrency,
            Some(text) => count("max_seqs", text)?,
        };
        let length_sigma = match self.length_sigma.map(cell).filter(|c| !c.is_empty()) {
            None => 0.0,
            Some(text) => match text.parse::<f64>() {
                Ok(s) if (0.0..=3.0).contains(&s) => s,
                _ => {
                    return Err(wrong(
                        "length_sigma",
                        format!("expected a log-normal sigma from 0 to 3, got `{text}`"),
                    ));
                }
            },
        };
        let metric_text = cell(self.metric);
        let metric = Metric::ALL
            .into_iter()
            .find(|m| m.name() == metric_text)
            .ok_or_else(|| {
                let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
                wrong(
                    "metric",
                    format!("expected one of {}, got `{metric_text}`", names.join(", ")),
                )
            })?;
        let statistic_text = self.statistic.map_or("", cell);
        let statistic = Statistic::parse(statistic_text).ok_or_else(|| {
            wrong(
                "statistic",
                format!("expected mean, p50, p90 or p99, got `{statistic_text}`"),
            )
        })?;
        if statistic != Statistic::Mean && !metric.is_latency() {
            return Err(wrong(
                "statistic",
                format!(
                    "{} is a mean over the run; only latencies have `{}`",
                    metric.name(),
                    statistic.name()
                ),
            ));
        }
        Ok(Measurement {
            line,
            setup: Setup {
                model,
                gpu,
                precision,
                tensor_parallel: count("tensor_parallel", cell(self.tensor_parallel))?,
                concurrency,
                max_seqs,
                input_tokens: positive("input_tokens", cell(self.input_tokens))?,
                output_tokens: positive("output_tokens", cell(self.output_tokens))?,
                length_sigma,
            },
            metric,
            statistic,
            value: positive("value", cell(self.value))?,
            source: self.source.map_or("", cell).to_string(),
            cells: record.iter().map(str::to_string).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "model,gpu,tensor_parallel,concurrency,input_tokens,output_tokens,metric,statistic,value,source\n";

    #[test]
    fn a_row_gives_its_setup_metric_and_value() {
        let file = parse(&format!(
            "{HEADER}llama-3.1-8b,h100-sxm,1,8,500,350,itl_ms,median,12.5,paper\n"
        ))
        .unwrap();
        let row = &file.rows[0];
        assert_eq!(row.line, 2);
        assert_eq!(row.metric, Metric::ItlMs);
        assert_eq!(row.statistic, Statistic::P50);
        assert_eq!(row.value, 12.5);
        assert_eq!(
            row.setup.max_seqs, 8,
            "max_seqs defaults to the concurrency"
        );
        assert_eq!(row.setup.precision, Precision::Bf16);
        assert_eq!(row.source, "paper");
    }

    #[test]
    fn every_malformed_row_is_listed_with_its_line() {
        let err = parse(&format!(
            "{HEADER}llama-3.1-8b,h100-sxm,1,8,500,350,itl_ms,p50,12.5,a\n\
             llama-3.1-8b,h100-sxm,1,8,500,350,latency,p50,12.5,b\n\
             llama-3.1-8b,h100-sxm,1,8,500,350,itl_ms,p50,fast,c\n\
             llama-3.1-8b,h100-sxm,1,8,500,350,gpu_power_w,p99,600,d\n\
             llama-9,h100-sxm,0,8,500,350,itl_ms,p50,12,e\n"
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("4 malformed rows:"), "{text}");
        assert!(
            text.contains("line 3, metric: expected one of itl_ms"),
            "{text}"
        );
        assert!(
            text.contains("line 4, value: expected a number > 0, got `fast`"),
            "{text}"
        );
        assert!(
            text.contains("line 5, statistic: gpu_power_w is a mean"),
            "{text}"
        );
        assert!(text.contains("line 6, model:"), "{text}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let err = parse("model,gpu,metric,value\nllama-3.1-8b,h100-sxm,itl_ms,1\n").unwrap_err();
        assert!(err.message.contains("no `tensor_parallel` column"), "{err}");
    }
}
