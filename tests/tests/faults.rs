//! Faults, against real processes: the DynamoDB emulator (moto) taken away (killed, or frozen so that
//! it hangs) while `k8s-server` is under load, then brought back. Every request must get 503
//! `STORE_UNAVAILABLE` within the store timeout while it is away (never a hang, a 500 or a dropped
//! connection), and 200 again within 2 seconds of it coming back, with no restart of the service. The
//! Lambda front door answers the same 503 as an HTTP response instead of failing the invocation.
//!
//! moto keeps its tables in memory: a killed moto comes back empty, where DynamoDB would still hold
//! the table. The test reseeds it, and counts the store as back once it is reseeded. A request that
//! reaches the restarted moto before its table is back gets what a missing table gets (500 INTERNAL),
//! or, once the table exists but before the user is written, 404 USER_NOT_FOUND: those two, and only
//! in that moment, are allowed, as artefacts of the emulator (see `testkit::moto`).

use std::sync::Arc;
use std::time::Duration;

use app_core::service::UserService;
use app_core::store::dynamodb::DynamoDbStore;
use testkit::lambda::{self, EventSource};
use testkit::load::{Load, Sample};
use testkit::moto::Moto;
use testkit::ports::free_port;
use testkit::server::TestServer;

/// The store timeout under test.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Scheduling slack on a small, busy machine (moto starting takes a core for a second or two).
const SLACK: Duration = Duration::from_millis(700);
/// How soon after the database is back the service must answer 200 again.
const RECOVERY: Duration = Duration::from_secs(2);
/// Text that would reveal internals if it reached a response.
const INTERNALS: &[&str] = &[
    "127.0.0.1",
    "dispatch",
    "timeout",
    "GetItem",
    "Connection",
    "faults-",
];

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The database process is killed: connections are refused (and, with moto, its tables are gone).
    Stopped,
    /// The database process is frozen: connections hang.
    Hung,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_is_503_within_the_timeout_and_recovery_needs_no_restart() {
    outage(Fault::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_database_is_503_within_the_timeout_and_recovery_needs_no_restart() {
    outage(Fault::Hung).await;
}

async fn outage(fault: Fault) {
    // GIVEN k8s-server on a moto of its own holding the sample users, under load
    let moto = Moto::launch(free_port()).unwrap_or_else(|err| panic!("{err}"));
    let table = moto.sample_table("faults").await;
    let store = DynamoDbStore::from_sdk_config(&moto.sdk_config(TIMEOUT).await, table.as_str());
    let service = UserService::new(Arc::new(store));
    let server = TestServer::spawn(service.clone()).await;
    let load = Load::start(server.addr(), 6, "/users/u-1");
    tokio::time::sleep(Duration::from_secs(1)).await;

    // WHEN the database goes away for two seconds
    let down = load.elapsed();
    // (`block_in_place`: killing waits for moto to be reaped, which must not stall the runtime's worker.)
    tokio::task::block_in_place(|| match fault {
        Fault::Stopped => moto.kill(),
        Fault::Hung => moto.pause(),
    });
    let away = load.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let event = EventSource::HttpApiDefault.event("GET", "/users/u-1", &[]);
    let on_lambda = lambda::invoke(service.clone(), &event, "fault-invocation").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // AND comes back (a restarted moto is empty: its table is reseeded, as DynamoDB would still hold it)
    let back_from = load.elapsed();
    match fault {
        Fault::Stopped => {
            tokio::task::block_in_place(|| moto.start()).unwrap_or_else(|err| panic!("{err}"));
            moto.seed_sample(&table)
                .await
                .unwrap_or_else(|err| panic!("{err}"));
        }
        Fault::Hung => moto.resume(),
    }
    let back = load.elapsed();
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let samples = load.finish().await;
    drop(moto);

    // THEN
    let report = Report::new(&samples, fault, down, away, back_from, back);
    println!("faults: {fault:?}: {report}");
    report.assert_ok();
    assert_eq!(
        on_lambda.status, 503,
        "lambda during the outage: {on_lambda:?}"
    );
    assert_eq!(on_lambda.error_code().as_deref(), Some("STORE_UNAVAILABLE"));
}

/// What the load saw, by phase.
struct Report<'a> {
    samples: &'a [Sample],
    problems: Vec<String>,
    before_ok: usize,
    during_503: usize,
    while_reseeding: usize,
    recovered_after: Option<Duration>,
}

impl<'a> Report<'a> {
    fn new(
        samples: &'a [Sample],
        fault: Fault,
        down: Duration,
        away: Duration,
        back_from: Duration,
        back: Duration,
    ) -> Self {
        let mut problems = Vec::new();
        let mut while_reseeding = 0;
        for sample in samples {
            let late = sample.latency > TIMEOUT + SLACK;
            // Reached a restarted moto still being reseeded: a missing table or a missing user.
            let reseeding = matches!(fault, Fault::Stopped)
                && sample.sent < back
                && sample.answered() >= back_from;
            match &sample.reply {
                Err(err) => problems.push(format!("no answer at {:?}: {err}", sample.sent)),
                Ok(reply) if reseeding && matches!(reply.status, 404 | 500) => {
                    while_reseeding += 1;
                    if !matches!(
                        (reply.status, reply.error_code().as_deref()),
                        (404, Some("USER_NOT_FOUND")) | (500, Some("INTERNAL"))
                    ) {
                        problems.push(format!("while reseeding: {reply:?}"));
                    }
                }
                Ok(reply) => {
                    if !matches!(reply.status, 200 | 503) {
                        problems.push(format!(
                            "status {} at {:?}: {}",
                            reply.status, sample.sent, reply.body
                        ));
                    }
                    if reply.status == 503
                        && (reply.error_code().as_deref() != Some("STORE_UNAVAILABLE")
                            || reply.header("retry-after").is_none())
                    {
                        problems.push(format!(
                            "a 503 without STORE_UNAVAILABLE and Retry-After: {reply:?}"
                        ));
                    }
                    if let Some(leak) = INTERNALS.iter().find(|text| reply.body.contains(*text)) {
                        problems.push(format!("response reveals {leak:?}: {}", reply.body));
                    }
                }
            }
            if late {
                problems.push(format!(
                    "took {:?} (timeout {TIMEOUT:?}) at {:?}",
                    sample.latency, sample.sent
                ));
            }
        }
        // Sent once the database was gone and answered before it was back: nothing else than 503.
        let during: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.sent >= away && s.answered() <= back_from)
            .collect();
        let during_503 = during.iter().filter(|s| s.status() == 503).count();
        if during.is_empty() {
            problems.push("no request was answered during the outage".into());
        }
        if during_503 != during.len() {
            problems.push(format!(
                "{} of {} requests during the outage were not 503",
                during.len() - during_503,
                during.len()
            ));
        }
        let before_ok = samples
            .iter()
            .filter(|s| s.answered() < down && s.status() == 200)
            .count();
        if before_ok == 0 {
            problems.push("no 200 before the outage".into());
        }
        let recovered_after = samples
            .iter()
            .filter(|s| s.sent >= back && s.status() == 200)
            .map(|s| s.answered() - back)
            .min();
        match recovered_after {
            Some(after) if after <= RECOVERY => {}
            other => problems.push(format!(
                "first 200 after the database came back: {other:?} (limit {RECOVERY:?})"
            )),
        }
        Report {
            samples,
            problems,
            before_ok,
            during_503,
            while_reseeding,
            recovered_after,
        }
    }

    fn assert_ok(&self) {
        assert!(
            self.problems.is_empty(),
            "{} problems:\n{}",
            self.problems.len(),
            self.problems.join("\n")
        );
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slowest = self
            .samples
            .iter()
            .map(|s| s.latency)
            .max()
            .unwrap_or_default();
        write!(
            f,
            "{} requests: {} answered 200 before the outage, {} answered 503 during it, {} answered 404 or 500 while the emulator was reseeded, first 200 {:?} after recovery, slowest {:?}; {} problems",
            self.samples.len(),
            self.before_ok,
            self.during_503,
            self.while_reseeding,
            self.recovered_after,
            slowest,
            self.problems.len()
        )
    }
}
