//! A growth plan's tables and text: `grow.csv` (one row per month), `grow.md` (what was
//! planned and how, the months, the orders, the warnings, the charts) and the lines printed
//! after a plan.

use super::markdown::{charts_section, count, duration, percent, section, text_table, usd};
use super::tables::{cell, write};
use crate::grow::{GrowthResult, MonthResult, Ownership};
use crate::scenario::Value;
use std::fmt::Write;

/// `grow.csv`: one row per month. Traffic figures are multipliers of the scenario's
/// workload; `servers_required` is empty where no fleet up to the maximum meets the SLO;
/// `servers_tried` lists the capacity search's fleet sizes, separated by `;`.
pub fn grow_csv(result: &GrowthResult) -> Vec<u8> {
    let header = [
        "month",
        "traffic_p5",
        "traffic_p50",
        "traffic_p95",
        "traffic_forecast",
        "planning_load",
        "requests_per_day",
        "servers_required",
        "servers_ordered",
        "servers_in_service",
        "gpus_in_service",
        "under_provisioned",
        "cost_usd_per_day_mean",
        "cost_usd_per_day_ci95_low",
        "cost_usd_per_day_ci95_high",
        "cost_usd_per_day_p5",
        "cost_usd_per_day_p95",
        "usd_per_1m_output_tokens_mean",
        "slo_attainment",
        "ttft_p99_s_mean",
        "tpot_p99_s_mean",
        "servers_tried",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = result.months.iter().map(|m| {
        let s = &m.simulated;
        vec![
            m.month.to_string(),
            cell(m.traffic.p5),
            cell(m.traffic.p50),
            cell(m.traffic.p95),
            cell(m.forecast),
            cell(m.planning_load),
            cell(s.offered_requests_per_day),
            m.required.map_or(String::new(), |r| r.to_string()),
            m.ordered.to_string(),
            m.in_service.to_string(),
            s.gpus.to_string(),
            u8::from(m.under_provisioned).to_string(),
            cell(s.cost_usd_per_day.mean),
            cell(s.cost_usd_per_day.ci95_low),
            cell(s.cost_usd_per_day.ci95_high),
            cell(s.cost_usd_per_day.p5),
            cell(s.cost_usd_per_day.p95),
            cell(s.usd_per_1m_output_tokens.mean),
            cell(s.slo_attainment()),
            cell(s.ttft_p99_s.mean),
            cell(s.tpot_p99_s.mean),
            m.tried
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(";"),
        ]
    });
    write(header, rows)
}

/// `×1.34`.
fn times(multiplier: f64) -> String {
    format!("×{multiplier:.2}")
}

/// `1 server`, `3 servers`.
fn servers(n: u64) -> String {
    format!("{} server{}", count(n), if n == 1 { "" } else { "s" })
}

/// The monthly growth as written: `growing 6.0% a month`, or its distribution.
fn rate(value: &Value<crate::units::Ratio>) -> String {
    match value {
        Value::Fixed(r) if r.0 == 0.0 => "with no compound growth".into(),
        Value::Fixed(r) => format!("growing {} a month", percent(r.0)),
        uncertain => format!(
            "growing {} a month, drawn once per run",
            uncertain.describe()
        ),
    }
}

/// How the traffic grows, in one sentence.
fn growth_line(result: &GrowthResult) -> String {
    let g = &result.growth;
    let mut line = format!(
        "traffic = the scenario's workload in {}, {}",
        g.start,
        rate(&g.monthly)
    );
    if !g.events.is_empty() {
        let events: Vec<String> = g
            .events
            .iter()
            .map(|e| {
                let label = if e.label.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.label)
                };
                format!("{} ×{}{label}", e.month, e.multiplier.describe())
            })
            .collect();
        let _ = write!(line, "; events {}", events.join(", "));
    }
    if !g.dated.is_empty() {
        let dated: Vec<String> = g
            .dated
            .iter()
            .map(|d| format!("{} ×{}", d.month, d.multiplier.describe()))
            .collect();
        let _ = write!(line, "; dated multipliers {}", dated.join(", "));
    }
    line
}

