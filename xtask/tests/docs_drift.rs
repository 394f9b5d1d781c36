//! Docs that cannot drift from the repository: every repository path that a doc (README.md,
//! ARCHITECTURE.md, docs/**/*.md) links to or names exists, every `#anchor` it links to is a
//! heading there, and every `cargo xtask` subcommand and `--flag` it names is one that the built
//! `xtask` lists in its help (so the check needs no copy of the CLI definition).
//!
//! Run by `cargo test --workspace` (and so by `cargo xtask test`). It reads whatever docs exist.
//! What counts as a named path: a run of path characters whose first segment is a top-level entry
//! of the repository followed by `/` (`deploy/k8s/base`, `app-core/src/http.rs`), so ordinary
//! words never match. Runs with placeholders (`<name>`, `{md,json}`, `*`, `$VAR`) and build output
//! under `target/` are not checked.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use testkit::paths::workspace_root;

/// The CLI as the built binary describes it: each subcommand with its long flags.
struct Cli(HashMap<String, HashSet<String>>);

/// The CLI of the `xtask` binary that cargo built for this test.
static CLI: LazyLock<Cli> = LazyLock::new(|| {
    let subcommands = help(&["--help"])
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            line.strip_prefix("  ")
                .filter(|rest| !rest.starts_with(' '))
        })
        .filter_map(|line| line.split_whitespace().next())
        .map(|sub| (sub.to_owned(), long_flags(&help(&["help", sub]))))
        .collect();
    Cli(subcommands)
});

/// What `xtask ARGS` prints (`--help`, `help SUB`), which must succeed.
fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs");
    assert!(output.status.success(), "xtask {args:?} failed: {output:?}");
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// The long flags a help text lists: each `--name` in the option column of a line starting with `-`.
fn long_flags(help: &str) -> HashSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| line.split("  ").next())
        .flat_map(|spec| spec.split([',', ' ']))
        .filter_map(|word| word.strip_prefix("--"))
        .map(|name| {
            name.split(['=', '[', '<'])
                .next()
                .unwrap_or(name)
                .to_owned()
        })
        .collect()
}

/// Characters a repository path is made of.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Characters that make a run a pattern or placeholder rather than a path.
fn is_placeholder_char(c: char) -> bool {
    matches!(c, '<' | '>' | '{' | '}' | '*' | '$' | '…' | '~' | '[' | ']')
}

/// The repository's top-level entries that a named path may start with (not build output).
fn top_level(root: &Path) -> HashSet<String> {
    fs::read_dir(root)
        .expect("the workspace root is readable")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name != "target" && name != ".git")
        .collect()
}

/// The docs the check reads: README.md, ARCHITECTURE.md and every Markdown file under docs/.
fn docs(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md"]
        .iter()
        .map(|name| root.join(name))
        .filter(|path| path.is_file())
        .collect();
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for path in fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
        {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Repository paths named in `line`: runs of path characters that start with a top-level entry and
/// a `/`, without placeholders, trailing sentence punctuation removed.
fn named_paths<'a>(line: &'a str, top_level: &HashSet<String>) -> Vec<&'a str> {
    line.split(|c: char| !is_path_char(c) && !is_placeholder_char(c))
        .filter(|run| !run.contains(is_placeholder_char))
        .map(|run| run.strip_prefix("./").unwrap_or(run).trim_end_matches('.'))
        .filter(|run| {
            run.split_once('/')
                .is_some_and(|(first, _)| top_level.contains(first))
        })
        .collect()
}

/// Targets of inline Markdown links `[text](target)` in `line`.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        let target = rest[..end].split_whitespace().next().unwrap_or("");
        targets.push(target);
        rest = &rest[end..];
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown text with whether each is inside a fenced code block.
fn lines_with_fences(text: &str) -> Vec<(usize, &str, bool)> {
    let mut in_fence = false;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let fence = line.trim_start().starts_with("```");
            if fence {
                in_fence = !in_fence;
            }
            (i + 1, line, in_fence || fence)
        })
        .collect()
}

/// The anchors of a Markdown text's headings (duplicates get `-1`, `-2`, ... as on GitHub).
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line, fenced) in lines_with_fences(text) {
        let Some(heading) = line.strip_prefix('#').filter(|_| !fenced) else {
            continue;
        };
        let base = slug(heading.trim_start_matches('#'));
        let mut anchor = base.clone();
        for n in 1.. {
            if seen.insert(anchor.clone()) {
                break;
            }
            anchor = format!("{base}-{n}");
        }
    }
    seen
}

