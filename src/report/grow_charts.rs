//! A growth plan's charts, drawn once for SVG and once for PNG with the embedded font: the
//! traffic by month with the runs' band and the load planned for, the servers required and
//! in service, and the cost per day with its interval and the runs' spread.

use super::charts::{ChartSet, DrawResult, PALETTE, tick};
use crate::grow::GrowthResult;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// One growth chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrowChart {
    /// The runs' traffic multiplier by month: p5–p95 band, median, and the planning load.
    Traffic,
    /// Servers required and in service by month, as steps; under-provisioned months marked.
    Fleet,
    /// Cost per day by month: mean, its 95% confidence interval, and the runs' p5–p95.
    Cost,
}

impl ChartSet for GrowChart {
    type Data = GrowthResult;

    /// Every growth chart, in report order.
    const ALL: &'static [GrowChart] = &[GrowChart::Traffic, GrowChart::Fleet, GrowChart::Cost];

    /// File stem under `charts/`.
    fn stem(self) -> &'static str {
        match self {
            GrowChart::Traffic => "traffic",
            GrowChart::Fleet => "fleet",
            GrowChart::Cost => "cost_per_day",
        }
    }

    /// The title drawn on the chart.
    fn title(self) -> &'static str {
        match self {
            GrowChart::Traffic => "Traffic by month, and the load the fleet is planned for",
            GrowChart::Fleet => "Servers by month: required and in service",
            GrowChart::Cost => "Cost per day by month, the planned fleet at each run's traffic",
        }
    }

    fn draw<DB: DrawingBackend>(
        self,
        data: &GrowthResult,
        root: &DrawingArea<DB, Shift>,
    ) -> DrawResult<DB> {
        draw(self, data, root)
    }
}

const BLUE: RGBColor = PALETTE[0];
const ORANGE: RGBColor = PALETTE[1];
const RED: RGBColor = PALETTE[3];

/// A chart over months (x) and a linear value (y).
type MonthChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes of months (x: month index, labelled `YYYY-MM`) and `y_label` from 0 to `y_max`.
fn month_axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    result: &GrowthResult,
    y_label: &str,
    y_max: f64,
) -> Result<MonthChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let months = result.months.len();
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.5..months as f64 - 0.5, 0.0..y_max.max(1e-9) * 1.1)?;
    let label = |x: &f64| {
        let p = x.round();
        if (x - p).abs() < 1e-6 && p >= 0.0 && (p as usize) < months {
            result.months[p as usize].month.to_string()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("month")
        .y_desc(y_label)
        .x_labels(months.clamp(2, 12))
        .x_label_formatter(&label)
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()?;
    Ok(chart)
}

/// The polygon between `low` and `high` over the months.
fn band(low: &[f64], high: &[f64]) -> Vec<(f64, f64)> {
    let x = |p: usize| p as f64;
    (0..high.len())
        .map(|p| (x(p), high[p]))
        .chain((0..low.len()).rev().map(|p| (x(p), low[p])))
        .collect()
}

/// A step line: each month's value held across its width.
fn steps(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .flat_map(|(p, v)| [(p as f64 - 0.5, *v), (p as f64 + 0.5, *v)])
        .collect()
}

/// The legend, top left (the lines rise to the right).
fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut MonthChart<'a, DB>) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
}

