//! `lambda-fn`: the user-lookup service as an AWS Lambda function, the one crate that knows
//! `lambda_http` and `lambda_runtime`. Its front door serves the same `app-core` contract as the server,
//! fed by `lambda_http`.
//!
//! `lambda_http` turns API Gateway (REST and HTTP API), Function URL and ALB events into
//! `http::Request`s. Two things differ from a request on a socket, and are fixed here before the
//! contract sees the request:
//! - API Gateway puts a named stage in front of the path (`/prod/users/u-1`): it is removed.
//! - The request id: a sane `x-request-id` from the caller is kept, otherwise the invocation's
//!   request id (the one in the Lambda logs and metrics) is used.
//!
//! Metrics leave as CloudWatch Embedded Metric Format lines in the log (see [`emf`]).
//!
//! The crate's second binary, `import-fn`, is the user import for S3 event notifications: its front
//! door is [`import`].

use std::future::ready;
use std::task::{Context as TaskContext, Poll};

use app_core::http::InvocationTrace;
use app_core::http::{
    AppState, Contract, X_REQUEST_ID, callers_request_id, is_sane_request_id, refusal, router,
};
use app_core::startup::{self, StartupError};
use app_core::telemetry::traces;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderValue, Uri};
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Adapter, BoxFuture, IntoResponse, LambdaEvent, Request, RequestExt, Service};
use serde_json::Value;
use tower::ServiceBuilder;
use tower::util::{MapRequest, MapResponse};

pub use crate::answer::Answer;

mod answer;
mod emf;
mod event_check;
pub mod import;
mod safe_event;
pub mod transport;

/// The service `lambda_http` runs over [`Handler`]: the event made safe (see `safe_event`), converted
/// into a request, answered, and encoded into the event source's response format, the body as `R`
/// encodes it.
type HttpAdapter<R> = MapRequest<
    Adapter<'static, R, Answering<R>>,
    fn(LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest>,
>;

/// [`Handler`] with its responses taken as `R`, which `lambda_http` encodes.
type Answering<R> = MapResponse<Handler, fn(Response) -> R>;

/// The response event `lambda_http` posts back (its type is not exported under a name).
type ResponseEvent = <HttpAdapter<Answer> as Service<LambdaEvent<LambdaRequest>>>::Response;

/// The adapter over [`refusal_handler`]: the answer to an event refused by `event_check`, in the
/// event source's format.
type RefusalAdapter<R> = Adapter<'static, R, Answering<R>>;

/// The runtime's view of the function: an event in (as the JSON the runtime received), the event
/// source's response out. An event `lambda_http` cannot read is an invocation error, as it was when
/// the runtime read it. `R` is the response as `lambda_http` encodes it: an [`Answer`].
#[derive(Clone)]
pub struct EventHandler<R: 'static = Answer> {
    http: HttpAdapter<R>,
    refusal: RefusalAdapter<R>,
}

impl<R: IntoResponse + Send + 'static> Service<LambdaEvent<Value>> for EventHandler<R> {
    type Response = ResponseEvent;
    type Error = lambda_http::Error;
    type Future = BoxFuture<'static, Result<ResponseEvent, lambda_http::Error>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        // Both adapters wrap services that are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<Value>) -> Self::Future {
        let LambdaEvent { payload, context } = event;
        let refused = event_check::must_refuse(&payload);
        let payload = if refused {
            event_check::strip(payload)
        } else {
            payload
        };
        let request = match serde_json::from_value::<LambdaRequest>(payload) {
            Ok(request) => LambdaEvent::new(request, context),
            Err(err) => return Box::pin(ready(Err(err.into()))),
        };
        let answer = if refused {
            self.refusal.call(safe_event(request))
        } else {
            self.http.call(request)
        };
        Box::pin(async move {
            let answered = answer.await.map_err(|never| match never {});
            // The invocation's spans leave before its response is posted: the environment may
            // freeze right after (bounded by the export timeout when the collector hangs).
            traces::flush().await;
            answered
        })
    }
}

/// Starts the function from the environment (during Lambda's init phase, the store's connection
/// too when `STORE_CONNECT_AT_INIT=true`: see [`startup::init_connected`]) and serves invocations
/// until the runtime stops it.
pub async fn run() -> Result<(), StartupError> {
    let service = startup::init_connected(transport::transport()).await?;
    serve(service).await.map_err(StartupError::runtime)
}

/// Runs the Lambda runtime loop until the runtime stops it: [`event_handler`] under
/// `lambda_runtime`, which is what `lambda_http::run` does, plus the event check first.
///
/// No extension is registered, so Lambda sends no SIGTERM: there is nothing to do at shutdown, since
/// each invocation writes its metrics (EMF) and log lines before its response is posted.
pub async fn serve(service: impl Into<AppState>) -> Result<(), lambda_http::Error> {
    lambda_runtime::run(event_handler(service)).await
}