/// How the fleet is planned, in one sentence.
fn plan_line(result: &GrowthResult) -> String {
    let g = &result.growth;
    let headroom = if g.headroom == 0.0 {
        String::new()
    } else {
        format!(" × {} (headroom {})", 1.0 + g.headroom, percent(g.headroom))
    };
    format!(
        "fleet planned for the {} of the runs' traffic{headroom}, lead time {} month{}, {} \
         servers, from {}",
        g.forecast.name(),
        g.lead_time,
        if g.lead_time == 1 { "" } else { "s" },
        g.ownership.name(),
        servers(g.initial_servers)
    )
}

/// The SLO and its share, in one line.
fn slo_line(result: &GrowthResult) -> String {
    let targets: Vec<String> = result
        .slo
        .targets
        .iter()
        .map(|t| format!("{} ≤ {}", t.name(), duration(Some(t.max_s))))
        .collect();
    format!(
        "SLO {} in ≥ {} of runs",
        targets.join(", "),
        percent(result.growth.slo_share)
    )
}

/// Why a month is under-provisioned, in one sentence.
fn shortfall(result: &GrowthResult, m: &MonthResult) -> String {
    let g = &result.growth;
    let Some(required) = m.required else {
        return format!(
            "{}: no fleet of up to {} meets the SLO in {} of runs at load {}; planned with {}",
            m.month,
            servers(g.max_fleet()),
            percent(g.slo_share),
            times(m.planning_load),
            servers(m.in_service)
        );
    };
    let missing = required - m.in_service;
    let ordered_in = m.month.plus(-(g.lead_time as i64));
    let mut text = format!(
        "{}: {} required, {} in service; {} more would have had to be ordered in {}",
        m.month,
        servers(required),
        count(m.in_service),
        count(missing),
        ordered_in
    );
    if ordered_in < g.start {
        let _ = write!(text, ", before the plan starts ({})", g.start);
    }
    text
}

/// The orders of the plan: `2027-01: 2 servers, in service from 2027-04`.
fn orders(result: &GrowthResult) -> Vec<String> {
    let lead = result.growth.lead_time as i64;
    result
        .months
        .iter()
        .filter(|m| m.ordered > 0)
        .map(|m| {
            format!(
                "{}: {}, in service from {}",
                m.month,
                servers(m.ordered),
                m.month.plus(lead)
            )
        })
        .collect()
}

/// Months whose simulated SLO attainment falls below the share.
fn below_share(result: &GrowthResult) -> Vec<String> {
    result
        .months
        .iter()
        .filter(|m| m.simulated.slo_attainment() < result.growth.slo_share)
        .map(|m| format!("{} ({})", m.month, percent(m.simulated.slo_attainment())))
        .collect()
}

/// The note of a month in the tables: its shortfall, if any.
fn note(m: &MonthResult) -> String {
    match m.required {
        None => "none suffices".into(),
        Some(r) if m.under_provisioned => format!("short by {}", count(r - m.in_service)),
        Some(_) => String::new(),
    }
}

fn month_row(m: &MonthResult) -> Vec<String> {
    let s = &m.simulated;
    let c = &s.cost_usd_per_day;
    vec![
        m.month.to_string(),
        format!(
            "{} ({:.2}–{:.2})",
            times(m.traffic.p50),
            m.traffic.p5,
            m.traffic.p95
        ),
        times(m.planning_load),
        count(s.offered_requests_per_day.round().max(0.0) as u64),
        m.required.map_or("–".into(), count),
        count(m.ordered),
        count(m.in_service),
        format!(
            "{} ({} – {})",
            usd(c.mean),
            usd(c.ci95_low),
            usd(c.ci95_high)
        ),
        format!("{} – {}", usd(c.p5), usd(c.p95)),
        usd(s.usd_per_1m_output_tokens.mean),
        percent(s.slo_attainment()),
        note(m),
    ]
}

const HEADER: [&str; 12] = [
    "month",
    "traffic p50 (p5–p95)",
    "planned for",
    "requests/day",
    "required",
    "ordered",
    "in service",
    "cost per day (95% CI)",
    "cost per day, runs p5 – p95",
    "$ per 1M output tokens",
    "SLO met",
    "note",
];