fn draw<DB: DrawingBackend>(
    kind: GrowChart,
    result: &GrowthResult,
    root: &DrawingArea<DB, Shift>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let body = root.titled(kind.title(), ("sans-serif", 26))?;
    let months = &result.months;
    let column =
        |f: fn(&crate::grow::MonthResult) -> f64| -> Vec<f64> { months.iter().map(f).collect() };
    let runs = months.first().map_or(0, |m| m.simulated.runs);
    match kind {
        GrowChart::Traffic => {
            let (p5, p50, p95) = (
                column(|m| m.traffic.p5),
                column(|m| m.traffic.p50),
                column(|m| m.traffic.p95),
            );
            let planned = column(|m| m.planning_load);
            let y_max = p95.iter().chain(&planned).copied().fold(0.0, f64::max);
            let mut chart =
                month_axes(&body, result, "traffic (× the scenario's workload)", y_max)?;
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band(&p5, &p95),
                    BLUE.mix(0.2).filled(),
                )))?
                .label(format!("runs p5–p95 ({runs} runs)"))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 20, y + 6)], BLUE.mix(0.2).filled())
                });
            let median: Vec<(f64, f64)> = p50
                .iter()
                .enumerate()
                .map(|(p, v)| (p as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(median.clone(), BLUE.stroke_width(2)))?
                .label("median")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
            chart.draw_series(median.iter().map(|p| Circle::new(*p, 4, BLUE.filled())))?;
            chart
                .draw_series(LineSeries::new(steps(&planned), BLACK.stroke_width(2)))?
                .label(format!(
                    "planned for: {} × {}",
                    result.growth.forecast.name(),
                    1.0 + result.growth.headroom
                ))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
            legend(&mut chart)
        }
        GrowChart::Fleet => {
            let max = result.growth.max_fleet() as f64;
            let required = column(|m| m.required.map_or(f64::NAN, |r| r as f64));
            let in_service = column(|m| m.in_service as f64);
            let y_max = in_service
                .iter()
                .chain(&required)
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let mut chart = month_axes(&body, result, "servers", y_max)?;
            let required_line: Vec<f64> = required
                .iter()
                .map(|r| if r.is_finite() { *r } else { max })
                .collect();
            chart
                .draw_series(LineSeries::new(steps(&in_service), ORANGE.stroke_width(3)))?
                .label("in service")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], ORANGE.stroke_width(3)));
            chart
                .draw_series(LineSeries::new(steps(&required_line), BLUE.stroke_width(2)))?
                .label("required at the planned load")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
            chart
                .draw_series(
                    months
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| m.under_provisioned)
                        .map(|(p, m)| {
                            Cross::new((p as f64, m.in_service as f64), 7, RED.stroke_width(3))
                        }),
                )?
                .label("under-provisioned")
                .legend(|(x, y)| Cross::new((x + 10, y), 6, RED.stroke_width(3)));
            legend(&mut chart)
        }
        GrowChart::Cost => {
            let cost = |f: fn(&crate::stats::Spread) -> f64| -> Vec<f64> {
                months
                    .iter()
                    .map(|m| f(&m.simulated.cost_usd_per_day))
                    .collect()
            };
            let (p5, low, mean, high, p95) = (
                cost(|c| c.p5),
                cost(|c| c.ci95_low),
                cost(|c| c.mean),
                cost(|c| c.ci95_high),
                cost(|c| c.p95),
            );
            let y_max = p95.iter().chain(&high).copied().fold(0.0, f64::max);
            let mut chart = month_axes(&body, result, "cost per day ($)", y_max)?;
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band(&p5, &p95),
                    BLUE.mix(0.15).filled(),
                )))?
                .label(format!("runs p5–p95 ({runs} runs)"))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 20, y + 6)], BLUE.mix(0.15).filled())
                });
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band(&low, &high),
                    BLUE.mix(0.4).filled(),
                )))?
                .label("95% CI of the mean")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 20, y + 6)], BLUE.mix(0.4).filled())
                });
            let points: Vec<(f64, f64)> = mean
                .iter()
                .enumerate()
                .map(|(p, v)| (p as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))?
                .label("mean")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, BLUE.filled())))?;
            legend(&mut chart)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_hold_each_month_across_its_width() {
        assert_eq!(
            steps(&[1.0, 3.0]),
            vec![(-0.5, 1.0), (0.5, 1.0), (0.5, 3.0), (1.5, 3.0)]
        );
        assert_eq!(
            band(&[1.0, 2.0], &[3.0, 4.0]),
            vec![(0.0, 3.0), (1.0, 4.0), (1.0, 2.0), (0.0, 1.0)]
        );
    }
}
