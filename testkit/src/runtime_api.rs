//! A minimal local Lambda Runtime API, enough to time a function process: the part of
//! `2018-06-01/runtime` a runtime client uses for invocations.
//!
//! - `GET /2018-06-01/runtime/invocation/next` hands out the next invocation (the event as the body,
//!   `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms` and `-Invoked-Function-Arn` as headers). Once all
//!   planned invocations are handed out it holds the request, as Lambda does between invocations.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` records the answer and when it arrived.
//! - `POST .../{id}/error` and `POST /2018-06-01/runtime/init/error` are recorded as failures.
//! - The part of the Extensions API an internal extension without events needs (`lambda-fn` registers
//!   one for graceful shutdown): `POST /2020-01-01/extension/register` answers with an identifier, and
//!   `GET /2020-01-01/extension/event/next` is held until the measurement is over.
//!
//! With a [`CpuShare`] the process runs in a CPU cgroup as a function runs on Lambda: init on the
//! full core, its invocations at the share of a core its memory size buys. The quota changes when
//! the first `next` arrives (the end of init), before the invocation is handed out.
//!
//! It runs on plain threads (one per connection, HTTP/1.1 keep-alive) so that its own overhead stays
//! a few microseconds even in a debug build. `cargo xtask bench` times `lambda-fn`'s `bootstrap` and
//! the Node.js handler with it ([`run_function`]); a test can run any function process against it
//! the same way, or keep several [`Environment`]s and hand each invocations as Lambda's router
//! would (the decision lab's calibration does).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::cgroup::{self, CpuGroup, QuotaChange, UsageMeter};
use crate::process::{Signal, Supervised};
use crate::procfs;

/// The prefix of every Runtime API path.
const BASE: &str = "/2018-06-01/runtime";

/// The prefix of every Extensions API path.
const EXTENSION: &str = "/2020-01-01/extension";

/// What one function process did.
#[derive(Debug, Clone)]
pub struct ProcessRun {
    /// From spawning the process to its first `next` request: the init phase (Lambda's "Init Duration").
    pub init: Duration,
    /// From spawning the process to receiving the response to its first invocation.
    pub cold_start: Duration,
    /// Each later invocation: from handing out the event to receiving the response.
    pub warm: Vec<Duration>,
    /// Peak resident memory after the last invocation, in MiB.
    pub peak_rss_mib: f64,
    /// Peak resident memory at its first `next` (what init touched), in MiB, where `/proc` had it.
    pub init_peak_rss_mib: Option<f64>,
    /// The first response, as posted (the response event JSON).
    pub first_response: String,
    /// In a CPU group: the CPU time (every thread) of init, and of the first invocation (first
    /// `next` → its response).
    pub cpu: Option<ColdCpu>,
}

/// The CPU time a fresh process used, every thread, as its group counts it.
#[derive(Debug, Clone, Copy)]
pub struct ColdCpu {
    /// From its start to its first `next` request.
    pub init: Duration,
    /// From its first `next` request to its first response.
    pub first_request: Duration,
}

/// State shared by the connection threads and the caller.
#[derive(Default)]
struct State {
    /// Invocations still to hand out.
    remaining: usize,
    /// Next invocation number.
    next_number: usize,
    /// When the first `next` request arrived.
    first_next: Option<Instant>,
    /// The group's CPU time then, and when the first response arrived (in a CPU group).
    first_next_cpu: Option<Duration>,
    first_response_cpu: Option<Duration>,
    /// The function's peak resident memory (VmHWM) at its first `next`, KiB.
    first_next_peak_rss_kib: Option<u64>,
    /// When each handed-out invocation's event was written.
    handed_out: HashMap<String, Instant>,
    /// Responses in arrival order: id, when, body.
    responses: Vec<(String, Instant, String)>,
    /// A posted error, if any.
    error: Option<String>,
    /// Set when the measurement is over: held `next` requests give up.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    event: Vec<u8>,
    /// The invocations' quota, set when the first `next` arrives.
    at_first_next: Option<QuotaChange>,
    /// Reads the group's CPU time (in a CPU group).
    meter: Option<UsageMeter>,
    /// The function's process id, once spawned.
    pid: std::sync::OnceLock<u32>,
}

