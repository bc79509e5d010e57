//! The study's charts, each drawn once for SVG and once for PNG with the same code: the daily
//! cost (distribution and breakdown), GPU utilisation and facility power over the day, latency
//! distributions against the SLO, the queue over the day, and the inputs that drive the cost.
//!
//! Text uses an embedded font (DejaVu Sans, `fonts/LICENSE.txt`), so charts render the same
//! on a machine without any font installed.

use crate::study::{SERIES, StudyResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::sync::Once;

/// DejaVu Sans, the charts' only font.
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Chart size in pixels (SVG user units).
pub(crate) const SIZE: (u32, u32) = (1200, 700);

/// Line colours, in series order.
const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(214, 39, 40);
pub(crate) const PALETTE: [RGBColor; 6] = [
    BLUE,
    ORANGE,
    GREEN,
    RED,
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One chart: its file stem and title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Daily cost distribution and its breakdown.
    Cost,
    /// GPU utilisation and facility power over the day.
    Utilisation,
    /// Latency distributions with the SLO lines.
    Latency,
    /// Requests waiting over the day.
    Queue,
    /// Inputs ranked by their pull on the daily cost.
    Tornado,
}

impl ChartKind {
    /// Every chart, in report order.
    pub const ALL: [ChartKind; 5] = [
        ChartKind::Cost,
        ChartKind::Utilisation,
        ChartKind::Latency,
        ChartKind::Queue,
        ChartKind::Tornado,
    ];

    /// File stem under `charts/`.
    pub fn stem(self) -> &'static str {
        match self {
            ChartKind::Cost => "cost",
            ChartKind::Utilisation => "utilisation",
            ChartKind::Latency => "latency",
            ChartKind::Queue => "queue",
            ChartKind::Tornado => "tornado",
        }
    }

    /// The title drawn on the chart.
    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Cost => "Daily cost: distribution across runs and mean breakdown",
            ChartKind::Utilisation => "GPU utilisation and facility power over the day",
            ChartKind::Latency => "Latency distributions of all runs, with the SLO",
            ChartKind::Queue => "Requests waiting over the day",
            ChartKind::Tornado => "What drives the daily cost: rank correlation of each input",
        }
    }
}

/// Registers the embedded font once per process.
pub(crate) fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            unreachable!("the embedded font is a valid TrueType file (a unit test draws with it)");
        }
    });
}

/// What drawing on a backend returns.
pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A family of charts drawn from one result (a sweep's, a growth plan's), each written as SVG
/// and PNG by the same drawing code.
pub(crate) trait ChartSet: Copy + 'static {
    /// What the charts are drawn from.
    type Data;
    /// Every chart of the family, in report order.
    const ALL: &'static [Self];
    /// File stem under `charts/`.
    fn stem(self) -> &'static str;
    /// The title drawn on the chart.
    fn title(self) -> &'static str;
    /// Draws the chart of `data` on `root`, filling it.
    fn draw<DB: DrawingBackend>(
        self,
        data: &Self::Data,
        root: &DrawingArea<DB, Shift>,
    ) -> DrawResult<DB>;
}

/// Renders a chart as SVG text with `draw`, which fills the whole area.
pub(crate) fn render_svg(
    draw: impl for<'a> FnOnce(&DrawingArea<SVGBackend<'a>, Shift>) -> DrawResult<SVGBackend<'a>>,
) -> Result<String, String> {
    ensure_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// Renders a chart into the PNG file at `path` with `draw`, which fills the whole area.
pub(crate) fn render_png(
    path: &std::path::Path,
    draw: impl for<'a> FnOnce(&DrawingArea<BitMapBackend<'a>, Shift>) -> DrawResult<BitMapBackend<'a>>,
) -> Result<(), String> {
    ensure_font();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw(&root).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// An axis tick: `0.25`, `3`, `1,500`, `2.5M`.
pub(crate) fn tick(value: f64) -> String {
    let trim = |text: String| {
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    };
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{}B", trim(format!("{:.2}", value / 1e9)))
    } else if magnitude >= 1e6 {
        format!("{}M", trim(format!("{:.2}", value / 1e6)))
    } else if magnitude >= 1e3 {
        super::markdown::significant(value)
    } else {
        trim(format!("{value:.3}"))
    }
}

/// Draws `kind` on `root`.
fn draw<DB: DrawingBackend>(
    kind: ChartKind,
    study: &StudyResult,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let body = root.titled(kind.title(), ("sans-serif", 26))?;
    match kind {
        ChartKind::Cost => cost(study, &body),
        ChartKind::Utilisation => {
            let (top, bottom) = body.split_vertically(SIZE.1 / 2 - 20);
            band(study, "gpu_busy", "GPU busy (share of GPU-time)", &top)?;
            band(study, "facility_kw", "facility power (kW)", &bottom)
        }
        ChartKind::Latency => latency(study, &body),
        ChartKind::Queue => band(study, "waiting_mean", "requests waiting", &body),
        ChartKind::Tornado => tornado(study, &body),
    }
}

