//! Generated regions of a hand-written markdown page: the text between `<!-- PREFIX:NAME -->` and
//! `<!-- /PREFIX:NAME -->` belongs to the command that renders it; everything else is prose and is
//! kept as written. Plus the markdown table both renderers fill them with.

use anyhow::{Context, Result, bail};

/// `doc` with the region of each `(name, content)` replaced by `content`.
///
/// Fails, naming the marker, when a region's opening or closing comment is missing, or when a marker
/// of `prefix` in `doc` names no region (so that a renamed region cannot leave stale figures behind).
pub fn rewrite(doc: &str, prefix: &str, regions: &[(&str, String)]) -> Result<String> {
    let mut out = doc.to_owned();
    for (name, content) in regions {
        let (open, close) = (
            format!("<!-- {prefix}:{name} -->"),
            format!("<!-- /{prefix}:{name} -->"),
        );
        let start = out
            .find(&open)
            .with_context(|| format!("no `{open}` marker"))?
            + open.len();
        let end = start
            + out[start..]
                .find(&close)
                .with_context(|| format!("`{open}` has no `{close}` after it"))?;
        out.replace_range(start..end, &format!("\n{}\n", content.trim_end()));
    }
    for (at, _) in out.match_indices(&format!("<!-- {prefix}:")) {
        let marker = &out[at..out[at..].find("-->").map_or(out.len(), |end| at + end + 3)];
        if !regions
            .iter()
            .any(|(name, _)| marker == format!("<!-- {prefix}:{name} -->"))
        {
            bail!("`{marker}` names no region that is rendered");
        }
    }
    Ok(out)
}

/// A markdown table; an empty cell is written `| |`.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line: String = cells
            .map(|cell| match cell {
                "" => "| ".to_owned(),
                cell => format!("| {cell} "),
            })
            .collect();
        line.push_str("|\n");
        line
    };
    let mut out = line(&mut header.iter().copied());
    out.push_str(&"|---".repeat(header.len()));
    out.push_str("|\n");
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rendering and tables are pinned byte for byte by the staleness tests of docs/cost.md and
    // docs/benchmarks.md; these pin the refusals.
    const DOC: &str = "# Title\n\nProse before.\n\n<!-- t:table -->\nold | table\n<!-- /t:table -->\n\nProse after.\n";

    #[test]
    fn a_missing_marker_is_named() {
        // GIVEN a page without the region's opening marker, and one without its closing marker
        let no_open = rewrite("prose", "t", &[("table", String::new())]).unwrap_err();
        let no_close = rewrite("<!-- t:table -->", "t", &[("table", String::new())]).unwrap_err();

        // THEN each error names the marker to add
        assert_eq!(no_open.to_string(), "no `<!-- t:table -->` marker");
        assert!(
            no_close.to_string().contains("no `<!-- /t:table -->`"),
            "{no_close}"
        );
    }

    #[test]
    fn a_marker_without_a_region_is_an_error() {
        // GIVEN a page with a region the renderer no longer writes
        let doc = format!("{DOC}<!-- t:gone -->\nstale\n<!-- /t:gone -->\n");

        // WHEN it is rendered
        let error = rewrite(&doc, "t", &[("table", String::new())]).unwrap_err();

        // THEN the stale marker is named
        assert_eq!(
            error.to_string(),
            "`<!-- t:gone -->` names no region that is rendered"
        );
    }
}
