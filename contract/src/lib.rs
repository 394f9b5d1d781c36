//! The contract as data: one table of requests and what each must get, and the checks every front door's
//! reply goes through. The parity suite, the end-to-end test under `cargo lambda watch` and
//! `cargo xtask demo` all use this one table. The authentication cases (`AUTH=jwt`, tokens minted at
//! run time) are in [`auth`]. Beside them, test support with no workspace dependency: the identity
//! provider ([`idp`]), an HTTPS client ([`https`]) and log lines read back ([`logs`]).

pub mod auth;
pub mod https;
pub mod idp;
pub mod logs;
pub mod reply;

use crate::reply::Reply;

/// One request and what the contract says it gets.
#[derive(Debug)]
pub struct Case {
    /// A short description, for reports.
    pub name: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// Path and query, exactly as the client sends them.
    pub target: &'static str,
    /// Request headers.
    pub headers: &'static [(&'static str, &'static str)],
    /// The status the contract fixes.
    pub status: u16,
    /// The error code, for error answers.
    pub code: Option<&'static str>,
    /// The `WWW-Authenticate` challenge, for the answers that refuse credentials.
    pub challenge: Option<&'static str>,
}

const fn case(
    name: &'static str,
    method: &'static str,
    target: &'static str,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        name,
        method,
        target,
        headers: &[],
        status,
        code,
        challenge: None,
    }
}

const INVALID: Option<&str> = Some("INVALID_USER_ID");
const BAD_REQUEST: Option<&str> = Some("BAD_REQUEST");

/// In a case's headers: the request goes without a `Host` header. A client sends its own `Host` (the
/// server's address; in an event, the fixture's) unless the case's headers name `host`: then those
/// are the request's `Host` headers, and this pair stands for none.
pub const NO_HOST: (&str, &str) = ("host", "(no Host header)");

/// Every case, sent to every front door by the parity suite and the end-to-end Lambda test.
pub const CASES: &[Case] = &[
    case("found", "GET", "/users/u-1", 200, None),
    case("found (another user)", "GET", "/users/u-3", 200, None),
    case("found, HEAD", "HEAD", "/users/u-1", 200, None),
    case(
        "not found",
        "GET",
        "/users/nope",
        404,
        Some("USER_NOT_FOUND"),
    ),
    case(
        "id of 64 characters (not found)",
        "GET",
        "/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        404,
        Some("USER_NOT_FOUND"),
    ),
    case(
        "id of 65 characters",
        "GET",
        "/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        400,
        INVALID,
    ),
    case("id with a space", "GET", "/users/a%20b", 400, INVALID),
    case(
        "id with an encoded slash",
        "GET",
        "/users/a%2Fb",
        400,
        INVALID,
    ),
    case("id with a dot", "GET", "/users/u.1", 400, INVALID),
    case("id with a NUL", "GET", "/users/a%00b", 400, INVALID),
    case(
        "id with a control character",
        "GET",
        "/users/a%0Ab",
        400,
        INVALID,
    ),
    case(
        "id with non-ASCII letters",
        "GET",
        "/users/%C3%A9t%C3%A9",
        400,
        INVALID,
    ),
    case("id that is not UTF-8", "GET", "/users/%FF%FE", 400, INVALID),
    case(
        "id with invalid percent-encoding",
        "GET",
        "/users/%zz",
        400,
        INVALID,
    ),
    case("percent-encoded valid id", "GET", "/users/u%2D1", 200, None),
    case(
        "query string ignored",
        "GET",
        "/users/u-1?fields=name&debug=true",
        200,
        None,
    ),
    case("unknown path", "GET", "/nope", 404, Some("NOT_FOUND")),
    case("root path", "GET", "/", 404, Some("NOT_FOUND")),
    case("collection path", "GET", "/users", 404, Some("NOT_FOUND")),
    case(
        "path below a user",
        "GET",
        "/users/u-1/orders",
        404,
        Some("NOT_FOUND"),
    ),
    case(
        "an encoded dot-dot segment is not a way out of /users/",
        "GET",
        "/users/%2e%2e/healthz",
        404,
        Some("NOT_FOUND"),
    ),
    case(
        "an encoded dot-dot segment does not reach another user",
        "GET",
        "/users/u-1/%2E%2E/u-2",
        404,
        Some("NOT_FOUND"),
    ),
    case(
        "POST",
        "POST",
        "/users/u-1",
        405,
        Some("METHOD_NOT_ALLOWED"),
    ),
    case(
        "DELETE",
        "DELETE",
        "/users/u-1",
        405,
        Some("METHOD_NOT_ALLOWED"),
    ),
    Case {
        headers: &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "GET"),
        ],
        ..case("CORS preflight", "OPTIONS", "/users/u-1", 204, None)
    },
    Case {
        headers: &[("x-request-id", "trace-abc-123")],
        ..case(
            "the caller's request id is kept",
            "GET",
            "/users/u-1",
            200,
            None,
        )
    },
    Case {
        headers: &[("x-request-id", "not a sane id")],
        ..case(
            "an insane request id is replaced",
            "GET",
            "/users/u-1",
            200,
            None,
        )
    },
    Case {
        headers: &[("x-request-id", "first-id"), ("x-request-id", "second-id")],
        ..case(
            "two request ids are replaced (neither is the one)",
            "GET",
            "/users/u-1",
            200,
            None,
        )
    },
    Case {
        headers: &[NO_HOST],
        ..case("no Host header", "GET", "/users/u-1", 400, BAD_REQUEST)
    },
    Case {
        headers: &[("host", "users.example.com"), ("host", "users.example.com")],
        ..case("two Host headers", "GET", "/users/u-1", 400, BAD_REQUEST)
    },
    Case {
        headers: &[("host", "users.example.com, other.example.com")],
        ..case("a Host of two hosts", "GET", "/users/u-1", 400, BAD_REQUEST)
    },
    Case {
        headers: &[("host", "users example.com")],
        ..case(
            "a Host that is not a host",
            "GET",
            "/users/u-1",
            400,
            BAD_REQUEST,
        )
    },
    Case {
        headers: &[("host", "users.example.com:8443")],
        ..case("a Host with a port", "GET", "/users/u-1", 200, None)
    },
];

