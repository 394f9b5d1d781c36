//! Docs that are executed: every fenced shell block in README.md, docs/*.md and docs/workshop/*.md is
//! either run here, its output compared with what the text quotes, or marked as not run.
//!
//! - A ```console block is run: each `$ command` line goes to `bash -c` in the workspace root (so
//!   pipes, `&&` and `||` work as a reader's shell runs them), and the lines after it, up to the next
//!   `$ `, are the output it must print on stdout. In the quoted output a line `...` stands for any
//!   number of lines and `[..]` for any text within a line. The command must exit 0.
//! - Any other shell block (```sh, ```bash, ```shell) needs the line `<!-- not run: REASON -->` just
//!   before it (it needs a cluster, an AWS account, a running server, takes minutes, ...). For those,
//!   each `cargo` command's arguments are still checked: a `-p PACKAGE` is a workspace package, and a
//!   `--test NAME` one of that package's test targets. `cargo xtask` subcommands and flags are the
//!   drift test's (`docs_drift.rs`).
//!
//! A block that is neither fails the test, naming its file and line; the not-run blocks are listed
//! with their reasons (`-- --nocapture` shows the list).
//!
//! The README's quick start ("To try the server alone") is run as written by
//! [`the_readme_quick_start_answers_as_quoted`], on free ports instead of 8080 and 9090 so that it
//! cannot meet another server on the machine.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::cargo_env;
use testkit::paths::{target_dir, workspace_root};
use testkit::ports::{free_port, wait_listening};
use testkit::process::Supervised;

/// The marker a block that is not run carries on the line before it.
const NOT_RUN: &str = "<!-- not run: ";

/// The languages of a fenced block that count as shell.
const SHELL: &[&str] = &["sh", "bash", "shell", "console"];

/// A fenced shell block in a doc.
struct Block {
    /// Where it is, as `path:line` (the line of the opening fence).
    place: String,
    /// The line of the opening fence.
    line: usize,
    /// `console`, `sh`, ...
    lang: String,
    /// The lines between the fences, indentation of the fence removed.
    lines: Vec<String>,
    /// The reason of the `<!-- not run: REASON -->` line just before it, if there is one.
    not_run: Option<String>,
}

/// The docs this test reads: README.md, docs/*.md and docs/workshop/*.md.
fn docs(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![root.join("README.md")];
    for dir in ["docs", "docs/workshop"] {
        let mut in_dir: Vec<PathBuf> = fs::read_dir(root.join(dir))
            .expect("the docs directory is readable")
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
            .collect();
        in_dir.sort();
        found.extend(in_dir);
    }
    found
}

/// The fenced shell blocks of `text` (from file `name`).
fn shell_blocks(name: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let indent = line.len() - line.trim_start().len();
        let Some(info) = line.trim_start().strip_prefix("```") else {
            index += 1;
            continue;
        };
        let end = (index + 1..lines.len())
            .find(|&at| lines[at].trim() == "```")
            .unwrap_or_else(|| panic!("{name}:{}: a fence that never closes", index + 1));
        let lang = info.split_whitespace().next().unwrap_or("").to_owned();
        if SHELL.contains(&lang.as_str()) {
            let not_run = index
                .checked_sub(1)
                .map(|before| lines[before].trim())
                .and_then(|before| before.strip_prefix(NOT_RUN))
                .and_then(|rest| rest.strip_suffix("-->"))
                .map(|reason| reason.trim().to_owned());
            blocks.push(Block {
                place: format!("{name}:{}", index + 1),
                line: index + 1,
                lang,
                lines: lines[index + 1..end]
                    .iter()
                    .map(|line| line.get(indent..).unwrap_or(line.trim_start()).to_owned())
                    .collect(),
                not_run,
            });
        }
        index = end + 1;
    }
    blocks
}

/// A command and the output a doc quotes for it.
struct Quoted {
    command: String,
    output: Vec<String>,
}

/// The `$ command` lines of a console block, each with the lines quoted after it.
fn console_commands(block: &Block) -> Vec<Quoted> {
    let mut commands: Vec<Quoted> = Vec::new();
    for line in &block.lines {
        if let Some(command) = line.strip_prefix("$ ") {
            commands.push(Quoted {
                command: command.to_owned(),
                output: Vec::new(),
            });
        } else {
            let quoted = commands.last_mut().unwrap_or_else(|| {
                panic!("{}: a console block starts with `$ command`", block.place)
            });
            quoted.output.push(line.clone());
        }
    }
    commands
}

