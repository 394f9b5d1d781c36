//! Parity: every front door answers every case of the contract table (`testkit::contract::CASES`) with
//! the same status, body and contract headers.

use app_core::service::UserService;
use testkit::contract::{CASES, contract_violations, parity_violation, request_id_violations};
use testkit::lambda::{self, EventSource};
use testkit::server::TestServer;

use super::{dynamodb_service, memory_service};

/// The invocation id the Lambda tests give each event.
const INVOCATION_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

#[tokio::test]
async fn every_front_door_answers_alike_on_the_embedded_store() {
    check_parity("memory", memory_service()).await;
}

#[tokio::test]
async fn every_front_door_answers_alike_on_dynamodb() {
    check_parity("dynamodb", dynamodb_service().await).await;
}

async fn check_parity(store: &str, service: UserService) {
    let server = TestServer::spawn(service.clone()).await;
    let mut failures = Vec::new();
    let mut checks = 0;
    for case in CASES {
        let on_server = server.send(case.method, case.target, case.headers).await;
        checks += 1;
        failures.extend(contract_violations(case, &on_server, "server"));
        for source in EventSource::ALL {
            let event = source.event(case.method, case.target, case.headers);
            let on_lambda = lambda::invoke(service.clone(), &event, INVOCATION_ID).await;
            checks += 1;
            failures.extend(parity_violation(
                case,
                &on_server,
                &on_lambda,
                source.name(),
            ));
            failures.extend(request_id_violations(
                case,
                &on_lambda,
                source.name(),
                Some(INVOCATION_ID),
            ));
        }
    }
    println!(
        "parity on the {store} store: {checks} answers from 6 front doors to {} cases",
        CASES.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checks} answers break parity:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