/// Cases a Function URL never delivers as an event, each with why: its front end refuses a request
/// without one valid `Host` itself. Runs through a Function URL emulator (`cargo lambda watch`) leave
/// them out and say so; the parity suite sends them to every event source as events.
pub const NOT_FROM_A_FUNCTION_URL: &[(&str, &str)] = &[
    ("no Host header", HOST_REFUSED_FIRST),
    ("two Host headers", HOST_REFUSED_FIRST),
    ("a Host of two hosts", HOST_REFUSED_FIRST),
    ("a Host that is not a host", HOST_REFUSED_FIRST),
];

const HOST_REFUSED_FIRST: &str =
    "a Function URL refuses a request without one valid Host before it becomes an event";

/// The case named `name` (panics if there is none: the callers name cases of [`CASES`]).
pub fn case_named(name: &str) -> &'static Case {
    CASES
        .iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("no contract case is named {name:?}"))
}

/// Whether `reply` (from front door `door`) differs from `reference` (the server's) in anything but the
/// request id, which each front door generates on its own.
pub fn parity_violation(
    case: &Case,
    reference: &Reply,
    reply: &Reply,
    door: &str,
) -> Option<String> {
    (reply.without_request_id() != reference.without_request_id()).then(|| {
        format!(
            "{}: {door} differs from the server\n  server: {reference:?}\n  {door}: {reply:?}",
            case.name
        )
    })
}

/// What the contract says about this case, checked on one reply.
pub fn contract_violations(case: &Case, reply: &Reply, door: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(format!("{}: {door}: {what}; got {reply:?}", case.name));
        }
    };
    expect(
        reply.status == case.status,
        format!("status should be {}", case.status),
    );
    expect(
        reply.error_code().as_deref() == case.code,
        format!("error code should be {:?}", case.code),
    );
    expect(
        reply.header("www-authenticate") == case.challenge,
        format!("WWW-Authenticate should be {:?}", case.challenge),
    );
    expect(
        reply.header("access-control-allow-origin") == Some("*"),
        "Access-Control-Allow-Origin should be *".into(),
    );
    expect(
        reply.header("cache-control") == Some("no-store"),
        "Cache-Control should be no-store".into(),
    );
    expect(
        reply.header("x-content-type-options") == Some("nosniff"),
        "X-Content-Type-Options should be nosniff".into(),
    );
    match reply.status {
        204 => {
            expect(
                reply.header("content-type").is_none(),
                "a 204 has no Content-Type".into(),
            );
            expect(
                reply.header("access-control-allow-methods") == Some("GET, HEAD, OPTIONS"),
                "preflight Allow-Methods".into(),
            );
            expect(
                reply.header("access-control-allow-headers").is_some(),
                "preflight Allow-Headers".into(),
            );
        }
        _ => expect(
            reply.header("content-type") == Some("application/json"),
            "Content-Type should be application/json".into(),
        ),
    }
    if case.status == 200 && case.method == "GET" {
        let user = reply.json();
        expect(
            user["success"] == true && user["data"]["id"].is_string(),
            "a success envelope with a user".into(),
        );
    }
    if case.status == 405 {
        expect(
            reply.header("allow") == Some("GET,HEAD,OPTIONS"),
            "405 needs Allow".into(),
        );
    }
    problems.extend(request_id_violations(case, reply, door, None));
    problems
}

/// Whether `id` is a request id the contract may echo: 1 to 128 characters from
/// `A-Z a-z 0-9 - _ . : = + /` (the rule a caller's id is kept by, and so the least a generated one
/// must meet).
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:=+/".contains(&b))
}

/// The request id: the caller's if sane, else the invocation id on Lambda, else a fresh one (sane,
/// and not the one sent).
pub fn request_id_violations(
    case: &Case,
    reply: &Reply,
    door: &str,
    invocation_id: Option<&str>,
) -> Vec<String> {
    let sent = case
        .headers
        .iter()
        .find(|(name, _)| *name == "x-request-id")
        .map(|(_, v)| *v);
    let got = reply.header("x-request-id");
    let ok = match (sent, invocation_id) {
        (Some("trace-abc-123"), _) => got == Some("trace-abc-123"),
        (_, Some(invocation)) => got == Some(invocation),
        (_, None) => got.is_some_and(|id| is_sane_request_id(id) && Some(id) != sent),
    };
    if ok {
        Vec::new()
    } else {
        vec![format!(
            "{}: {door}: unexpected x-request-id {got:?} (sent {sent:?})",
            case.name
        )]
    }
}