/// The SVG text of `kind`.
pub fn svg(kind: ChartKind, study: &StudyResult) -> Result<String, String> {
    render_svg(|root| draw(kind, study, root))
}

/// Draws `kind` as a PNG file at `path`.
pub fn png(kind: ChartKind, study: &StudyResult, path: &std::path::Path) -> Result<(), String> {
    render_png(path, |root| draw(kind, study, root))
}

/// Hours from midnight of an interval start.
fn hours(t_start_s: f64) -> f64 {
    t_start_s / 3600.0
}

/// A series over the day: median line and p5–p95 band across runs.
fn band<DB: DrawingBackend>(
    study: &StudyResult,
    key: &str,
    y_label: &str,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    bands(&[(study, "")], key, y_label, area)
}

/// A series over the day for each of `studies` (each with a label, empty for a lone study):
/// median line and p5–p95 band across runs, in palette order.
pub(crate) fn bands<DB: DrawingBackend>(
    studies: &[(&StudyResult, &str)],
    key: &str,
    y_label: &str,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    let s = SERIES
        .iter()
        .position(|s| s.key == key)
        .expect("a known series");
    let points = |study: &StudyResult| -> Vec<(f64, [f64; 3])> {
        study
            .bands
            .iter()
            .map(|b| (hours(b.t_start_s + b.duration_s / 2.0), b.values[s]))
            .collect()
    };
    let x_end = studies
        .iter()
        .filter_map(|(study, _)| study.bands.last())
        .map(|b| hours(b.t_start_s + b.duration_s))
        .fold(0.0, f64::max);
    let x_end = if x_end > 0.0 { x_end } else { 24.0 };
    let y_max = studies
        .iter()
        .flat_map(|(study, _)| points(study))
        .map(|(_, v)| v[2])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_end, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("hours from midnight")
        .y_desc(y_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()?;
    for ((study, label), colour) in studies.iter().zip(PALETTE) {
        let points = points(study);
        let prefix = if label.is_empty() {
            String::new()
        } else {
            format!("{label}: ")
        };
        let band_label = if study.runs > 1 {
            format!("{prefix}p5–p95 of {} runs", study.runs)
        } else {
            format!("{prefix}one run")
        };
        let polygon: Vec<(f64, f64)> = points
            .iter()
            .map(|(x, v)| (*x, v[2]))
            .chain(points.iter().rev().map(|(x, v)| (*x, v[0])))
            .collect();
        let fill = colour.mix(0.2).filled();
        chart
            .draw_series(std::iter::once(Polygon::new(polygon, fill)))?
            .label(band_label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], fill));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, v)| (*x, v[1])),
                colour.stroke_width(2),
            ))?
            .label(format!("{prefix}median"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
}

/// A dollar tick with as many decimals as a bin of `width` needs.
fn money_tick(value: f64, width: f64) -> String {
    let decimals = (-(width.log10().floor())).clamp(0.0, 4.0) as usize;
    format!("{value:.decimals$}")
}

/// Left: histogram of the daily cost across runs; right: mean cost by category.
fn cost<DB: DrawingBackend>(study: &StudyResult, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let (left, right) = area.split_horizontally(SIZE.0 / 2);
    let costs: Vec<f64> = study.outputs.iter().map(|o| o[0]).collect();
    let (low, high) = costs
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    let width = ((high - low) / ((costs.len() as f64).sqrt().ceil().max(1.0)))
        .max(high.abs() * 1e-3)
        .max(1e-6);
    let bins = ((high - low) / width).floor() as usize + 1;
    let mut counts = vec![0u32; bins];
    for c in &costs {
        counts[(((c - low) / width) as usize).min(bins - 1)] += 1;
    }
    let x_range = (low - width)..(low + width * (bins as f64 + 1.0));
    let y_max = f64::from(*counts.iter().max().unwrap_or(&1)) * 1.15;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            if study.runs == 1 {
                "one run".to_string()
            } else {
                format!("{} runs", study.runs)
            },
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("cost per day ($)")
        .y_desc("runs")
        .x_labels(5)
        .x_label_formatter(&|v| money_tick(*v, width))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .draw()?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, n)| {
            let x0 = low + width * i as f64;
            Rectangle::new(
                [(x0, 0.0), (x0 + width, f64::from(*n))],
                BLUE.mix(0.7).filled(),
            )
        }))?
        .label("runs with this daily cost")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], BLUE.mix(0.7).filled()));
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let mut categories: Vec<(&str, f64)> = Vec::new();
    for (category, _, usd) in &study.cost_lines {
        match categories.iter_mut().find(|(c, _)| c == category) {
            Some(entry) => entry.1 += usd,
            None => categories.push((category, *usd)),
        }
    }
    categories.retain(|(_, usd)| *usd > 0.0);
    let top = categories
        .iter()
        .map(|(_, usd)| *usd)
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.15;
    let labels: Vec<String> = categories.iter().map(|(c, _)| c.to_string()).collect();
    let mut bars = ChartBuilder::on(&right)
        .caption("mean by category", ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((0..categories.len()).into_segmented(), 0.0..top)?;
    bars.configure_mesh()
        .disable_x_mesh()
        .x_desc("category")
        .y_desc("$ per day")
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .draw()?;
    bars.draw_series(categories.iter().enumerate().map(|(i, (_, usd))| {
        let color = PALETTE[i % PALETTE.len()];
        Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), *usd),
            ],
            color.mix(0.8).filled(),
        )
    }))?;
    Ok(())
}

