//! Traffic: the offered load, in requests per second, for every second of the period.
//!
//! Built-in shapes at any volume (requests a month, or a peak rate), or the user's CSV
//! (`second,requests_per_second`, for example exported from a load balancer's metrics).

use std::path::Path;

use crate::input::{InputError, check_non_negative, read};
use crate::paths::display;

/// Seconds in the billing month the prices use (730 hours).
pub const MONTH_S: usize = 730 * 3600;
const DAY_S: usize = 86_400;

/// A built-in traffic shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// The same rate all the time.
    Steady,
    /// A day's curve: low at night, peak in the afternoon (peak ≈ 4 × trough).
    Diurnal,
    /// Steady, then once a day ×10 within 10 s, held 10 min.
    Spike,
    /// Nothing from 20:00 to 08:00, then the full rate at once, every day.
    Step,
    /// Random bursts (×2 to ×20, 10 s to 15 min) over a low base, from a fixed seed.
    Unpredictable,
}

impl Shape {
    /// Every built-in shape, in the report's order.
    pub const ALL: [Shape; 5] = [
        Shape::Steady,
        Shape::Diurnal,
        Shape::Spike,
        Shape::Step,
        Shape::Unpredictable,
    ];

    /// The shape's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Steady => "steady",
            Shape::Diurnal => "diurnal",
            Shape::Spike => "spike",
            Shape::Step => "step",
            Shape::Unpredictable => "unpredictable",
        }
    }

    /// The shape's relative rate at second `t` (any scale; [`Volume`] scales it).
    fn unit(self, t: usize) -> f64 {
        let day = t % DAY_S;
        match self {
            Shape::Steady => 1.0,
            Shape::Diurnal => {
                // Peak at 15:00, trough at 03:00.
                let phase = (day as f64 - 9.0 * 3600.0) / DAY_S as f64 * std::f64::consts::TAU;
                1.0 + 0.6 * phase.sin()
            }
            Shape::Spike => {
                let start = 12 * 3600;
                match day.checked_sub(start) {
                    Some(s) if s < 10 => 1.0 + 9.0 * (s + 1) as f64 / 10.0,
                    Some(s) if s < 10 + 600 => 10.0,
                    _ => 1.0,
                }
            }
            Shape::Step => {
                if (8 * 3600..20 * 3600).contains(&day) {
                    1.0
                } else {
                    0.0
                }
            }
            // The base; the bursts are laid over it by `Trace::shape`.
            Shape::Unpredictable => 1.0,
        }
    }
}

/// How much traffic: requests in a month (730 h), or the peak requests per second.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Volume {
    Monthly(f64),
    PeakRps(f64),
}

impl Volume {
    /// Parses `100M` (a month), `1e9`, or `250rps` (a peak rate).
    pub fn parse(text: &str) -> Result<Volume, String> {
        if let Some(rate) = text.trim().strip_suffix("rps") {
            let rate: f64 = rate
                .parse()
                .map_err(|_| format!("`{text}` is not a rate"))?;
            return check_non_negative(rate).map(Volume::PeakRps);
        }
        crate::cost::parse_count(text).map(Volume::Monthly)
    }

    /// `1M/month` or `250 rps peak`.
    pub fn label(self) -> String {
        match self {
            Volume::Monthly(n) => format!("{}/month", crate::numbers::count_short(n)),
            Volume::PeakRps(r) => format!("{r} rps peak"),
        }
    }
}

/// The offered load of every second, and what it is called.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub name: String,
    pub rps: Vec<f64>,
}

impl Trace {
    /// `shape` over `seconds`, scaled to `volume` (a monthly volume scales by the mean rate).
    pub fn shape(shape: Shape, volume: Volume, seconds: usize, seed: u64) -> Trace {
        let mut rps: Vec<f64> = (0..seconds).map(|t| shape.unit(t)).collect();
        if shape == Shape::Unpredictable {
            for (from, to, height) in random_bursts(seconds, seed) {
                let end = to.min(seconds);
                rps[from..end]
                    .iter_mut()
                    .for_each(|r| *r = r.max(1.0 + height));
            }
        }
        Trace {
            name: format!("{} {}", shape.name(), volume.label()),
            rps,
        }
        .scaled(volume)
    }

    /// This trace scaled so that its mean rate gives `volume` a month, or its peak is `volume`.
    pub fn scaled(mut self, volume: Volume) -> Trace {
        let factor = match volume {
            Volume::Monthly(requests) => {
                let mean = self.rps.iter().sum::<f64>() / self.rps.len().max(1) as f64;
                requests / MONTH_S as f64 / mean
            }
            Volume::PeakRps(peak) => peak / self.rps.iter().copied().fold(0.0, f64::max),
        };
        let factor = if factor.is_finite() { factor } else { 0.0 };
        self.rps.iter_mut().for_each(|r| *r *= factor);
        self
    }

    /// Reads a CSV of `second,requests_per_second` rows (a header line is allowed). Seconds start at
    /// 0 or later and increase; a gap keeps the previous rate.
    pub fn csv(path: &Path) -> Result<Trace, InputError> {
        let file = display(path);
        let text = read(path)?;
        Self::parse_csv(&text, &file)
    }

