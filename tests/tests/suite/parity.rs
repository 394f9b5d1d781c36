//! Parity: every front door answers every case of the contract table (`testkit::contract::CASES`) with
//! the same status, body and contract headers; and, with `AUTH=jwt`, every authentication case
//! (`testkit::contract::auth`) alike.

use app_core::http::AppState;
use testkit::contract::auth::{self, published_keys};
use testkit::contract::{
    CASES, Case, contract_violations, parity_violation, request_id_violations,
};
use testkit::idp::JwksServer;
use testkit::lambda::{self, EventSource};
use testkit::server::{TestServer, jwt_access};

use super::{dynamodb_service, memory_service};

/// The invocation id the Lambda tests give each event.
const INVOCATION_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

#[tokio::test]
async fn every_front_door_answers_alike_on_the_embedded_store() {
    let mut parity = Parity::new(memory_service()).await;
    for case in CASES {
        parity.check(case, case.headers).await;
    }
    parity.assert_none_differ("the embedded store", CASES.len());
}

#[tokio::test]
async fn every_front_door_answers_alike_on_dynamodb() {
    let mut parity = Parity::new(dynamodb_service().await).await;
    for case in CASES {
        parity.check(case, case.headers).await;
    }
    parity.assert_none_differ("the DynamoDB store", CASES.len());
}

#[tokio::test]
async fn every_front_door_makes_the_same_authentication_decision() {
    // GIVEN both targets with AUTH=jwt, read from the environment a process would get, against a
    // provider whose JWKS is served on loopback
    let idp = JwksServer::start(&published_keys()).await;
    let service = AppState::new(memory_service(), jwt_access(&idp.url()));
    let mut parity = Parity::new(service).await;

    // WHEN every authentication case goes to the server and through the five event sources
    let cases = auth::cases();
    for auth_case in &cases {
        parity.check(&auth_case.case, &auth_case.headers()).await;
    }

    // THEN every answer is the contract's, the same everywhere; one key fetch served them all
    parity.assert_none_differ("AUTH=jwt", cases.len());
    assert_eq!(idp.fetches(), 1);
}

/// One service behind the server (over TCP) and `lambda-fn`'s handler, and what differed.
struct Parity {
    service: AppState,
    server: TestServer,
    failures: Vec<String>,
    answers: usize,
}

impl Parity {
    async fn new(service: impl Into<AppState>) -> Self {
        let service = service.into();
        Self {
            server: TestServer::spawn(service.clone()).await,
            service,
            failures: Vec::new(),
            answers: 0,
        }
    }

    /// Sends `case` with `headers` to the server and through every event source: the server's answer
    /// must be the contract's, every other the server's.
    async fn check(&mut self, case: &Case, headers: &[(&str, &str)]) {
        let on_server = self.server.send(case.method, case.target, headers).await;
        self.answers += 1;
        self.failures
            .extend(contract_violations(case, &on_server, "server"));
        for source in EventSource::ALL {
            let event = source.event(case.method, case.target, headers);
            let on_lambda = lambda::invoke(self.service.clone(), &event, INVOCATION_ID).await;
            self.answers += 1;
            self.failures.extend(parity_violation(
                case,
                &on_server,
                &on_lambda,
                source.name(),
            ));
            self.failures.extend(request_id_violations(
                case,
                &on_lambda,
                source.name(),
                Some(INVOCATION_ID),
            ));
        }
    }

    fn assert_none_differ(&self, what: &str, cases: usize) {
        println!(
            "parity with {what}: {} answers from 6 front doors to {cases} cases",
            self.answers
        );
        assert!(
            self.failures.is_empty(),
            "{} of {} answers break parity:\n{}",
            self.failures.len(),
            self.answers,
            self.failures.join("\n")
        );
    }
}
