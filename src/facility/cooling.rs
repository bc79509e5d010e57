//! Power usage effectiveness: facility power ÷ IT power, and how the overhead splits into
//! cooling and everything else (power distribution and conversion losses, lighting).

/// How PUE is given.
#[derive(Clone, Debug, PartialEq)]
pub enum PueModel {
    /// The same all day.
    Constant(f64),
    /// One value for each hour from midnight.
    Hourly([f64; 24]),
    /// Rising with outside temperature above a threshold (economisers stop sufficing and
    /// chillers work harder) and with low IT load (fixed losses weigh more):
    /// `PUE = base + per_degree · max(0, T − threshold) + low_load · (1 − u)`, where `u` is
    /// IT power ÷ provisioned IT power.
    Temperature {
        /// PUE at full load at or below the threshold.
        base: f64,
        /// Outside temperature above which cooling needs more power, °C.
        threshold_c: f64,
        /// PUE added per °C above the threshold.
        per_degree: f64,
        /// PUE added at zero load, falling linearly to nothing at full load.
        low_load: f64,
        /// Outside temperature in each hour from midnight, °C.
        outside_c: [f64; 24],
    },
}

impl PueModel {
    /// PUE in hour `hour` of the day (0–23) at IT load `load` (0–1).
    pub fn pue(&self, hour: usize, load: f64) -> f64 {
        match self {
            PueModel::Constant(pue) => *pue,
            PueModel::Hourly(values) => values[hour % 24],
            PueModel::Temperature {
                base,
                threshold_c,
                per_degree,
                low_load,
                outside_c,
            } => {
                let heat = (outside_c[hour % 24] - threshold_c).max(0.0);
                base + per_degree * heat + low_load * (1.0 - load.clamp(0.0, 1.0))
            }
        }
    }
}

/// Facility overhead power split into cooling and the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Overhead {
    /// Cooling: chillers, pumps, CRAH fans, towers.
    pub cooling: f64,
    /// Power distribution and conversion losses, lighting, offices.
    pub other: f64,
}

/// The overhead on `it` (any power unit) at `pue`, with `cooling_share` of it cooling.
pub fn overhead(it: f64, pue: f64, cooling_share: f64) -> Overhead {
    let total = it * (pue - 1.0);
    Overhead {
        cooling: total * cooling_share,
        other: total * (1.0 - cooling_share),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pue_one_means_no_overhead() {
        assert_eq!(overhead(100.0, 1.0, 0.8), Overhead::default());
        let o = overhead(100.0, 1.25, 0.8);
        assert!((o.cooling - 20.0).abs() < 1e-12 && (o.other - 5.0).abs() < 1e-12);
    }

    #[test]
    fn temperature_model_follows_its_formula() {
        let mut outside = [15.0; 24];
        outside[14] = 30.0;
        let model = PueModel::Temperature {
            base: 1.1,
            threshold_c: 20.0,
            per_degree: 0.01,
            low_load: 0.2,
            outside_c: outside,
        };
        assert!((model.pue(3, 1.0) - 1.1).abs() < 1e-12);
        // 10 °C over the threshold at half load: 1.1 + 0.1 + 0.1.
        assert!((model.pue(14, 0.5) - 1.3).abs() < 1e-12);
        let mut hourly = [1.2; 24];
        hourly[5] = 1.4;
        assert_eq!(PueModel::Hourly(hourly).pue(29, 0.0), 1.4);
        assert_eq!(PueModel::Constant(1.3).pue(0, 0.0), 1.3);
    }
}