    /// [`Trace::csv`] on text already read from `file`.
    pub fn parse_csv(text: &str, file: &str) -> Result<Trace, InputError> {
        let mut rps: Vec<f64> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || (index == 0 && line.starts_with(|c: char| c.is_alphabetic())) {
                continue;
            }
            let bad =
                |field: &str, message: String| InputError::field(file, number, field, message);
            let (second, rate) = line.split_once(',').ok_or_else(|| {
                bad(
                    "requests_per_second",
                    "missing: a row is `second,requests_per_second`".into(),
                )
            })?;
            let second: usize = second.trim().parse().map_err(|_| {
                bad(
                    "second",
                    format!("`{}` is not a whole second >= 0", second.trim()),
                )
            })?;
            let rate = (rate.trim().parse::<f64>())
                .map_err(|_| format!("`{}` is not a number", rate.trim()))
                .and_then(check_non_negative)
                .map_err(|message| bad("requests_per_second", message))?;
            if second < rps.len() {
                return Err(bad(
                    "second",
                    format!("{second} does not follow second {}", rps.len() - 1),
                ));
            }
            let last = rps.last().copied().unwrap_or(0.0);
            rps.resize(second, last);
            rps.push(rate);
        }
        if rps.is_empty() {
            return Err(InputError::file(
                file,
                "no rows (expected `second,requests_per_second`)",
            ));
        }
        let name = Path::new(file)
            .file_name()
            .map_or(file.into(), |n| n.to_string_lossy().into());
        Ok(Trace { name, rps })
    }

    /// Requests in the whole trace.
    pub fn requests(&self) -> f64 {
        self.rps.iter().sum()
    }
}

/// Bursts `(from, to, height)` from a fixed seed: about three a day.
fn random_bursts(seconds: usize, seed: u64) -> Vec<(usize, usize, f64)> {
    let mut state = seed;
    let mut next = move || {
        // splitmix64: small, fast, and the same on every platform.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    };
    let mut bursts = Vec::new();
    let mut t = 0.0;
    loop {
        // Exponential gaps with a mean of 8 hours.
        t += -(1.0 - next()).ln() * 8.0 * 3600.0;
        if t as usize >= seconds {
            return bursts;
        }
        let length = 10.0 + next() * 890.0;
        let height = 1.0 + next() * 19.0;
        bursts.push((t as usize, t as usize + length as usize, height));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_monthly_volume_is_the_traces_total_over_a_month() {
        for shape in Shape::ALL {
            let trace = Trace::shape(shape, Volume::Monthly(1e6), MONTH_S, 7);
            assert!(
                (trace.requests() - 1e6).abs() < 1e-3,
                "{shape:?}: {}",
                trace.requests()
            );
        }
    }

    #[test]
    fn the_spike_is_ten_times_within_ten_seconds_held_ten_minutes() {
        let trace = Trace::shape(Shape::Spike, Volume::PeakRps(100.0), DAY_S, 0);
        let noon = 12 * 3600;
        assert_eq!(trace.rps[noon - 1], 10.0);
        assert_eq!(trace.rps[noon + 9], 100.0);
        assert_eq!(trace.rps[noon + 609], 100.0);
        assert_eq!(trace.rps[noon + 610], 10.0);
    }

    #[test]
    fn the_unpredictable_shape_repeats_with_its_seed() {
        let a = Trace::shape(Shape::Unpredictable, Volume::PeakRps(50.0), 3 * DAY_S, 1);
        let b = Trace::shape(Shape::Unpredictable, Volume::PeakRps(50.0), 3 * DAY_S, 1);
        let c = Trace::shape(Shape::Unpredictable, Volume::PeakRps(50.0), 3 * DAY_S, 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.rps.iter().any(|&r| r > 10.0), "it has bursts");
    }

    #[test]
    fn a_csv_fills_gaps_with_the_previous_rate() {
        let trace = Trace::parse_csv("second,requests_per_second\n0,5\n3,7.5\n", "t.csv").unwrap();
        assert_eq!(trace.rps, [5.0, 5.0, 5.0, 7.5]);
    }

    #[test]
    fn bad_csv_rows_are_named_by_file_line_and_field() {
        let cases = [
            (
                "0,5\n1,-2\n",
                "t.csv:2: requests_per_second: `-2` is negative",
            ),
            (
                "0,5\n1,NaN\n",
                "t.csv:2: requests_per_second: is not a number",
            ),
            (
                "0,5\nx,2\n",
                "t.csv:2: second: `x` is not a whole second >= 0",
            ),
            (
                "0,5\n1;2\n",
                "t.csv:2: requests_per_second: missing: a row is `second,requests_per_second`",
            ),
            ("5,1\n2,1\n", "t.csv:2: second: 2 does not follow second 5"),
            ("", "t.csv: no rows (expected `second,requests_per_second`)"),
        ];
        for (text, expected) in cases {
            let error = Trace::parse_csv(text, "t.csv").unwrap_err().to_string();
            assert_eq!(error, expected);
        }
    }
}
