//! How the lab's reports and charts (and `cargo xtask bench`'s) write money and counts (pinned byte
//! for byte by the staleness tests of docs/cost.md and docs/benchmarks.{md,svg}).

/// USD with cents and thousands separators, e.g. `$1,234.56`.
pub fn usd(amount: f64) -> String {
    let text = format!("{amount:.2}");
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    format!("${}.{cents}", group(whole))
}

/// A list price with every digit it has, and whole cents with two (`$0.0416`, `$0.20`).
pub fn price(usd: f64) -> String {
    let cents = format!("{usd:.2}");
    if cents.parse() == Ok(usd) {
        format!("${cents}")
    } else {
        format!("${usd}")
    }
}

/// USD for axis labels: `$0.01`, `$1`, `$100`, `$10k`.
pub fn usd_short(amount: f64) -> String {
    if amount < 1.0 {
        format!("${amount}")
    } else {
        format!("${}", count_short(amount))
    }
}

/// A whole number with thousands separators, e.g. `23,625,842`.
pub fn count(value: f64) -> String {
    group(&format!("{:.0}", value.round()))
}

/// A volume with a k/M/B suffix and up to three significant digits, e.g. `23.6M`.
pub fn count_short(value: f64) -> String {
    let (scaled, suffix) = [(1e9, "B"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|&(unit, _)| value >= unit)
        .map_or((value, ""), |(unit, suffix)| (value / unit, suffix));
    let decimals = if scaled >= 100.0 {
        0
    } else if scaled >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{scaled:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{suffix}")
}

/// Inserts `,` every three digits of an integer string (optionally signed).
fn group(digits: &str) -> String {
    let (sign, digits) = digits
        .strip_prefix('-')
        .map_or(("", digits), |rest| ("-", rest));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}