/// Whether `actual` matches `pattern`, in which `[..]` stands for any text.
fn line_matches(pattern: &str, actual: &str) -> bool {
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (at, part) in parts.iter().enumerate() {
        if at + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(found) => rest = &rest[found + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether the `actual` lines match the `quoted` ones, in which a line `...` stands for any lines.
fn output_matches(quoted: &[String], actual: &[&str]) -> bool {
    match quoted.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual.split_first().is_some_and(|(line, after)| {
            line_matches(first.trim_end(), line.trim_end()) && output_matches(rest, after)
        }),
    }
}

/// `bash -c command` in the workspace root, with a shell's environment rather than this test's.
fn shell(command: &str) -> Command {
    let mut shell = Command::new("bash");
    if let Some(kubectl) = std::env::var_os("KUBECTL") {
        // `cargo xtask test` names the kubectl it installed; the docs call it `kubectl`.
        let dir = Path::new(&kubectl).parent().unwrap_or(Path::new("."));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
        shell.env("PATH", std::env::join_paths(paths).expect("PATH entries"));
    }
    shell
        .args(["-c", command])
        .current_dir(workspace_root())
        .stdin(Stdio::null());
    cargo_env::remove_inherited(&mut shell);
    shell
}

/// Runs a console block; `Err` says which command failed or printed what the text does not quote.
fn run_console(block: &Block) -> Result<(), String> {
    for quoted in console_commands(block) {
        let output = shell(&quoted.command)
            .output()
            .map_err(|error| format!("{}: cannot run bash: {error}", block.place))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!(
                "{}: `{}` failed ({}):\n{stdout}\n{stderr}",
                block.place, quoted.command, output.status
            ));
        }
        let actual: Vec<&str> = stdout.lines().collect();
        if !output_matches(&quoted.output, &actual) {
            return Err(format!(
                "{}: `{}` printed what the text does not quote.\n--- quoted\n{}\n--- printed\n{stdout}",
                block.place,
                quoted.command,
                quoted.output.join("\n")
            ));
        }
    }
    Ok(())
}

