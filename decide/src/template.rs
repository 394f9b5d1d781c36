//! How the project's pages are rendered from minijinja templates: one set-up for the lab's report
//! and page (`decide/templates/`) and the bench's page (`xtask/templates/benchmarks.md`).

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Value};

/// An environment that keeps a template's trailing newline (a page ends as its template does).
/// Escaping follows the template's name: HTML for `.html`, none for `.md`.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
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