/// A function's CPU as Lambda gives it: the process runs in `group`, unthrottled during init, then
/// at `invocations` of one core (memory size / 1,769 MB).
pub struct CpuShare<'a> {
    /// The process's own CPU group.
    pub group: &'a CpuGroup,
    /// The share of one core its invocations get.
    pub invocations: f64,
}

/// Starts a Runtime API on `127.0.0.1`, spawns the function with `command` (to which it adds
/// `AWS_LAMBDA_RUNTIME_API`; its output goes to the file `log`), lets it serve `1 + warm` invocations
/// of `event`, and times them. The process is ended when they are answered.
pub fn run_function(
    command: &mut Command,
    log: &Path,
    event: &[u8],
    warm: usize,
) -> Result<ProcessRun> {
    run_function_in(command, log, event, warm, None)
}

/// [`run_function`], the process in `cpu`'s group when given (see [`Environment::start_in`]).
pub fn run_function_in(
    command: &mut Command,
    log: &Path,
    event: &[u8],
    warm: usize,
    cpu: Option<&CpuShare>,
) -> Result<ProcessRun> {
    let mut environment = Environment::start_in(command, log, event, cpu)?;
    environment.invoke(1 + warm);
    environment.wait_answered(1 + warm, Duration::from_secs(60))?;
    let state = environment.shared.state.lock().unwrap();
    let (first_id, first_at, first_response) = state.responses[0].clone();
    let cold_start = first_at.duration_since(environment.started);
    let init = state
        .first_next
        .map_or(cold_start, |at| at.duration_since(environment.started));
    let cpu = match (
        environment.cpu_at_start,
        state.first_next_cpu,
        state.first_response_cpu,
    ) {
        (Some(start), Some(next), Some(response)) => Some(ColdCpu {
            init: next.saturating_sub(start),
            first_request: response.saturating_sub(next),
        }),
        _ => None,
    };
    let warm = state.responses[1..]
        .iter()
        .map(|(id, at, _)| {
            let handed = state.handed_out[id];
            at.duration_since(handed)
        })
        .collect();
    let state_rss = state.first_next_peak_rss_kib;
    drop(state);
    let peak_rss_kib = procfs::peak_rss_kib(environment.function.pid())
        .context("VmHWM missing from /proc/PID/status")?;
    let peak_rss_mib = peak_rss_kib as f64 / 1024.0;
    let init_peak_rss_mib = state_rss.map(|kib| kib as f64 / 1024.0);
    debug_assert!(first_id.ends_with("-0"));
    Ok(ProcessRun {
        init,
        cold_start,
        warm,
        peak_rss_mib,
        init_peak_rss_mib,
        first_response,
        cpu,
    })
}

/// One execution environment: a function process with a Runtime API of its own, handed
/// invocations of one event when asked. The process is ended when the value is dropped.
pub struct Environment {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
    function: Supervised,
    /// When the process was spawned.
    started: Instant,
    /// Its group's CPU time then (in a CPU group).
    cpu_at_start: Option<Duration>,
    name: String,
}

impl Environment {
    /// Starts a Runtime API on `127.0.0.1` with no invocation yet and spawns the function with
    /// `command` (to which it adds `AWS_LAMBDA_RUNTIME_API`; its output goes to the file `log`).
    pub fn start(command: &mut Command, log: &Path, event: &[u8]) -> Result<Environment> {
        Environment::start_in(command, log, event, None)
    }