/// The workspace's packages, each with the names of its test targets (`tests/NAME.rs`,
/// `tests/NAME/main.rs`).
fn packages(root: &Path) -> BTreeMap<String, Vec<String>> {
    let manifest: toml::Table = fs::read_to_string(root.join("Cargo.toml"))
        .expect("Cargo.toml is readable")
        .parse()
        .expect("Cargo.toml is TOML");
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("workspace members");
    members
        .iter()
        .filter_map(|member| member.as_str())
        .map(|member| {
            let dir = root.join(member);
            let package: toml::Table = fs::read_to_string(dir.join("Cargo.toml"))
                .expect("a member's Cargo.toml is readable")
                .parse()
                .expect("a member's Cargo.toml is TOML");
            let name = package["package"]["name"]
                .as_str()
                .expect("a package name")
                .to_owned();
            let tests = fs::read_dir(dir.join("tests"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| {
                    let path = entry.path();
                    let stem = path.file_stem()?.to_str()?.to_owned();
                    (path.extension().is_some_and(|ext| ext == "rs")
                        || path.join("main.rs").is_file())
                    .then_some(stem)
                })
                .collect();
            (name, tests)
        })
        .collect()
}

/// What is wrong with the arguments of the `cargo` commands in a block that is not run.
fn cargo_argument_faults(block: &Block, packages: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut faults = Vec::new();
    for line in &block.lines {
        let command = line.split(" #").next().unwrap_or(line);
        let words: Vec<&str> = command.split_whitespace().collect();
        let Some(start) = words.iter().position(|word| *word == "cargo") else {
            continue;
        };
        let words = &words[start..];
        let value_of = |flags: &[&str]| {
            words
                .windows(2)
                .find(|pair| flags.contains(&pair[0]))
                .map(|pair| pair[1])
        };
        let package = value_of(&["-p", "--package"]);
        if let Some(package) = package
            && !packages.contains_key(package)
        {
            faults.push(format!(
                "{}: `{}` names package {package}, which the workspace does not have",
                block.place,
                command.trim()
            ));
        }
        if let (Some(package), Some(test)) = (package, value_of(&["--test"]))
            && packages
                .get(package)
                .is_some_and(|tests| !tests.iter().any(|name| name == test))
        {
            faults.push(format!(
                "{}: `{}` names test {test}, which package {package} does not have",
                block.place,
                command.trim()
            ));
        }
    }
    faults
}

#[test]
fn every_shell_block_in_the_docs_is_run_or_marked_with_a_reason() {
    let root = workspace_root();
    let packages = packages(&root);
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md is readable");
    let quick_start = readme_quick_start(&readme).1.place;
    let mut faults = Vec::new();
    let mut not_run = Vec::new();
    let mut ran = 0;
    for doc in docs(&root) {
        let name = doc
            .strip_prefix(&root)
            .expect("a doc in the workspace")
            .display()
            .to_string();
        let text = fs::read_to_string(&doc).expect("a doc is readable");
        for block in shell_blocks(&name, &text) {
            if block.place == quick_start {
                ran += 1; // by the_readme_quick_start_answers_as_quoted
                continue;
            }
            match (&block.not_run, block.lang.as_str()) {
                (Some(reason), _) => {
                    faults.extend(cargo_argument_faults(&block, &packages));
                    not_run.push(format!("{}: {reason}", block.place));
                }
                (None, "console") => {
                    ran += 1;
                    if let Err(fault) = run_console(&block) {
                        faults.push(fault);
                    }
                }
                (None, _) => faults.push(format!(
                    "{}: a ```{} block that is neither run (make it ```console with `$ ` \
                     commands and their output) nor marked `<!-- not run: REASON -->` on the line before",
                    block.place, block.lang
                )),
            }
        }
    }
    println!(
        "docs commands: {ran} blocks run; not run ({}):",
        not_run.len()
    );
    for line in &not_run {
        println!("  {line}");
    }
    assert!(faults.is_empty(), "{}", faults.join("\n\n"));
}

/// The intro of the README's quick start, followed by the server command in backquotes.
const QUICK_START: &str = "To try the server alone: `";

/// The README's quick start: the command it gives for the server and the shell block after it.
fn readme_quick_start(readme: &str) -> (String, Block) {
    let start = readme
        .find(QUICK_START)
        .expect("README.md has the quick start (\"To try the server alone\")");
    let server = readme[start + QUICK_START.len()..]
        .split('`')
        .next()
        .expect("the server command")
        .to_owned();
    let intro_line = readme[..start].matches('\n').count() + 1;
    let block = shell_blocks("README.md", readme)
        .into_iter()
        .find(|block| block.line > intro_line)
        .expect("a shell block after the quick start's server command");
    (server, block)
}

/// The status and body a quick-start comment quotes (`# 200 {"success":true,...}`), if it quotes one.
fn quoted_reply(comment: &str) -> Option<(&str, String)> {
    let (status, body) = comment.trim().split_once(' ')?;
    (status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (status, body.replace("...", "[..]")))
}

#[test]
fn the_readme_quick_start_answers_as_quoted() {
    let root = workspace_root();
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md is readable");
    let (server, block) = readme_quick_start(&readme);
    assert_eq!(
        server, "cargo run -p k8s-server",
        "the quick start's server command"
    );
    let (port, metrics_port) = (free_port(), free_port());
    let log = target_dir().join("docs-commands-quick-start.log");
    let mut command = shell(&server);
    command
        .env("PORT", port.to_string())
        .env("METRICS_PORT", metrics_port.to_string());
    let mut child = Supervised::spawn_logged(&mut command, &log).expect("bash starts");
    wait_listening(port, Duration::from_secs(600), || {
        match child.try_wait().expect("the server's status") {
            Some(status) => Err(format!("`{server}` exited ({status})")),
            None => Ok(()),
        }
    })
    .unwrap_or_else(|error| panic!("{error}; log: {}", log.display()));
    for line in block.lines {
        let (command, comment) = line.split_once(" #").unwrap_or((&line, ""));
        let command = command
            .replace("localhost:8080", &format!("localhost:{port}"))
            .replace("localhost:9090", &format!("localhost:{metrics_port}"));
        let output = shell(&command).output().expect("bash runs");
        let stdout = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
        assert!(
            output.status.success() && !stdout.is_empty(),
            "`{command}` failed or printed nothing: {output:?}"
        );
        if let Some((status, body)) = quoted_reply(comment) {
            let status_line = stdout.lines().next().unwrap_or("");
            let body_line = stdout.lines().last().unwrap_or("");
            assert!(
                status_line.starts_with(&format!("HTTP/1.1 {status} ")),
                "`{command}`: the README quotes {status}; got {status_line}"
            );
            assert!(
                line_matches(&body, body_line),
                "`{command}`: the README quotes {body}; got {body_line}"
            );
        }
    }
}

#[test]
fn quoted_output_wildcards_match_what_they_stand_for() {
    assert!(line_matches("a [..] c", "a b b c"));
    assert!(line_matches("[..]", ""));
    assert!(!line_matches("a [..] c", "a b d"));
    assert!(!line_matches("abc", "abcd"));
    let quoted: Vec<String> = ["one", "...", "four"].map(String::from).to_vec();
    assert!(output_matches(&quoted, &["one", "two", "three", "four"]));
    assert!(output_matches(&quoted, &["one", "four"]));
    assert!(!output_matches(&quoted, &["one", "four", "five"]));
}

#[test]
fn the_cold_start_picture_shows_the_committed_medians() {
    let root = workspace_root();
    let bench: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root.join("docs/benchmarks.json")).expect("docs/benchmarks.json"),
    )
    .expect("docs/benchmarks.json is JSON");
    let picture = fs::read_to_string(root.join("docs/pictures/cold-start-vs-ready.svg"))
        .expect("docs/pictures/cold-start-vs-ready.svg");
    for pointer in [
        "/server/start_to_ready_ms_p50",
        "/lambda/rust/init_ms_p50",
        "/lambda/rust/cold_start_ms_p50",
        "/lambda/floor/init_ms_p50",
        "/lambda/floor/cold_start_ms_p50",
    ] {
        let ms = bench
            .pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or_else(|| panic!("docs/benchmarks.json has no {pointer}"));
        let shown = format!("{ms:.1} ms<");
        assert!(
            picture.contains(&shown),
            "the cold-start picture does not show {pointer} = {shown} (redraw it from docs/benchmarks.json)"
        );
    }
}