/// Problems with the `cargo xtask` invocations named in `line`, checked against `cli`.
fn xtask_problems(line: &str, cli: &Cli) -> Vec<String> {
    let mut problems = Vec::new();
    for (at, _) in line.match_indices("cargo xtask") {
        let rest = &line[at + "cargo xtask".len()..];
        let end = rest
            .find(['`', '|', ';', '&', ')', '#', '"', '\'', ','])
            .unwrap_or(rest.len());
        let mut words = rest[..end]
            .split_whitespace()
            .map(|w| w.trim_end_matches(['.', ':']));
        let Some(first) = words.next() else {
            continue;
        };
        if first.starts_with(['<', '[']) || first.starts_with("--") || first.is_empty() {
            continue;
        }
        let Some(flags) = cli.0.get(first) else {
            problems.push(format!("`cargo xtask {first}`: no such subcommand"));
            continue;
        };
        for word in words {
            if word == "--" {
                break;
            }
            let Some(flag) = word.strip_prefix("--") else {
                continue;
            };
            let name = flag.split('=').next().unwrap_or(flag);
            if !flags.contains(name) {
                problems.push(format!("`cargo xtask {first} --{name}`: no such flag"));
            }
        }
    }
    problems
}

/// Every problem in the docs under `root`, as `doc:line: problem`.
fn problems(root: &Path, cli: &Cli) -> Vec<String> {
    let top = top_level(root);
    let mut found = Vec::new();
    for doc in docs(root) {
        let text = fs::read_to_string(&doc).expect("a doc is UTF-8 text");
        let name = doc.strip_prefix(root).unwrap_or(&doc).display().to_string();
        let dir = doc.parent().expect("a doc has a folder");
        for (number, line, fenced) in lines_with_fences(&text) {
            let mut report = |problem: String| found.push(format!("{name}:{number}: {problem}"));
            for path in named_paths(line, &top) {
                if !root.join(path).exists() {
                    report(format!("names `{path}`, which does not exist"));
                }
            }
            for problem in xtask_problems(line, cli) {
                report(problem);
            }
            if fenced {
                continue;
            }
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
                let linked = if file.is_empty() {
                    doc.clone()
                } else {
                    dir.join(file)
                };
                if !linked.exists() {
                    report(format!("links to `{target}`, which does not exist"));
                } else if !anchor.is_empty() && linked.extension().is_some_and(|e| e == "md") {
                    let headings = anchors(&fs::read_to_string(&linked).unwrap_or_default());
                    if !headings.contains(anchor) {
                        report(format!("links to `{target}`: no such heading"));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn the_docs_name_only_paths_headings_and_xtask_commands_that_exist() {
    let root = workspace_root();
    assert!(
        docs(&root).len() > 3,
        "no docs found under {}",
        root.display()
    );

    let found = problems(&root, &CLI);

    assert!(
        found.is_empty(),
        "{} doc problems:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn a_misspelt_path_is_named_and_ordinary_words_are_not() {
    let top: HashSet<String> = ["deploy", "docs", "tests"].map(String::from).into();

    assert_eq!(
        named_paths("see `deploy/k8s/base/deploymnet.yaml`.", &top),
        ["deploy/k8s/base/deploymnet.yaml"]
    );
    assert_eq!(
        named_paths("run bash ./deploy/validate, then docs/cost.md.", &top),
        ["deploy/validate", "docs/cost.md"]
    );
    for prose in [
        "the tests and/or the docs; deploy it",
        "app-core/src/store/<name>.rs and docs/benchmarks.{md,json}",
        "https://example.com/docs/cost.md and target/lambda/lambda-fn/bootstrap",
    ] {
        assert_eq!(named_paths(prose, &top), Vec::<&str>::new(), "{prose}");
    }
}

#[test]
fn unknown_xtask_subcommands_and_flags_are_named() {
    assert_eq!(
        xtask_problems("`cargo xtask demo --all` then `cargo xtask bnch`", &CLI),
        ["`cargo xtask bnch`: no such subcommand"]
    );
    assert_eq!(
        xtask_problems("cargo xtask cost --measured x --free-tier --nodez 2", &CLI),
        ["`cargo xtask cost --nodez`: no such flag"]
    );
    assert!(xtask_problems("cargo xtask test -- --nocapture; `cargo xtask`", &CLI).is_empty());
}

#[test]
fn the_cli_is_read_from_the_binarys_help() {
    let demo = &CLI.0["demo"];
    for flag in ["store", "all", "hybrid", "help"] {
        assert!(demo.contains(flag), "demo --{flag} missing from {demo:?}");
    }
    assert!(CLI.0["cost"].contains("measured"));
    assert!(!demo.contains("measured"));
}

#[test]
fn links_resolve_headings_as_github_does() {
    assert_eq!(slug(" AWS: EKS + DynamoDB"), "aws-eks--dynamodb");
    assert_eq!(slug("1. Table and sample data"), "1-table-and-sample-data");
    assert_eq!(
        link_targets("[a](../x.md#y) and [c](https://e.f \"title\")"),
        ["../x.md#y", "https://e.f"]
    );
}