    /// [`Environment::start`], the process in `cpu`'s group when given: moved in and stopped before
    /// the clock starts, continued with the quota unlimited, switched to the invocations' share at
    /// its first `next`. `command` then gets only the environment set on it (see
    /// [`CpuGroup::stopped_command`]).
    pub fn start_in(
        command: &mut Command,
        log: &Path,
        event: &[u8],
        cpu: Option<&CpuShare>,
    ) -> Result<Environment> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            event: event.to_vec(),
            at_first_next: cpu.map(|cpu| cpu.group.quota_change(Some(cpu.invocations))),
            meter: cpu.map(|cpu| cpu.group.usage_meter()),
            pid: std::sync::OnceLock::new(),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { break };
                    if shared.state.lock().unwrap().closed {
                        break;
                    }
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let _ = serve_connection(&shared, stream);
                    });
                }
            })
        };
        command.env("AWS_LAMBDA_RUNTIME_API", addr.to_string());
        let name = format!("{:?} (output in {})", command.get_program(), log.display());
        let mut in_group = match cpu {
            Some(cpu) => {
                cpu.group.set_share(None).map_err(anyhow::Error::msg)?;
                Some(cpu.group.stopped_command(command))
            }
            None => None,
        };
        let mut started = Instant::now();
        let mut cpu_at_start = None;
        let function = Supervised::spawn_logged(in_group.as_mut().unwrap_or(command), log)
            .with_context(|| format!("cannot start {name}"))?;
        let _ = shared.pid.set(function.pid());
        if in_group.is_some() {
            cgroup::wait_stopped(function.pid(), Duration::from_secs(10))
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{name} did not stop in its cgroup"))?;
            cpu_at_start = Some(shared.read_cpu()?);
            started = Instant::now();
            function.signal(Signal::CONT);
        }
        Ok(Environment {
            addr,
            shared,
            acceptor: Some(acceptor),
            function,
            started,
            cpu_at_start,
            name,
        })
    }

    /// Queues `count` more invocations: the function's held `next` request gets the first at once.
    pub fn invoke(&self, count: usize) {
        self.shared.state.lock().unwrap().remaining += count;
        self.shared.changed.notify_all();
    }

    /// Waits until `total` invocations in all are answered, failing if the function reports an
    /// error, exits, or has not answered within `limit` of its start.
    pub fn wait_answered(&mut self, total: usize, limit: Duration) -> Result<()> {
        let name = &self.name;
        let mut state = self.shared.state.lock().unwrap();
        while state.responses.len() < total && state.error.is_none() {
            let (next, timeout) = self
                .shared
                .changed
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap();
            state = next;
            if timeout.timed_out() {
                drop(state);
                if let Some(status) = self.function.try_wait()? {
                    bail!("{name} exited ({status})");
                }
                if self.started.elapsed() > limit {
                    bail!("{name} did not answer {total} invocations within {limit:?}");
                }
                state = self.shared.state.lock().unwrap();
            }
        }
        if let Some(error) = &state.error {
            bail!("{name} reported an error: {error}");
        }
        Ok(())
    }

    /// The last response: when it arrived and its body (the response event JSON).
    pub fn last_response(&self) -> Option<(Instant, String)> {
        let state = self.shared.state.lock().unwrap();
        (state.responses.last()).map(|(_, at, body)| (*at, body.clone()))
    }
}

impl Drop for Environment {
    /// Releases held `next` requests and the acceptor (a last connection wakes it); the function
    /// process ends with its [`Supervised`] handle.
    fn drop(&mut self) {
        self.shared.state.lock().unwrap().closed = true;
        self.shared.changed.notify_all();
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// One request as this server needs it.
struct Request {
    method: String,
    path: String,
    body: String,
}

/// Serves requests on one keep-alive connection until the client closes it.
fn serve_connection(shared: &Shared, stream: TcpStream) -> Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader)? {
        let path = request.path.split('?').next().unwrap_or_default();
        if request.method == "GET" && path == format!("{BASE}/invocation/next") {
            let arrived = Instant::now();
            let first = {
                let mut state = shared.state.lock().unwrap();
                let first = state.first_next.is_none();
                state.first_next.get_or_insert(arrived);
                if first {
                    state.first_next_cpu = shared.read_cpu().ok();
                    state.first_next_peak_rss_kib =
                        (shared.pid.get()).and_then(|pid| procfs::peak_rss_kib(*pid));
                }
                first
            };
            // Init is over: the invocations' CPU share from now on.
            if let (true, Some(change)) = (first, &shared.at_first_next)
                && let Err(err) = change.apply()
            {
                shared.state.lock().unwrap().error = Some(err);
                shared.changed.notify_all();
                return Ok(());
            }
            let Some(id) = wait_for_invocation(shared) else {
                return Ok(());
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)?
                .as_millis()
                .saturating_add(30_000);
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n"
            );
            // Recorded before writing: the answer may come back on another connection.
            let sent = Instant::now();
            shared.state.lock().unwrap().handed_out.insert(id, sent);
            write_response(&mut writer, "200 OK", &headers, &shared.event)?;
        } else if request.method == "POST" && path == format!("{EXTENSION}/register") {
            let body =
                br#"{"functionName":"bench","functionVersion":"$LATEST","handler":"bootstrap"}"#;
            let headers = "Lambda-Extension-Identifier: bench-extension\r\n";
            write_response(&mut writer, "200 OK", headers, body)?;
        } else if request.method == "GET" && path == format!("{EXTENSION}/event/next") {
            // An extension subscribed to no events waits here until the environment goes away.
            wait_until_closed(shared);
            return Ok(());
        } else if request.method == "POST" {
            let received = Instant::now();
            let outcome = path
                .strip_prefix(&format!("{BASE}/invocation/"))
                .and_then(|rest| rest.rsplit_once('/'));
            let mut state = shared.state.lock().unwrap();
            match outcome {
                Some((id, "response")) => {
                    if state.responses.is_empty() {
                        state.first_response_cpu = shared.read_cpu().ok();
                    }
                    state
                        .responses
                        .push((id.to_owned(), received, request.body));
                }
                _ => state.error = Some(format!("POST {path}: {}", request.body)),
            }
            drop(state);
            shared.changed.notify_all();
            write_response(&mut writer, "202 Accepted", "", br#"{"status":"OK"}"#)?;
        } else {
            write_response(&mut writer, "404 Not Found", "", b"{}")?;
        }
    }
    Ok(())
}