/// What the runtime invokes: an event that breaks the request limits or carries a body that is not
/// base64 is answered `400 BAD_REQUEST` (see `event_check`); any other is made safe for `lambda_http`'s
/// conversion (see `safe_event`), converted by `lambda_http` into a request, answered by [`handler`],
/// and encoded into the event source's response format, the body by [`Answer`].
pub fn event_handler(service: impl Into<AppState>) -> EventHandler {
    event_handler_encoding(service, Answer::from)
}

/// [`event_handler`] with the response handed to `lambda_http` as `encode` makes it: with
/// `std::convert::identity`, `lambda_http` encodes the body its own (generic) way, which the tests
/// compare [`Answer`] with.
pub fn event_handler_encoding<R: IntoResponse + Send + 'static>(
    service: impl Into<AppState>,
    encode: fn(Response) -> R,
) -> EventHandler<R> {
    let answering = |handler| ServiceBuilder::new().map_response(encode).service(handler);
    EventHandler {
        http: ServiceBuilder::new()
            .map_request(safe_event as fn(_) -> _)
            .service(Adapter::from(answering(handler(service)))),
        refusal: Adapter::from(answering(refusal_handler())),
    }
}

fn safe_event(event: LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest> {
    LambdaEvent::new(safe_event::make_safe(event.payload), event.context)
}

/// The contract as an HTTP service, for requests `lambda_http` made from events.
pub type Handler =
    MapResponse<MapRequest<Contract, fn(Request) -> Request>, fn(Response) -> Response>;

type Response = axum::response::Response;

/// Builds the Lambda handler over `service`: `app_core::http::router` behind the event adaptation. It
/// installs the EMF metrics recorder, and writes each invocation's metrics to the log as it answers.
pub fn handler(service: impl Into<AppState>) -> Handler {
    adapted(router(service))
}

/// The handler for refused events: `app_core::http::refusal` (every request `400 BAD_REQUEST`,
/// with the contract's headers) behind the same event adaptation, so the answer carries the
/// invocation's request id and its metrics like any other.
fn refusal_handler() -> Handler {
    adapted(refusal())
}

/// `contract` behind the event adaptation, with the EMF recorder installed.
fn adapted(contract: Contract) -> Handler {
    emf::install();
    ServiceBuilder::new()
        .map_response(flush_metrics as fn(Response) -> Response)
        .map_request(adapt as fn(Request) -> Request)
        .service(contract)
}

/// Writes the invocation's metrics (EMF) to the log, then hands the response back.
fn flush_metrics(response: Response) -> Response {
    emf::flush();
    response
}

/// Makes a request from an event look like the same request made to the server.
fn adapt(mut req: Request) -> Request {
    strip_stage(&mut req);
    use_invocation_request_id(&mut req);
    use_invocation_trace(&mut req);
    req
}

/// The invocation's X-Ray trace header, from the runtime's context (the `Lambda-Runtime-Trace-Id`
/// of the invocation), for the contract's span: its parent when no `traceparent` came.
fn use_invocation_trace(req: &mut Request) {
    let trace = req
        .lambda_context_ref()
        .and_then(|ctx| InvocationTrace::from_context(ctx.xray_trace_id.as_deref()));
    if let Some(trace) = trace {
        req.extensions_mut().insert(trace);
    }
}

/// The API Gateway stage, if the event came through a named one (not `$default`).
fn named_stage(req: &Request) -> Option<&str> {
    let stage = match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.stage.as_deref(),
        RequestContext::ApiGatewayV2(ctx) => ctx.stage.as_deref(),
        _ => None,
    };
    stage.filter(|stage| !stage.is_empty() && *stage != "$default")
}

/// `/prod/users/u-1` → `/users/u-1` when the event came through stage `prod`.
fn strip_stage(req: &mut Request) {
    let Some(stage) = named_stage(req) else {
        return;
    };
    let uri = req.uri();
    let Some(rest) = uri
        .path()
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    else {
        return;
    };
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) else {
        return;
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
}

/// The contract's rule for the caller's id (sane, and sent once), with the invocation's id in place
/// of a fresh one.
fn use_invocation_request_id(req: &mut Request) {
    if callers_request_id(req.headers()).is_some() {
        return;
    }
    let invocation_id = req
        .lambda_context_ref()
        .and_then(|ctx| HeaderValue::from_str(&ctx.request_id).ok())
        .filter(is_sane_request_id);
    if let Some(id) = invocation_id {
        req.headers_mut().insert(X_REQUEST_ID, id);
    }
}