/// `grow.md`: what was planned and how, the months, the orders, the under-provisioned
/// months, and the charts.
pub fn grow_markdown(result: &GrowthResult, charts: &[(&str, &str)]) -> String {
    let g = &result.growth;
    let runs = result.months.first().map_or(0, |m| m.simulated.runs);
    let mut out = format!(
        "# Growth plan: {}\n\n{} months from {} to {}, {} runs each; {}. The {}; {}.\n\n",
        result.name,
        g.months,
        g.start,
        g.month(g.months - 1),
        runs,
        growth_line(result),
        plan_line(result),
        slo_line(result),
    );
    let _ = writeln!(
        out,
        "Each run draws its own growth path. Each month the fleet is sized for the {} of the \
         runs' traffic × (1 + headroom {}): the smallest fleet (in steps of {}) whose SLO \
         attainment at that load reaches {}, found by the capacity search of `fleetsim sweep` \
         with common random numbers. Servers ordered in a month are in service {} months \
         later; {} Then the fleet in service is simulated at the month's traffic, each run at \
         its own, for the cost and the SLO attainment the plan gets. The cost interval is the \
         95% confidence interval of the mean daily cost; p5 – p95 is the spread of single runs.\n",
        g.forecast.name(),
        g.headroom,
        servers(g.servers_unit),
        percent(g.slo_share),
        g.lead_time,
        match g.ownership {
            Ownership::Owned => "owned servers are kept, so the fleet never shrinks.",
            Ownership::Rented => {
                "rented servers are returned as soon as they are not needed, so the fleet \
                 follows the requirement down at once and up after the lead time."
            }
        },
    );
    let short: Vec<String> = result
        .months
        .iter()
        .filter(|m| m.under_provisioned)
        .map(|m| shortfall(result, m))
        .collect();
    if !short.is_empty() {
        out.push_str("## Under-provisioned months\n\n");
        for line in &short {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    let rows: Vec<Vec<String>> = result.months.iter().map(month_row).collect();
    section(&mut out, "Months", &HEADER, "lrrrrrrrrrrl", &rows);
    let below = below_share(result);
    if !below.is_empty() {
        let _ = writeln!(
            out,
            "SLO attainment of the simulated month below {}: {}.\n",
            percent(g.slo_share),
            below.join(", ")
        );
    }
    out.push_str("## Orders\n\n");
    let orders = orders(result);
    if orders.is_empty() {
        out.push_str("No servers ordered.\n\n");
    }
    for line in &orders {
        let _ = writeln!(out, "- {line}");
    }
    if !orders.is_empty() {
        out.push('\n');
    }
    charts_section(&mut out, charts);
    out
}

/// The lines printed after a plan: what was planned, a table of the months, the warnings
/// and the orders.
pub fn grow_text(result: &GrowthResult) -> String {
    let g = &result.growth;
    let runs = result.months.first().map_or(0, |m| m.simulated.runs);
    let mut out = format!(
        "{}: {} months from {} × {} runs\n  {}\n  {}\n  {}\n",
        result.name,
        g.months,
        g.start,
        runs,
        growth_line(result),
        plan_line(result),
        slo_line(result),
    );
    // The printed table leaves out the intervals (in grow.md).
    let keep = |row: Vec<String>| -> Vec<String> {
        row.into_iter()
            .enumerate()
            .filter(|(i, _)| *i != 8)
            .map(|(i, cell)| match i {
                7 => cell.split(" (").next().unwrap_or_default().to_string(),
                _ => cell,
            })
            .collect()
    };
    let header = keep(
        [
            "month",
            "traffic p50 (p5–p95)",
            "planned for",
            "requests/day",
            "required",
            "ordered",
            "in service",
            "cost/day",
            "",
            "$/1M tokens",
            "SLO met",
            "note",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect(),
    );
    let rows: Vec<Vec<String>> = result.months.iter().map(|m| keep(month_row(m))).collect();
    let align = format!("l{}-", "r".repeat(header.len() - 2));
    out.push_str(&text_table(&header, &rows, &align));
    let short: Vec<String> = result
        .months
        .iter()
        .filter(|m| m.under_provisioned)
        .map(|m| shortfall(result, m))
        .collect();
    if !short.is_empty() {
        let _ = writeln!(out, "under-provisioned:");
        for line in short {
            let _ = writeln!(out, "  {line}");
        }
    }
    let below = below_share(result);
    if !below.is_empty() {
        let _ = writeln!(
            out,
            "SLO attainment below {}: {}",
            percent(g.slo_share),
            below.join(", ")
        );
    }
    let orders = orders(result);
    if orders.is_empty() {
        let _ = writeln!(out, "orders: none");
    } else {
        let _ = writeln!(out, "orders:");
        for line in orders {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.trim_end().to_string()
}
