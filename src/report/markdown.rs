//! `summary.md` and the summary printed after a run, rendered from the run document.

use super::document::{RunDocument, StudyDocument, TraceInfo};
use crate::stats::LatencySummary;
use std::fmt::Write;

/// A latency for people: milliseconds below a second, seconds above.
pub(crate) fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "–".into(),
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{s:.2} s"),
    }
}

/// `1 server`, `3 servers`.
pub(crate) fn plural(n: u64, noun: &str) -> String {
    format!("{} {noun}{}", count(n), if n == 1 { "" } else { "s" })
}

/// Dollars with cents, thousands separated: `$1,234.56`.
pub(crate) fn usd(value: f64) -> String {
    let cents = (value * 100.0).round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}${}.{:02}", count(cents / 100), cents % 100)
}

/// A share as a percentage.
pub(crate) fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A count with thousands separators.
pub(crate) fn count(n: u64) -> String {
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

/// The rows of a replayed trace: requests read, rows left out and why.
pub fn trace_rows(trace: &TraceInfo) -> String {
    let mut text = format!(
        "{} requests read from {} ({}); {} without tokens left out; {} skipped",
        count(trace.requests),
        trace.file,
        trace.format,
        plural(trace.rows_without_tokens, "row"),
        plural(trace.rows_skipped, "bad row")
    );
    if let Some(first) = &trace.first_skipped {
        let _ = write!(text, " (the first: {first})");
    }
    text
}

/// A table for the terminal: each line indented two spaces, cells padded to their column's
/// widest and two spaces apart; `align` has one letter per column: `l` or `r`, or `-` for a
/// last column left as it is.
pub(crate) fn text_table(header: &[String], rows: &[Vec<String>], align: &str) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            std::iter::once(header)
                .chain(rows.iter().map(Vec::as_slice))
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(align.chars())
            .map(|((cell, w), a)| match a {
                'l' => format!("{cell:<w$}"),
                'r' => format!("{cell:>w$}"),
                _ => cell.clone(),
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    out
}

/// Appends `## Charts` with each `(stem, title)` chart inline from `charts/<stem>.svg`;
/// nothing when there are none.
pub(crate) fn charts_section(out: &mut String, charts: &[(&str, &str)]) {
    if charts.is_empty() {
        return;
    }
    out.push_str("## Charts\n\n");
    for (stem, title) in charts {
        let _ = writeln!(out, "![{title}](charts/{stem}.svg)\n");
    }
}

/// Appends `## heading` and a table; `align` has one letter per column, `l` or `r`.
pub(crate) fn section(
    out: &mut String,
    heading: &str,
    header: &[&str],
    align: &str,
    rows: &[Vec<String>],
) {
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

/// The detailed sections of one run (fleet, requests, throughput, latency, utilisation,
/// power, network, failures, cost), each under a `##` heading.
pub fn run_sections(doc: &RunDocument) -> String {
    let (s, c, r) = (&doc.scenario, &doc.configuration, &doc.results);
    let mut out = String::new();

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
        ("Autoscaling", c.autoscaling.clone()),
        (
            "Scheduler",
            format!(
                "{} batching, ≤ {} sequences, ≤ {} tokens per step, chunked prefill {}{}",
                c.batching,
                c.max_seqs,
                c.max_tokens_per_step,
                if c.chunked_prefill { "on" } else { "off" },
                c.prefix_block_tokens
                    .map_or(String::new(), |tokens| format!(
                        ", prefix caching on (prompt blocks of {tokens} tokens)"
                    ))
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
        ("Traffic", c.traffic.clone()),
    ];
    let trace = c.trace.as_ref().map(|t| ("Trace", trace_rows(t)));
    let fleet = fleet.into_iter().chain(trace);
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

    if let Some(p) = &r.prefix_cache {
        section(
            &mut out,
            "Prefix cache",
            &[
                "prompt blocks looked up",
                "found cached",
                "prompt tokens looked up",
                "found cached",
                "prefill saved",
                "blocks evicted",
            ],
            "rrrrrr",
            &[vec![
                count(p.blocks),
                format!("{} ({})", count(p.hit_blocks), percent(p.block_hit_rate)),
                count(p.prompt_tokens),
                format!("{} ({})", count(p.hit_tokens), percent(p.token_hit_rate)),
                format!(
                    "{} tokens, {:.0}/s",
                    count(p.prefill_tokens_saved),
                    p.prefill_tokens_saved_per_s
                ),
                count(p.evictions),
            ]],
        );
        let rejoins = if p.rejoins > 0 {
            format!(
                " {} joined again after a preemption, finding mostly their own blocks: the \
                 prefill saved counts them, the hit rates do not.",
                count(p.rejoins)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "Each of {} requests joining a replica's batch looked up its prompt's blocks of {} \
             tokens in the replica's cache; the blocks found, from the first, are not \
             prefilled.{rejoins} Per-interval hit rates are in `timeseries.csv` \
             (`prefix_hit_rate`).\n",
            count(p.lookups),
            p.block_tokens
        );
    }

    let l = &r.latency;
    section(
        &mut out,
        "Latency",
        &["metric", "requests", "mean", "p50", "p90", "p99", "max"],
        "lrrrrrr",
        &[
            latency_row("time to first token", &l.ttft),
            latency_row("time per output token", &l.tpot),
            latency_row("inter-token gap (per token)", &l.itl),
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
            "KV cache mean / fullest replica",
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

    let e = &doc.energy;
    let g = &r.gpu_energy;
    section(
        &mut out,
        "Power and energy",
        &["", "energy", "mean power"],
        "lrr",
        &[
            ("GPUs", e.gpu_kwh),
            ("servers' other parts", e.server_kwh),
            ("IT", e.it_kwh),
            ("cooling", e.cooling_kwh),
            ("other overhead", e.other_kwh),
            ("facility", e.facility_kwh),
        ]
        .map(|(name, kwh)| {
            vec![
                name.to_string(),
                format!("{kwh:.1} kWh"),
                format!("{:.2} kW", kwh / (s.horizon_s / 3600.0)),
            ]
        }),
    );
    let _ = writeln!(
        out,
        "PUE {:.3} over the run ({}); the GPUs drew {:.0} W each on average, {:.1} kWh of \
         their energy idle; provisioned IT power {:.1} kW, peak facility power {:.1} kW. \
         Facility energy per request {}, per output token {}.\n",
        e.pue,
        c.pue,
        g.power_mean_w,
        g.idle_kwh,
        e.provisioned_it_kw,
        e.peak_facility_kw,
        e.wh_per_request
            .map_or("–".into(), |v| format!("{v:.3} Wh")),
        e.j_per_output_token
            .map_or("–".into(), |v| format!("{v:.3} J"))
    );

    let n = &r.network;
    let links = format!(
        "Tensor-parallel links: {}; pipeline links: {}.\n",
        c.tensor_parallel_link, c.pipeline_parallel_link
    );
    section(
        &mut out,
        "Network",
        &[
            "edge in",
            "edge out (egress)",
            "edge busy in / out",
            "tensor-parallel links",
            "pipeline links",
        ],
        "rrrrr",
        &[vec![
            format!("{:.2} GB", n.edge_ingress_gb),
            format!("{:.2} GB", n.edge_egress_gb),
            format!(
                "{} / {}",
                percent(n.edge_ingress_busy),
                percent(n.edge_egress_busy)
            ),
            format!("{:.1} GB", n.tensor_parallel_gb),
            format!("{:.1} GB", n.pipeline_parallel_gb),
        ]],
    );
    let _ = writeln!(out, "{links}");

    let f = &r.reliability;
    section(
        &mut out,
        "Failures",
        &[
            "GPU failures",
            "server failures",
            "GPU-hours lost",
            "availability",
            "retries",
            "failed requests",
        ],
        "rrrrrr",
        &[vec![
            count(f.gpu_failures),
            count(f.server_failures),
            format!("{:.1}", f.lost_gpu_hours),
            format!("{:.3}%", f.availability * 100.0),
            count(q.retries),
            count(q.failed),
        ]],
    );
    let _ = writeln!(out, "Failure model: {}.\n", c.failures);

    let bill = &doc.cost;
    let mut lines: Vec<Vec<String>> = bill
        .lines
        .iter()
        .map(|line| {
            vec![
                line.category.to_string(),
                line.item.clone(),
                usd(line.usd_per_day),
                percent(line.usd_per_day / bill.total_usd_per_day.max(f64::MIN_POSITIVE)),
            ]
        })
        .collect();
    lines.push(vec![
        "**total**".into(),
        String::new(),
        format!("**{}**", usd(bill.total_usd_per_day)),
        "100.0%".into(),
    ]);
    section(
        &mut out,
        "Cost per day",
        &["category", "item", "$ per day", "share"],
        "llrr",
        &lines,
    );
    let _ = writeln!(
        out,
        "{} per 1,000 requests, {} per million output tokens; {:.1} kg CO2e per day. \
         Hardware: {}. Per-interval figures are in `timeseries.csv`.",
        bill.usd_per_1k_requests.map_or("–".into(), usd),
        bill.usd_per_1m_output_tokens.map_or("–".into(), usd),
        bill.carbon_kg_per_day,
        c.hardware_pricing
    );
    out
}

/// A figure with its unit, for tables: `$1,234.56`, `12.3%`, `0.412 s`, `1,234`.
pub(crate) fn figure(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    match unit {
        "$" | "$/day" => usd(value),
        "share" => percent(value),
        "s" => duration(Some(value)),
        "1 = yes" => percent(value),
        "count" if value >= 100.0 => count(value.round() as u64),
        "count" => format!("{value:.1}"),
        _ => significant(value),
    }
}

/// A plain number to four significant digits, thousands separated when large.
pub(crate) fn significant(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    if value.abs() >= 1000.0 {
        let sign = if value < 0.0 { "-" } else { "" };
        return format!("{sign}{}", count(value.abs().round() as u64));
    }
    let magnitude = if value == 0.0 {
        0
    } else {
        value.abs().log10().floor() as i32
    };
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    format!("{value:.decimals$}")
}

/// The Markdown report of a study: the answer with its interval, the headline figures across
/// runs, the mean bill, the uncertain inputs and what drives the cost, the charts, and run 0
/// in detail.
pub fn study_markdown(doc: &StudyDocument, run: &RunDocument) -> String {
    let s = &doc.scenario;
    let mut out = String::new();
    let _ = writeln!(out, "# fleetsim study: {}\n", s.name);
    if !s.description.is_empty() {
        let _ = writeln!(out, "{}\n", s.description);
    }
    let _ = writeln!(
        out,
        "{} of {:.1} h from midnight, seed {} (fleetsim {}, summary schema {}).\n",
        plural(doc.runs, "simulated run"),
        s.horizon_s / 3600.0,
        s.seed,
        doc.fleetsim_version,
        doc.schema_version
    );
    let headline = |key: &str| {
        doc.headlines
            .iter()
            .find(|h| h.key == key)
            .expect("a known headline")
    };
    let cost = headline("cost_usd_per_day");
    let _ = writeln!(out, "## The answer\n");
    if doc.runs > 1 {
        let _ = writeln!(
            out,
            "**{} per day** on average (95% confidence interval of the mean {} – {}); 90% of \
             runs cost between {} and {}. ",
            usd(cost.spread.mean),
            usd(cost.spread.ci95_low),
            usd(cost.spread.ci95_high),
            usd(cost.spread.p5),
            usd(cost.spread.p95)
        );
    } else {
        let _ = writeln!(out, "**{} per day**. ", usd(cost.spread.mean));
    }
    let _ = writeln!(
        out,
        "That is {} per 1,000 requests and {} per million output tokens.",
        figure(headline("usd_per_1k_requests").spread.mean, "$"),
        figure(headline("usd_per_1m_output_tokens").spread.mean, "$")
    );
    if !doc.slo.targets.is_empty() {
        let targets: Vec<String> = doc
            .slo
            .targets
            .iter()
            .map(|t| format!("{} ≤ {}", t.name(), duration(Some(t.max_s))))
            .collect();
        let _ = writeln!(
            out,
            "The SLO ({}) was met in {} of runs.",
            targets.join(", "),
            percent(doc.slo.attainment)
        );
    }
    out.push('\n');

    let rows: Vec<Vec<String>> = doc
        .headlines
        .iter()
        // A cost category no run has is left out, and a figure no run has (the prefix
        // cache's hit rate without prefix caching).
        .filter(|h| !(h.unit == "$/day" && h.spread.min == 0.0 && h.spread.max == 0.0))
        .filter(|h| !(h.key == "prefix_cache_hit_rate" && h.spread.runs == 0))
        .map(|h| {
            let v = |x: f64| figure(x, h.unit);
            let label = if h.unit.is_empty()
                || matches!(h.unit, "$" | "share" | "s" | "1 = yes" | "count")
            {
                h.label.to_string()
            } else {
                format!("{} ({})", h.label, h.unit)
            };
            if doc.runs > 1 {
                vec![
                    label,
                    v(h.spread.mean),
                    format!("{} – {}", v(h.spread.ci95_low), v(h.spread.ci95_high)),
                    v(h.spread.p5),
                    v(h.spread.p50),
                    v(h.spread.p95),
                ]
            } else {
                vec![label, v(h.spread.mean)]
            }
        })
        .collect();
    if doc.runs > 1 {
        section(
            &mut out,
            "Headline figures across runs",
            &["figure", "mean", "95% CI of the mean", "p5", "p50", "p95"],
            "lrrrrr",
            &rows,
        );
    } else {
        section(
            &mut out,
            "Headline figures",
            &["figure", "value"],
            "lr",
            &rows,
        );
    }

    let total: f64 = doc.cost_breakdown.iter().map(|l| l.mean_usd_per_day).sum();
    let lines: Vec<Vec<String>> = doc
        .cost_breakdown
        .iter()
        .filter(|l| l.mean_usd_per_day != 0.0)
        .map(|l| {
            vec![
                l.category.to_string(),
                l.item.clone(),
                usd(l.mean_usd_per_day),
                percent(l.mean_usd_per_day / total.max(f64::MIN_POSITIVE)),
            ]
        })
        .collect();
    section(
        &mut out,
        "Cost per day, mean across runs",
        &["category", "item", "$ per day", "share"],
        "llrr",
        &lines,
    );

    if doc.inputs.is_empty() {
        let _ = writeln!(
            out,
            "## Uncertain inputs\n\nNone: every value is fixed, so runs differ only by their \
             random traffic and failures.\n"
        );
    } else {
        let rows: Vec<Vec<String>> = doc
            .inputs
            .iter()
            .map(|i| {
                vec![
                    format!("`{}`", i.field),
                    i.distribution.clone(),
                    significant(i.drawn.p5),
                    significant(i.drawn.p50),
                    significant(i.drawn.p95),
                    i.rank_correlation_with_cost
                        .map_or("–".into(), |rho| format!("{rho:+.2}")),
                ]
            })
            .collect();
        section(
            &mut out,
            "Uncertain inputs and what drives the cost",
            &["input", "distribution", "p5", "p50", "p95", "ρ with cost"],
            "llrrrr",
            &rows,
        );
        let _ = writeln!(
            out,
            "ρ is Spearman's rank correlation between the input and the daily cost across runs; \
             the strongest drivers come first (`charts/tornado.svg`).\n"
        );
    }

    let _ = writeln!(out, "## Charts\n");
    for kind in crate::report::charts::ChartKind::ALL {
        let _ = writeln!(
            out,
            "- {}: `charts/{}.svg`, `charts/{}.png`",
            kind.title(),
            kind.stem(),
            kind.stem()
        );
    }
    let _ = writeln!(
        out,
        "\nPer-interval p5/p50/p95 across runs are in `timeseries.csv`; every run's inputs and \
         headline figures in `runs.csv`; everything together in `report.html`.\n"
    );

    let _ = writeln!(out, "## Run 0 in detail\n");
    out.push_str(
        &run_sections(run)
            .replace("\n## ", "\n### ")
            .replacen("## ", "### ", 1),
    );
    out
}

/// The few lines printed after a study of many runs.
pub fn study_text(doc: &StudyDocument) -> String {
    let headline = |key: &str| &doc.headlines.iter().find(|h| h.key == key).unwrap().spread;
    let cost = headline("cost_usd_per_day");
    let mut out = format!(
        "{}: {} runs of {:.1} h\n  cost       {} per day (95% CI {} – {}; p5 {} – p95 {})\n",
        doc.scenario.name,
        doc.runs,
        doc.scenario.horizon_s / 3600.0,
        usd(cost.mean),
        usd(cost.ci95_low),
        usd(cost.ci95_high),
        usd(cost.p5),
        usd(cost.p95)
    );
    if let Some(trace) = &doc.configuration.trace {
        let _ = writeln!(out, "  trace      {}", trace_rows(trace));
    }
    let per_1k = headline("usd_per_1k_requests");
    let _ = writeln!(
        out,
        "  unit cost  {} per 1k requests (p5 {} – p95 {})",
        figure(per_1k.mean, "$"),
        figure(per_1k.p5, "$"),
        figure(per_1k.p95, "$")
    );
    for (key, label) in [("ttft_p99_s", "TTFT p99"), ("tpot_p99_s", "TPOT p99")] {
        let h = headline(key);
        let _ = writeln!(
            out,
            "  {label:<10} median {} (p5 {} – p95 {})",
            figure(h.p50, "s"),
            figure(h.p5, "s"),
            figure(h.p95, "s")
        );
    }
    let busy = headline("gpu_busy");
    let _ = write!(
        out,
        "  GPUs       {} busy on average; SLO met in {} of runs",
        percent(busy.mean),
        if doc.slo.targets.is_empty() {
            "all (none set)".to_string()
        } else {
            percent(doc.slo.attainment)
        }
    );
    if let Some(top) = doc
        .inputs
        .first()
        .filter(|i| i.rank_correlation_with_cost.is_some())
    {
        let _ = write!(
            out,
            "\n  driver     {} (ρ {:+.2} with cost)",
            top.field,
            top.rank_correlation_with_cost.unwrap_or(0.0)
        );
    }
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
        if c.autoscaling == "off" {
            plural(c.servers, "server")
        } else {
            format!(
                "up to {} (autoscaled, {:.1} on average)",
                plural(c.servers, "server"),
                r.utilization.servers_on_mean
            )
        },
        c.gpus_per_server,
        c.gpu_name,
        plural(c.gpus, "GPU"),
        plural(c.replicas, "replica"),
        c.model_name,
        doc.scenario.horizon_s / 3600.0
    );
    let _ = writeln!(
        out,
        "  requests   {} arrived, {} completed, {} rejected, {} failed, {} in flight, {} preemptions",
        count(q.arrived),
        count(q.completed),
        count(q.rejected),
        count(q.failed),
        count(q.in_flight),
        count(q.preemptions)
    );
    if let Some(trace) = &c.trace {
        let _ = writeln!(out, "  trace      {}", trace_rows(trace));
    }
    let _ = writeln!(
        out,
        "  throughput {:.2} req/s, {:.0} output tokens/s",
        r.throughput.requests_per_s, r.throughput.output_tokens_per_s
    );
    if let Some(p) = &r.prefix_cache {
        let _ = writeln!(
            out,
            "  prefix     {} of prompt blocks found cached ({} of prompt tokens), {} prefill \
             tokens saved, {} blocks evicted",
            percent(p.block_hit_rate),
            percent(p.token_hit_rate),
            count(p.prefill_tokens_saved),
            count(p.evictions)
        );
    }
    for (label, latency) in [
        ("TTFT", &l.ttft),
        ("TPOT", &l.tpot),
        ("ITL", &l.itl),
        ("end to end", &l.e2e),
    ] {
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
    let e = &doc.energy;
    let _ = writeln!(
        out,
        "  energy     {:.1} kWh facility ({:.1} kWh IT, PUE {:.2}), {}, {}",
        e.facility_kwh,
        e.it_kwh,
        e.pue,
        e.wh_per_request
            .map_or("–".into(), |v| format!("{v:.3} Wh per request")),
        e.j_per_output_token
            .map_or("–".into(), |v| format!("{v:.2} J per output token"))
    );
    let bill = &doc.cost;
    let _ = write!(
        out,
        "  cost       {} per day ({}), {} per 1k requests, {} per 1M output tokens",
        usd(bill.total_usd_per_day),
        bill.by_category
            .iter()
            .filter(|(_, amount)| *amount != 0.0)
            .map(|(category, amount)| format!("{category} {}", usd(*amount)))
            .collect::<Vec<_>>()
            .join(", "),
        bill.usd_per_1k_requests.map_or("–".into(), usd),
        bill.usd_per_1m_output_tokens.map_or("–".into(), usd)
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
        assert_eq!(usd(1234.567), "$1,234.57");
        assert_eq!(usd(0.004), "$0.00");
        assert_eq!(usd(-12.5), "-$12.50");
        assert_eq!(plural(1, "server"), "1 server");
        assert_eq!(plural(1200, "GPU"), "1,200 GPUs");
        assert_eq!(significant(431_848.51), "431,849");
        assert_eq!(significant(0.071_96), "0.07196");
        assert_eq!(significant(1.2729), "1.273");
        assert_eq!(figure(12.0, "count"), "12.0");
        assert_eq!(figure(64_896.4, "count"), "64,896");
    }
}
