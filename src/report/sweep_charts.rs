//! A sweep's charts, drawn once for SVG and once for PNG with the embedded font: cost per day
//! and per million output tokens against the offered load for each fleet size, SLO attainment
//! against the fleet size for each load, and GPU utilisation against the fleet size.

use super::charts::{ChartSet, DrawResult, PALETTE, SIZE, tick};
use crate::sweep::{Configuration, Point, SweepResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One sweep chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepChart {
    /// Cost per day and per million output tokens against offered load, one line per fleet
    /// size and configuration (GPU and tensor-parallel degree).
    CostVsLoad,
    /// SLO attainment against fleet size, one line per load and configuration, with the
    /// required share.
    SloVsServers,
    /// GPU busy and FLOP utilisation against fleet size, one line per load and
    /// configuration.
    UtilisationVsServers,
}

impl ChartSet for SweepChart {
    type Data = SweepResult;

    /// Every sweep chart, in report order.
    const ALL: &'static [SweepChart] = &[
        SweepChart::CostVsLoad,
        SweepChart::SloVsServers,
        SweepChart::UtilisationVsServers,
    ];

    /// File stem under `charts/`.
    fn stem(self) -> &'static str {
        match self {
            SweepChart::CostVsLoad => "cost_vs_load",
            SweepChart::SloVsServers => "slo_vs_servers",
            SweepChart::UtilisationVsServers => "utilisation_vs_servers",
        }
    }

    /// The title drawn on the chart.
    fn title(self) -> &'static str {
        match self {
            SweepChart::CostVsLoad => "Cost against offered load, by fleet",
            SweepChart::SloVsServers => "SLO attainment against fleet size, by load",
            SweepChart::UtilisationVsServers => {
                "GPU busy and FLOP utilisation against fleet size, by load"
            }
        }
    }

    fn draw<DB: DrawingBackend>(
        self,
        data: &SweepResult,
        root: &DrawingArea<DB, Shift>,
    ) -> DrawResult<DB> {
        draw(self, data, root)
    }
}

/// A labelled series of (x, y) points.
type Line = (String, Vec<(f64, f64)>);

fn draw<DB: DrawingBackend>(
    chart: SweepChart,
    sweep: &SweepResult,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let body = root.titled(chart.title(), ("sans-serif", 26))?;
    match chart {
        SweepChart::CostVsLoad => {
            let by_fleet = |value: fn(&Point) -> f64| -> Vec<Line> {
                // Grid sizes first, then any the search added, each with every configuration.
                let mut fleets: Vec<(u64, &Configuration)> = Vec::new();
                for &servers in sweep
                    .plan
                    .servers
                    .iter()
                    .chain(sweep.points.iter().map(|p| &p.servers))
                {
                    for c in &sweep.plan.configurations {
                        if !fleets.contains(&(servers, c)) {
                            fleets.push((servers, c));
                        }
                    }
                }
                fleets
                    .into_iter()
                    .map(|(servers, c)| {
                        let points = sweep
                            .points
                            .iter()
                            .filter(|p| p.servers == servers && is_of(sweep, c, p))
                            .map(|p| (p.offered_requests_per_day, value(p)))
                            .collect();
                        let plural = if servers == 1 { "" } else { "s" };
                        let label = format!("{servers} server{plural}{}", label(sweep, c));
                        (label, points)
                    })
                    .filter(|(_, points): &Line| {
                        points.len() > 1 || (sweep.plan.loads.len() == 1 && !points.is_empty())
                    })
                    .collect()
            };
            let (top, bottom) = body.split_vertically(SIZE.1 / 2 - 20);
            lines(
                &top,
                "offered requests per day",
                "cost per day ($)",
                &by_fleet(|p| p.cost_usd_per_day.mean),
                None,
                SeriesLabelPosition::UpperLeft,
            )?;
            lines(
                &bottom,
                "offered requests per day",
                "$ per 1M output tokens",
                &by_fleet(|p| p.usd_per_1m_output_tokens.mean),
                None,
                SeriesLabelPosition::UpperLeft,
            )
        }
        SweepChart::SloVsServers => lines(
            &body,
            "servers",
            "share of runs meeting the SLO",
            &by_load(sweep, |p| p.slo_attainment()),
            Some((sweep.plan.slo_share, "required share")),
            SeriesLabelPosition::LowerRight,
        ),
        SweepChart::UtilisationVsServers => {
            let (top, bottom) = body.split_vertically(SIZE.1 / 2 - 20);
            lines(
                &top,
                "servers",
                "GPU busy (share of GPU-time)",
                &by_load(sweep, |p| p.gpu_busy.mean),
                None,
                SeriesLabelPosition::LowerLeft,
            )?;
            lines(
                &bottom,
                "servers",
                "FLOP utilisation (achieved ÷ peak)",
                &by_load(sweep, |p| p.flops_utilization.mean),
                None,
                SeriesLabelPosition::UpperRight,
            )
        }
    }
}

/// One line per load and configuration: (servers, value).
fn by_load(sweep: &SweepResult, value: fn(&Point) -> f64) -> Vec<Line> {
    let mut lines = Vec::new();
    for load in &sweep.plan.loads {
        for c in &sweep.plan.configurations {
            let points = sweep
                .points
                .iter()
                .filter(|p| p.load == *load && is_of(sweep, c, p))
                .map(|p| (p.servers as f64, value(p)))
                .collect();
            lines.push((format!("load ×{load}{}", label(sweep, c)), points));
        }
    }
    lines
}

/// Whether point `p` is of configuration `c`.
fn is_of(sweep: &SweepResult, c: &Configuration, p: &Point) -> bool {
    p.tensor_parallel == c.tensor_parallel && p.gpu == sweep.plan.gpus[c.gpu].id
}

/// `, tp 4` or `, H200 SXM tp 4` after a line's fleet or load when several configurations
/// are drawn; nothing otherwise.
fn label(sweep: &SweepResult, c: &Configuration) -> String {
    let plan = &sweep.plan;
    if plan.configurations.len() > 1 {
        format!(", {}", plan.label(&plan.gpus[c.gpu].id, c.tensor_parallel))
    } else {
        String::new()
    }
}

/// Lines with markers on linear axes from 0, and an optional horizontal reference line.
fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x_label: &str,
    y_label: &str,
    series: &[Line],
    reference: Option<(f64, &str)>,
    legend: SeriesLabelPosition,
) -> DrawResult<DB> {
    let finite = series
        .iter()
        .flat_map(|(_, p)| p.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (x_max, y_max) = finite.fold((0.0f64, 0.0f64), |(xm, ym), (x, y)| {
        (xm.max(*x), ym.max(*y))
    });
    let y_max = y_max.max(reference.map_or(0.0, |r| r.0)).max(1e-9) * 1.1;
    let x_max = x_max.max(1e-9) * 1.05;
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()?;
    for (i, (label, points)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(
            points
                .iter()
                .map(move |p| Circle::new(*p, 4, color.filled())),
        )?;
    }
    if let Some((level, label)) = reference {
        chart
            .draw_series(LineSeries::new(
                [(0.0, level), (x_max, level)],
                BLACK.stroke_width(1),
            ))?
            .label(label.to_string())
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(legend)
        .draw()
}
