//! The validation chart: predicted against measured, one log-log panel per metric, with the
//! y = x line and ±20% bands; colour marks the GPU, a hollow marker a row held out of the fit.

use super::charts::{DrawResult, PALETTE, render_png, render_svg};
use crate::validate::{Metric, Validation};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The SVG text of the chart.
pub fn svg(v: &Validation) -> Result<String, String> {
    render_svg(|root| draw(v, root))
}

/// Draws the chart as a PNG file at `path`.
pub fn png(v: &Validation, path: &std::path::Path) -> Result<(), String> {
    render_png(path, |root| draw(v, root))
}

fn unit_label(metric: Metric) -> &'static str {
    match metric {
        Metric::ItlMs => "inter-token latency (ms)",
        Metric::TtftMs => "time to first token (ms)",
        Metric::TpotMs => "time per output token (ms)",
        Metric::ThroughputTokS => "output tokens/s",
        Metric::GpuPowerW => "GPU power (W)",
        Metric::EnergyPerTokenJ => "GPU energy per token (J)",
    }
}

/// The chart's title.
pub const TITLE: &str = "Predicted versus measured (y = x, ±20% dashed)";

fn draw<DB: DrawingBackend>(v: &Validation, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let body = root.titled(TITLE, ("sans-serif", 26))?;
    let metrics: Vec<Metric> = Metric::ALL
        .into_iter()
        .filter(|m| v.file.rows.iter().any(|r| r.metric == *m))
        .collect();
    let mut gpus: Vec<&str> = v.file.rows.iter().map(|r| r.setup.gpu.as_str()).collect();
    gpus.sort_unstable();
    gpus.dedup();
    // Three panels to a row, or two rows of two for four.
    let columns = match metrics.len() {
        0 => 1,
        4 => 2,
        n => n.min(3),
    };
    let panels = body.split_evenly((metrics.len().div_ceil(columns), columns));
    for (panel, metric) in panels.iter().zip(&metrics) {
        let points: Vec<(f64, f64, usize, bool)> = v
            .file
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.metric == *metric)
            .filter_map(|(i, r)| {
                let gpu = gpus.iter().position(|g| *g == r.setup.gpu).unwrap_or(0);
                let held_out = v.fit.is_some() && !v.fitted[i];
                v.predicted[i]
                    .filter(|p| *p > 0.0)
                    .map(|p| (r.value, p, gpu, held_out))
            })
            .collect();
        let (low, high) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.0).min(p.1), hi.max(p.0).max(p.1))
        });
        let (low, high) = if low < high {
            (low / 1.5, high * 1.5)
        } else {
            (1.0, 10.0)
        };
        let mut chart = ChartBuilder::on(panel)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d((low..high).log_scale(), (low..high).log_scale())?;
        chart
            .configure_mesh()
            .x_desc(format!("measured {}", unit_label(*metric)))
            .y_desc("predicted")
            .x_labels(4)
            .y_labels(4)
            .x_label_formatter(&|x| super::markdown::significant(*x))
            .y_label_formatter(&|y| super::markdown::significant(*y))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .draw()?;
        chart.draw_series(LineSeries::new(
            [(low, low), (high, high)],
            BLACK.stroke_width(1),
        ))?;
        for factor in [0.8, 1.2] {
            chart.draw_series(DashedLineSeries::new(
                [(low, low * factor), (high, high * factor)],
                6,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))?;
        }
        for (g, gpu) in gpus.iter().enumerate() {
            let color = PALETTE[g % PALETTE.len()];
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| p.2 == g)
                        .map(|&(x, y, _, held_out)| {
                            let style = if held_out {
                                color.stroke_width(2)
                            } else {
                                color.filled()
                            };
                            Circle::new((x, y), 4, style)
                        }),
                )?
                .label(*gpu)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    Ok(())
}
