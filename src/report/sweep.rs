//! A sweep's tables and text: `sweep.csv` (one row per point), `sweep.md` (the capacity
//! answer, the points per load, the charts) and the lines printed after a sweep.

use super::markdown::{charts_section, count, duration, percent, section, text_table, usd};
use super::tables::{cell, write};
use crate::sweep::{Answer, Point, SweepResult};
use std::fmt::Write;

/// `sweep.csv`: one row per point, by load, configuration (GPU, then tensor-parallel degree),
/// then servers; `answer` is 1 on the capacity search's answer for each load and
/// configuration, `chosen` on the cheapest of them at each load.
pub fn sweep_csv(sweep: &SweepResult) -> Vec<u8> {
    let header = [
        "servers",
        "gpu",
        "tensor_parallel",
        "load",
        "gpus",
        "replicas",
        "offered_requests_per_day",
        "runs",
        "cost_usd_per_day_mean",
        "cost_usd_per_day_ci95_low",
        "cost_usd_per_day_ci95_high",
        "cost_usd_per_day_p5",
        "cost_usd_per_day_p95",
        "usd_per_1m_output_tokens_mean",
        "slo_attainment",
        "gpu_busy_mean",
        "flops_utilization_mean",
        "headroom",
        "binding_target",
        "ttft_p99_s_mean",
        "tpot_p99_s_mean",
        "chosen",
        "answer",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = sweep.points.iter().map(|p| {
        vec![
            p.servers.to_string(),
            p.gpu.clone(),
            p.tensor_parallel.to_string(),
            cell(p.load),
            p.gpus.to_string(),
            p.replicas.to_string(),
            cell(p.offered_requests_per_day),
            p.runs.to_string(),
            cell(p.cost_usd_per_day.mean),
            cell(p.cost_usd_per_day.ci95_low),
            cell(p.cost_usd_per_day.ci95_high),
            cell(p.cost_usd_per_day.p5),
            cell(p.cost_usd_per_day.p95),
            cell(p.usd_per_1m_output_tokens.mean),
            cell(p.slo_attainment()),
            cell(p.gpu_busy.mean),
            cell(p.flops_utilization.mean),
            cell(p.headroom),
            p.binding_target.clone(),
            cell(p.ttft_p99_s.mean),
            cell(p.tpot_p99_s.mean),
            u8::from(sweep.answers.iter().any(|a| a.cheapest && is_answer(a, p))).to_string(),
            u8::from(sweep.answers.iter().any(|a| is_answer(a, p))).to_string(),
        ]
    });
    write(header, rows)
}

/// Whether `p` is the fleet `answer` chose.
fn is_answer(answer: &Answer, p: &Point) -> bool {
    answer.chosen.as_ref().is_some_and(|c| {
        c.servers == p.servers
            && c.gpu == p.gpu
            && c.tensor_parallel == p.tensor_parallel
            && c.load == p.load
    })
}

/// The SLO as one line: `ttft_p99 ≤ 2.00 s, tpot_p99 ≤ 100.0 ms`.
fn slo_line(sweep: &SweepResult) -> String {
    if sweep.slo.targets.is_empty() {
        return "no SLO targets".into();
    }
    sweep
        .slo
        .targets
        .iter()
        .map(|t| format!("{} ≤ {}", t.name(), duration(Some(t.max_s))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `×1`, `×0.5`.
fn load(load: f64) -> String {
    format!("×{load}")
}

/// `1 server`, `3 servers`.
fn plural(n: u64, noun: &str) -> String {
    format!("{} {noun}{}", count(n), if n == 1 { "" } else { "s" })
}

/// The answer at one load, in one or two sentences.
pub fn answer_text(sweep: &SweepResult, answer: &Answer) -> String {
    let share = percent(sweep.plan.slo_share);
    let configuration = format!(
        "load {}, {}{}",
        load(answer.load),
        sweep.plan.label(&answer.gpu, answer.tensor_parallel),
        if answer.cheapest && sweep.plan.configurations.len() > 1 {
            " (cheapest)"
        } else {
            ""
        }
    );
    let Some(chosen) = &answer.chosen else {
        return format!(
            "{configuration}: no fleet of up to {} servers meets the SLO in {share} of runs",
            count(answer.max_servers)
        );
    };
    let c = &chosen.cost_usd_per_day;
    let mut text = format!(
        "{configuration}: {} ({}, {}) meet{} the SLO in {} of runs; {} per day \
         (95% CI {} – {}; runs p5 {} – p95 {}); headroom {} ({} at {} of its bound)",
        plural(chosen.servers, "server"),
        plural(chosen.gpus, "GPU"),
        plural(chosen.replicas, "replica"),
        if chosen.servers == 1 { "s" } else { "" },
        percent(chosen.slo_attainment()),
        usd(c.mean),
        usd(c.ci95_low),
        usd(c.ci95_high),
        usd(c.p5),
        usd(c.p95),
        percent(chosen.headroom),
        chosen.binding_target,
        percent(1.0 - chosen.headroom),
    );
    match &answer.next_smaller {
        Some(smaller) => {
            let _ = write!(
                text,
                "; {} meet{} it in {} of runs",
                plural(smaller.servers, "server"),
                if smaller.servers == 1 { "s" } else { "" },
                percent(smaller.slo_attainment())
            );
        }
        None => text.push_str("; no smaller fleet exists"),
    }
    text
}

/// The columns of the points' table: the heading in `sweep.md`, and in the printed text
/// (`None`: not printed).
const COLUMNS: [(&str, Option<&str>); 13] = [
    ("load", Some("load")),
    ("servers", Some("servers")),
    ("GPU", Some("GPU")),
    ("tp", Some("tp")),
    ("offered requests/day", Some("requests/day")),
    ("cost per day (95% CI)", Some("cost/day")),
    ("$ per 1M output tokens", Some("$/1M tokens")),
    ("SLO met", Some("SLO met")),
    ("GPU busy", None),
    ("FLOP util.", Some("FLOP util.")),
    ("headroom", Some("headroom")),
    ("TTFT p99", Some("TTFT p99")),
    ("TPOT p99", Some("TPOT p99")),
];
/// The GPU column, shown when several GPUs are swept.
const GPU_COLUMN: usize = 2;
/// The cost column, whose interval the printed text leaves out.
const COST_COLUMN: usize = 5;

/// The points' table, for `sweep.md` or (`printed`) the text: headings and rows.
fn points_table(sweep: &SweepResult, printed: bool) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let gpu_names = sweep.plan.gpus.len() > 1;
    let shown = |i: usize, (md, text): &(&'static str, Option<&'static str>)| {
        let heading = if printed { *text } else { Some(*md) };
        heading.filter(|_| i != GPU_COLUMN || gpu_names)
    };
    let header = COLUMNS
        .iter()
        .enumerate()
        .filter_map(|(i, c)| shown(i, c))
        .collect();
    let rows = sweep
        .points
        .iter()
        .map(|p| {
            let mut row = point_row(sweep, p);
            if printed {
                row[COST_COLUMN] = usd(p.cost_usd_per_day.mean);
            }
            row.into_iter()
                .zip(COLUMNS.iter().enumerate())
                .filter_map(|(cell, (i, c))| shown(i, c).map(|_| cell))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Every column of a point's row.
fn point_row(sweep: &SweepResult, p: &Point) -> Vec<String> {
    let gpu = sweep.plan.gpus.iter().find(|g| g.id == p.gpu);
    vec![
        load(p.load),
        count(p.servers),
        gpu.map_or_else(|| p.gpu.clone(), |g| g.name.clone()),
        p.tensor_parallel.to_string(),
        count(p.offered_requests_per_day.round().max(0.0) as u64),
        format!(
            "{} ({} – {})",
            usd(p.cost_usd_per_day.mean),
            usd(p.cost_usd_per_day.ci95_low),
            usd(p.cost_usd_per_day.ci95_high)
        ),
        usd(p.usd_per_1m_output_tokens.mean),
        percent(p.slo_attainment()),
        percent(p.gpu_busy.mean),
        percent(p.flops_utilization.mean),
        match p.headroom {
            h if h.is_nan() => "–".into(),
            h if h < 0.0 => "none".into(),
            h => percent(h),
        },
        duration(Some(p.ttft_p99_s.mean).filter(|v| v.is_finite())),
        duration(Some(p.tpot_p99_s.mean).filter(|v| v.is_finite())),
    ]
}

/// The configurations left out, one `H100 SXM tp 1: reason` each.
fn left_out(sweep: &SweepResult) -> Vec<String> {
    let plan = &sweep.plan;
    plan.left_out
        .iter()
        .map(|l| {
            let c = &l.configuration;
            let label = plan.label(&plan.gpus[c.gpu].id, c.tensor_parallel);
            format!("{label}: {}", l.reason)
        })
        .collect()
}

/// `sweep.md`: what was swept, the capacity answer, every point, and the charts.
pub fn sweep_markdown(sweep: &SweepResult, charts: &[(&str, &str)]) -> String {
    let plan = &sweep.plan;
    let runs = sweep.points.first().map_or(0, |p| p.runs);
    let gpus = if plan.gpus.len() > 1 {
        let names: Vec<&str> = plan.gpus.iter().map(|g| g.name.as_str()).collect();
        format!("GPUs {}; ", names.join(", "))
    } else {
        String::new()
    };
    let mut out = format!(
        "# Sweep: {}\n\n{} points, {} runs each with common random numbers (run i of every \
         point draws the same inputs, arrivals and lengths). Fleet sizes {}; {gpus}\
         tensor-parallel degrees {}; load multipliers {}. SLO: {}, to be met in at least {} of \
         runs.\n\n",
        sweep.name,
        sweep.points.len(),
        runs,
        plan.servers
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        plan.tensor_parallel
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        plan.loads
            .iter()
            .map(|l| load(*l))
            .collect::<Vec<_>>()
            .join(", "),
        slo_line(sweep),
        percent(plan.slo_share),
    );
    let left_out = left_out(sweep);
    if !left_out.is_empty() {
        out.push_str("Left out, as the model does not fit the GPUs' memory:\n\n");
        for line in &left_out {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    if !sweep.answers.is_empty() {
        let configuration = if plan.gpus.len() > 1 {
            "GPU and tensor-parallel degree"
        } else {
            "tensor-parallel degree"
        };
        let _ = writeln!(
            out,
            "## Capacity\n\nFor each {configuration}, the smallest fleet (in steps of the \
             servers one replica spans) whose SLO attainment reaches {}, found by doubling the fleet and then bisecting, assuming attainment \
             never falls as the fleet grows. Headroom is how far the SLO target closest to its \
             bound is from it, 1 − value ÷ bound, with each percentile taken over the requests \
             of all runs together. The cost interval is the 95% confidence interval of the \
             mean daily cost; p5–p95 is the spread of single runs. The cheapest answer at \
             each load is the chosen configuration.\n",
            percent(plan.slo_share)
        );
        for answer in &sweep.answers {
            let tried: Vec<String> = answer.tried.iter().map(|s| s.to_string()).collect();
            let _ = writeln!(
                out,
                "- {} (servers tried: {})",
                answer_text(sweep, answer),
                tried.join(", ")
            );
        }
        out.push('\n');
    }
    let (header, rows) = points_table(sweep, false);
    let align: String = header
        .iter()
        .map(|h| if *h == "GPU" { 'l' } else { 'r' })
        .collect();
    section(&mut out, "Points", &header, &align, &rows);
    charts_section(&mut out, charts);
    out
}

/// The lines printed after a sweep: a table of the points and the answers.
pub fn sweep_text(sweep: &SweepResult) -> String {
    let runs = sweep.points.first().map_or(0, |p| p.runs);
    let mut out = format!(
        "{}: {} points × {} runs; SLO {} in ≥ {} of runs\n",
        sweep.name,
        sweep.points.len(),
        runs,
        slo_line(sweep),
        percent(sweep.plan.slo_share)
    );
    // The printed table leaves out the interval (in sweep.md) and GPU busy.
    let (header, rows) = points_table(sweep, true);
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let align: String = header
        .iter()
        .map(|h| if h == "GPU" { 'l' } else { 'r' })
        .collect();
    out.push_str(&text_table(&header, &rows, &align));
    let left_out = left_out(sweep);
    if !left_out.is_empty() {
        out.push_str("left out, as the model does not fit the GPUs' memory:\n");
        for line in &left_out {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !sweep.answers.is_empty() {
        let _ = writeln!(
            out,
            "capacity: smallest fleet meeting the SLO in ≥ {} of runs",
            percent(sweep.plan.slo_share)
        );
        for answer in &sweep.answers {
            let _ = writeln!(out, "  {}", answer_text(sweep, answer));
        }
    }
    out.trim_end().to_string()
}
