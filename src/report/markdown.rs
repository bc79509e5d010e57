//! `summary.md` and the summary printed after a run, rendered from the run document.

use super::document::RunDocument;
use crate::stats::LatencySummary;
use std::fmt::Write;

/// A latency for people: milliseconds below a second, seconds above.
fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "–".into(),
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{s:.2} s"),
    }
}

/// `1 server`, `3 servers`.
fn plural(n: u64, noun: &str) -> String {
    format!("{} {noun}{}", count(n), if n == 1 { "" } else { "s" })
}

/// A share as a percentage.
fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A count with thousands separators.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Appends `## heading` and a table; `align` has one letter per column, `l` or `r`.
fn section(out: &mut String, heading: &str, header: &[&str], align: &str, rows: &[Vec<String>]) {
    let _ = writeln!(out, "## {heading}\n\n| {} |", header.join(" | "));
    let rule: Vec<&str> = align
        .chars()
        .map(|a| if a == 'r' { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn latency_row(name: &str, l: &LatencySummary) -> Vec<String> {
    let mut row = vec![name.to_string(), count(l.count)];
    row.extend([l.mean_s, l.p50_s, l.p90_s, l.p99_s, l.max_s].map(duration));
    row
}

/// The Markdown report of a run.
pub fn summary_markdown(doc: &RunDocument) -> String {
    let (s, c, r) = (&doc.scenario, &doc.configuration, &doc.results);
    let mut out = String::new();
    let _ = writeln!(out, "# fleetsim run: {}\n", s.name);
    if !s.description.is_empty() {
        let _ = writeln!(out, "{}\n", s.description);
    }
    let _ = writeln!(
        out,
        "One simulated run of {:.1} h from midnight, seed {} (fleetsim {}, summary schema {}).\n",
        s.horizon_s / 3600.0,
        s.seed,
        doc.fleetsim_version,
        doc.schema_version
    );

    let fleet = [
        (
            "Model",
            format!(
                "{} ({:.2}B parameters, {:.2}B active), {} weights, {} KV cache",
                c.model_name, c.params_billion, c.active_params_billion, c.weights, c.kv_cache
            ),
        ),
        (
            "GPUs",
            format!(
                "{} × {} {} = {}",
                plural(c.servers, "server"),
                c.gpus_per_server,
                c.gpu_name,
                plural(c.gpus, "GPU")
            ),
        ),
        (
            "Replicas",
            format!(
                "{} of tensor-parallel {} × pipeline-parallel {}, {} routing",
                count(c.replicas),
                c.tensor_parallel,
                c.pipeline_parallel,
                c.router
            ),
        ),
        (
            "Scheduler",
            format!(
                "{} batching, ≤ {} sequences, ≤ {} tokens per step, chunked prefill {}",
                c.batching,
                c.max_seqs,
                c.max_tokens_per_step,
                if c.chunked_prefill { "on" } else { "off" }
            ),
        ),
        (
            "Memory per GPU",
            format!(
                "{:.1} GiB usable: {:.1} weights, {:.1} activations, {:.1} KV cache ({} tokens \
                 per replica in blocks of {})",
                c.memory_usable_gib,
                c.memory_weights_gib,
                c.memory_activations_gib,
                c.memory_kv_cache_gib,
                count(c.kv_capacity_tokens),
                c.kv_block_tokens
            ),
        ),
        (
            "Traffic",
            format!(
                "{:.2} requests/s on average ({} per day)",
                c.arrival_rate_mean_per_s,
                count((c.arrival_rate_mean_per_s * 86_400.0).round() as u64)
            ),
        ),
    ];
    let fleet: Vec<Vec<String>> = fleet
        .into_iter()
        .map(|(key, value)| vec![key.to_string(), value])
        .collect();
    section(&mut out, "Fleet", &["", ""], "ll", &fleet);

    let q = &r.requests;
    section(
        &mut out,
        "Requests",
        &[
            "arrived",
            "completed",
            "rejected",
            "in flight at the end",
            "preemptions",
        ],
        "rrrrr",
        &[[
            q.arrived,
            q.completed,
            q.rejected,
            q.in_flight,
            q.preemptions,
        ]
        .map(count)
        .to_vec()],
    );
    if q.rejected > 0 {
        let _ = writeln!(
            out,
            "{} requests could never be served: {} need more KV cache than a replica has, {} \
             exceed the step token budget without chunked prefill.\n",
            count(q.rejected),
            count(q.rejected_kv_cache),
            count(q.rejected_step_budget)
        );
    }

    let t = &r.throughput;
    section(
        &mut out,
        "Throughput",
        &[
            "completed requests/s",
            "output tokens/s",
            "prefill tokens/s",
        ],
        "rrr",
        &[vec![
            format!("{:.2}", t.requests_per_s),
            format!("{:.0}", t.output_tokens_per_s),
            format!("{:.0}", t.prefill_tokens_per_s),
        ]],
    );

    let l = &r.latency;
    section(
        &mut out,
        "Latency",
        &["metric", "requests", "mean", "p50", "p90", "p99", "max"],
        "lrrrrrr",
        &[
            latency_row("time to first token", &l.ttft),
            latency_row("time per output token", &l.tpot),
            latency_row("end to end", &l.e2e),
        ],
    );

    let u = &r.utilization;
    section(
        &mut out,
        "Utilisation",
        &[
            "GPU busy",
            "FLOP utilisation",
            "memory bandwidth",
            "KV cache mean / peak",
            "waiting mean / max",
            "batch per replica",
        ],
        "rrrrrr",
        &[vec![
            percent(u.gpu_busy),
            percent(u.flops),
            percent(u.memory_bandwidth),
            format!(
                "{} / {}",
                percent(u.kv_cache_mean),
                percent(u.kv_cache_peak)
            ),
            format!("{:.1} / {}", u.waiting_mean, count(u.waiting_max)),
            format!("{:.1}", u.batch_mean),
        ]],
    );

    let e = &r.energy;
    let pue_header = format!("facility energy (PUE {})", c.pue);
    section(
        &mut out,
        "Energy",
        &[
            "GPU energy",
            "of which idle",
            &pue_header,
            "mean GPU power",
            "per request",
            "per output token",
        ],
        "rrrrrr",
        &[vec![
            format!("{:.1} kWh", e.gpu_kwh),
            format!("{:.1} kWh", e.gpu_idle_kwh),
            format!("{:.1} kWh", e.facility_kwh),
            format!("{:.0} W", e.gpu_power_mean_w),
            e.wh_per_request
                .map_or("–".into(), |v| format!("{v:.3} Wh")),
            e.j_per_output_token
                .map_or("–".into(), |v| format!("{v:.3} J")),
        ]],
    );
    let _ = writeln!(
        out,
        "Facility energy counts the GPUs and the facility overhead (PUE); the rest of each \
         server is not yet modelled. Per-minute figures are in `timeseries.csv`."
    );
    out
}

/// The few lines printed after a run.
pub fn summary_text(doc: &RunDocument) -> String {
    let (c, r) = (&doc.configuration, &doc.results);
    let q = &r.requests;
    let l = &r.latency;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} of {} {} ({}, {}) serving {}, {:.1} h simulated",
        doc.scenario.name,
        plural(c.servers, "server"),
        c.gpus_per_server,
        c.gpu_name,
        plural(c.gpus, "GPU"),
        plural(c.replicas, "replica"),
        c.model_name,
        doc.scenario.horizon_s / 3600.0
    );
    let _ = writeln!(
        out,
        "  requests   {} arrived, {} completed, {} rejected, {} in flight, {} preemptions",
        count(q.arrived),
        count(q.completed),
        count(q.rejected),
        count(q.in_flight),
        count(q.preemptions)
    );
    let _ = writeln!(
        out,
        "  throughput {:.2} req/s, {:.0} output tokens/s",
        r.throughput.requests_per_s, r.throughput.output_tokens_per_s
    );
    for (label, latency) in [("TTFT", &l.ttft), ("TPOT", &l.tpot), ("end to end", &l.e2e)] {
        let _ = writeln!(
            out,
            "  {label:<10} p50 {}  p99 {}",
            duration(latency.p50_s),
            duration(latency.p99_s)
        );
    }
    let _ = writeln!(
        out,
        "  GPUs       {} busy, {} of peak FLOPs, KV cache {} mean",
        percent(r.utilization.gpu_busy),
        percent(r.utilization.flops),
        percent(r.utilization.kv_cache_mean)
    );
    let _ = write!(
        out,
        "  energy     {:.1} kWh facility ({:.1} kWh GPUs), {}",
        r.energy.facility_kwh,
        r.energy.gpu_kwh,
        r.energy
            .wh_per_request
            .map_or("–".into(), |v| format!("{v:.3} Wh per request"))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_for_people() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(duration(Some(0.0123)), "12.3 ms");
        assert_eq!(duration(Some(2.5)), "2.50 s");
        assert_eq!(duration(None), "–");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(plural(1, "server"), "1 server");
        assert_eq!(plural(1200, "GPU"), "1,200 GPUs");
    }
}