/// Cumulative distributions of TTFT, TPOT, inter-token gaps and end-to-end latency on log axes, with each SLO
/// target as a vertical line.
fn latency<DB: DrawingBackend>(
    study: &StudyResult,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    let panels = area.split_evenly((2, 2));
    let l = &study.latency;
    let metrics = [
        (
            "ttft",
            "time to first token (s)",
            "share of requests",
            &l.ttft,
        ),
        (
            "tpot",
            "time per output token (s)",
            "share of requests",
            &l.tpot,
        ),
        (
            "itl",
            "gap between output tokens (s)",
            "share of tokens",
            &l.itl,
        ),
        ("e2e", "end-to-end latency (s)", "share of requests", &l.e2e),
    ];
    for (panel, (metric, label, share, stats)) in panels.iter().zip(metrics) {
        let cdf = stats.cdf();
        let targets: Vec<_> = study
            .slo
            .targets
            .iter()
            .filter(|t| t.metric.name() == metric)
            .collect();
        let low = cdf
            .first()
            .map_or(1e-3, |p| p.0)
            .min(targets.iter().map(|t| t.max_s).fold(f64::MAX, f64::min))
            * 0.8;
        let high = cdf
            .last()
            .map_or(1.0, |p| p.0)
            .max(targets.iter().map(|t| t.max_s).fold(0.0, f64::max))
            * 1.25;
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d((low.max(1e-6)..high.max(2e-6)).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc(label)
            .y_desc(share)
            .x_labels(4)
            .x_label_formatter(&|v| format!("{v:.3}"))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        chart
            .draw_series(LineSeries::new(cdf.iter().copied(), BLUE.stroke_width(2)))?
            .label("all runs")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        for target in targets {
            chart
                .draw_series(LineSeries::new(
                    [(target.max_s, 0.0), (target.max_s, 1.0)],
                    RED.stroke_width(2),
                ))?
                .label(format!("SLO p{} ≤ {} s", target.percentile, target.max_s))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
    }
    Ok(())
}

/// Horizontal bars of each uncertain input's rank correlation with the daily cost, the
/// strongest on top.
fn tornado<DB: DrawingBackend>(
    study: &StudyResult,
    area: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    let inputs: Vec<(String, f64)> = study
        .sensitivity
        .iter()
        .filter_map(|s| s.rho.map(|rho| (s.field.clone(), rho)))
        .take(15)
        .collect();
    let rows = inputs.len().max(1);
    // Row i (0 = strongest) sits at height rows − 1 − i.
    let label_of = |y: &f64| -> String {
        let y = *y;
        let row = y.round();
        if (y - row).abs() > 1e-6 || row < 0.0 {
            return String::new();
        }
        inputs
            .get(rows - 1 - (row as usize).min(rows - 1))
            .map(|(field, _)| field.clone())
            .unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(330)
        .build_cartesian_2d(-1.0..1.0, -0.5..(rows as f64 - 0.5))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("Spearman rank correlation with the daily cost")
        .y_desc("uncertain input")
        .y_labels(rows + 1)
        .y_label_formatter(&label_of)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .draw()?;
    if inputs.is_empty() {
        area.draw(&Text::new(
            "no uncertain inputs: every value in the scenario is fixed",
            (SIZE.0 as i32 / 2 - 100, SIZE.1 as i32 / 2),
            ("sans-serif", 20),
        ))?;
        return Ok(());
    }
    let bar = |i: usize, rho: f64| {
        let y = (rows - 1 - i) as f64;
        let color = if rho >= 0.0 { RED } else { GREEN };
        Rectangle::new([(0.0, y - 0.35), (rho, y + 0.35)], color.mix(0.7).filled())
    };
    chart
        .draw_series(inputs.iter().enumerate().map(|(i, (_, rho))| bar(i, *rho)))?
        .label("raises cost (red) / lowers cost (green)")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], RED.mix(0.7).filled()));
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ticks_are_short() {
        assert_eq!(super::tick(1.0), "1");
        assert_eq!(super::tick(0.25), "0.25");
        assert_eq!(super::tick(1500.0), "1,500");
        assert_eq!(super::tick(2.5e6), "2.5M");
    }
}