impl Shared {
    /// The group's CPU time so far (zero outside a CPU group).
    fn read_cpu(&self) -> Result<Duration> {
        match &self.meter {
            Some(meter) => meter.read().map_err(anyhow::Error::msg),
            None => Ok(Duration::ZERO),
        }
    }
}

/// Takes the next invocation id, holding the caller while none is left; `None` once closed.
fn wait_for_invocation(shared: &Shared) -> Option<String> {
    let mut state = shared.state.lock().unwrap();
    loop {
        if state.closed {
            return None;
        }
        if state.remaining > 0 {
            state.remaining -= 1;
            let number = state.next_number;
            state.next_number += 1;
            return Some(format!("bench-{number}"));
        }
        state = shared.changed.wait(state).unwrap();
    }
}

/// Holds the caller until the measurement is over.
fn wait_until_closed(shared: &Shared) {
    let mut state = shared.state.lock().unwrap();
    while !state.closed {
        state = shared.changed.wait(state).unwrap();
    }
}

/// Reads one HTTP/1.1 request (`Content-Length` or chunked body); `None` at end of stream.
fn read_request(reader: &mut impl BufRead) -> Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        bail!("malformed request line: {line:?}");
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').context("malformed header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

fn write_response(
    writer: &mut impl Write,
    status: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    );
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    writer.write_all(&message)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CpuGroup;

    #[test]
    fn requests_with_either_body_framing_are_read() {
        let raw = "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi\
                   POST /b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut reader = BufReader::new(raw.as_bytes());
        let first = read_request(&mut reader).unwrap().unwrap();
        assert_eq!((first.method.as_str(), first.path.as_str()), ("POST", "/a"));
        assert_eq!(first.body, "hi");
        let second = read_request(&mut reader).unwrap().unwrap();
        assert_eq!(
            (second.path.as_str(), second.body.as_str()),
            ("/b", "abcde")
        );
        assert!(read_request(&mut reader).unwrap().is_none());
    }

    #[test]
    fn a_process_that_answers_every_invocation_is_timed() {
        // GIVEN a "function" in Python that registers an extension (as lambda-fn does for graceful
        // shutdown), waits for its events on a second connection, touches 32 MiB during init and
        // 64 MiB more in its invocations, and runs the runtime loop twice
        let script = r#"
import http.client, json, os, threading
ballast = [b"i" * (32 << 20)]
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
conn = http.client.HTTPConnection(api)
conn.request("POST", "/2020-01-01/extension/register", body=b'{"events":[]}',
             headers={"Lambda-Extension-Name": "test"})
registered = conn.getresponse()
assert registered.status == 200, registered.status
assert json.loads(registered.read())["functionName"]
extension_id = registered.getheader("Lambda-Extension-Identifier")
def extension():
    events = http.client.HTTPConnection(api)
    events.request("GET", "/2020-01-01/extension/event/next",
                   headers={"Lambda-Extension-Identifier": extension_id})
    events.getresponse()
threading.Thread(target=extension, daemon=True).start()
for _ in range(2):
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    reply = conn.getresponse()
    event = reply.read()
    rid = reply.getheader("Lambda-Runtime-Aws-Request-Id")
    ballast.append(b"r" * (32 << 20))
    conn.request("POST", f"/2018-06-01/runtime/invocation/{rid}/response", body=b'{"statusCode":200}')
    conn.getresponse().read()
conn.request("GET", "/2018-06-01/runtime/invocation/next")
conn.getresponse()
"#;
        let mut command = Command::new("python3");
        command.args(["-c", script]);
        let log = std::env::temp_dir().join(format!("runtime-api-test-{}.log", std::process::id()));
        // WHEN it runs against the Runtime API
        let run = run_function(&mut command, &log, b"{}", 1).unwrap();
        std::fs::remove_file(&log).ok();
        // THEN both invocations are answered and timed
        assert_eq!(run.first_response, r#"{"statusCode":200}"#);
        assert_eq!(run.warm.len(), 1);
        assert!(run.cold_start >= run.init && run.init > Duration::ZERO);
        // AND the memory init touched is told apart from the peak after the invocations
        let init_rss = run.init_peak_rss_mib.expect("VmHWM read at the first next");
        assert!(
            (32.0..run.peak_rss_mib - 60.0).contains(&init_rss),
            "init {init_rss} MiB, after the invocations {} MiB",
            run.peak_rss_mib
        );
    }

    #[test]
    fn invocations_run_at_the_cpu_share_and_init_on_the_full_core() {
        // GIVEN a function that spins for 300 ms of wall time during init and again in its
        // invocation, and answers with the CPU time it got in each
        let script = r#"
import http.client, json, os, time
def spin(seconds):
    cpu, end = time.process_time(), time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return time.process_time() - cpu
init = spin(0.3)
conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
conn.request("GET", "/2018-06-01/runtime/invocation/next")
reply = conn.getresponse()
reply.read()
rid = reply.getheader("Lambda-Runtime-Aws-Request-Id")
body = json.dumps({"init": init, "invocation": spin(0.3)})
conn.request("POST", f"/2018-06-01/runtime/invocation/{rid}/response", body=body)
conn.getresponse().read()
"#;
        let group = CpuGroup::create("coldstart-test", Duration::from_millis(20))
            .unwrap_or_else(|err| panic!("{err}"));
        let mut command = Command::new("python3");
        command.args(["-c", script]);
        let log = std::env::temp_dir().join(format!("runtime-api-cpu-{}.log", std::process::id()));

        // WHEN it runs in a CPU group at 5% of a core for its invocations
        let share = CpuShare {
            group: &group,
            invocations: 0.05,
        };
        let run = run_function_in(&mut command, &log, b"{}", 0, Some(&share)).unwrap();
        std::fs::remove_file(&log).ok();

        // THEN the invocation got about 5% of its 300 ms (one 1 ms quota per 20 ms period, and one
        // period of slack), and init far more: the quota changed at the first `next`
        let cpu: serde_json::Value = serde_json::from_str(&run.first_response).unwrap();
        let (init, invocation) = (
            cpu["init"].as_f64().unwrap(),
            cpu["invocation"].as_f64().unwrap(),
        );
        assert!(
            invocation < 0.03,
            "the invocation got {invocation} s of CPU"
        );
        assert!(
            init > 0.1 && init > 4.0 * invocation,
            "init got {init} s of CPU"
        );
        assert!(group.throttled_periods() > 0);
        // AND the run counts the same CPU time as the process did, from its group
        let counted = run.cpu.expect("CPU time counted in a CPU group");
        let (counted_init, counted_invocation) = (
            counted.init.as_secs_f64(),
            counted.first_request.as_secs_f64(),
        );
        assert!(
            counted_init >= 0.9 * init && counted_init < init + 0.2,
            "counted {counted_init} s of init, the process {init} s"
        );
        assert!(
            counted_invocation >= 0.9 * invocation && counted_invocation < invocation + 0.02,
            "counted {counted_invocation} s of invocation, the process {invocation} s"
        );
    }
}
