//! How the project's pages are rendered from minijinja templates: one set-up for the lab's report
//! and pages (`decide/templates/`) and the bench's page (`xtask/templates/benchmarks.md`).
//!
//! Prose and layout live in the templates; numbers are computed in Rust and formatted by the
//! filters every environment has: `usd` (`$1,234.56`), `price` (a list price with all its digits,
//! `$0.0416`), `count` (`23,625,848`), `count_short` (`23.6M`), all from [`crate::numbers`];
//! `num` (a number as Rust writes it: `200`, `3.0461315`) and `fixed(n)` (`n` decimals).

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Value};

use crate::numbers::{count, count_short, price, usd};

/// An environment that keeps a template's trailing newline (a page ends as its template does), with
/// the number filters. Escaping follows the template's name: HTML for `.html`, none for `.md`.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    env.add_filter("usd", usd);
    env.add_filter("price", price);
    env.add_filter("count", count);
    env.add_filter("count_short", count_short);
    env.add_filter("num", |value: f64| value.to_string());
    env.add_filter("fixed", |value: f64, decimals: usize| {
        format!("{value:.decimals$}")
    });
    Ok(env)
}

/// `source`, registered in `env` as `name`, rendered with `context`.
pub fn render<'source>(
    mut env: Environment<'source>,
    name: &'source str,
    source: &'source str,
    context: Value,
) -> Result<String, minijinja::Error> {
    env.add_template(name, source)?;
    env.get_template(name)?.render(context)
}
