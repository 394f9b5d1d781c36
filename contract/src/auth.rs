//! The authentication cases of the contract: requests to a front door with `AUTH=jwt`, whose tokens
//! come from the test identity provider ([`crate::idp`]) and so are minted at run time. `app-core`'s
//! unit tests (through the router), the parity suite (the server and five Lambda event sources) and
//! `cargo xtask demo` all send this one table.
//!
//! The provider: [`ISSUER`], [`AUDIENCE`] and [`SCOPE`], its JWKS publishing [`published_keys`]
//! (see [`settings`] for a process's environment).

use serde_json::json;

use super::{Case, case};
use crate::idp::{
    AUDIENCE, ISSUER, SCOPE, SigningKey, claims, claims_with, now, shared_ec, shared_rsa,
    token_up_to, with_payload,
};

/// The longest bearer token the service accepts (`app_core::auth::MAX_TOKEN_BYTES`; app-core's tests
/// check that the two agree). Said again here: this crate depends on nothing of the workspace.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The variables of `AUTH=jwt` (`app_core::config::vars`), by name for the same reason.
mod vars {
    pub const AUTH: &str = "AUTH";
    pub const JWT_ISSUER: &str = "JWT_ISSUER";
    pub const JWT_AUDIENCE: &str = "JWT_AUDIENCE";
    pub const JWKS_URL: &str = "JWKS_URL";
    pub const JWT_REQUIRED_SCOPE: &str = "JWT_REQUIRED_SCOPE";
}

/// The challenge when no bearer token was sent.
pub const MISSING: Option<&str> = Some("Bearer");
/// The challenge when the bearer token sent is not acceptable.
pub const INVALID: Option<&str> = Some(r#"Bearer error="invalid_token""#);
/// The challenge when the token lacks the scope (the default `users:read`).
pub const NO_SCOPE: Option<&str> = Some(r#"Bearer error="insufficient_scope", scope="users:read""#);

/// The body of every 401.
pub const UNAUTHENTICATED_BODY: &str = r#"{"success":false,"error":{"code":"UNAUTHENTICATED","message":"a valid bearer token is required"}}"#;
/// The body of every 403.
pub const FORBIDDEN_BODY: &str = r#"{"success":false,"error":{"code":"FORBIDDEN","message":"the bearer token does not grant the scope this resource needs"}}"#;

/// One request with its credentials, and what the contract says it gets.
#[derive(Debug)]
pub struct AuthCase {
    /// The request and its expected answer (`headers` is empty: the credentials are below).
    pub case: Case,
    /// The `Authorization` header lines sent (usually none or one).
    pub authorization: Vec<String>,
}

impl AuthCase {
    /// The request headers: `Authorization`, as often as it is sent.
    pub fn headers(&self) -> Vec<(&str, &str)> {
        self.authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect()
    }
}

/// The keys the provider's JWKS must publish for [`cases`]: the shared RSA and EC keys.
pub fn published_keys() -> [&'static SigningKey; 2] {
    [shared_rsa(), shared_ec()]
}

/// The environment that points a process at the provider whose JWKS is at `jwks_url`.
pub fn settings(jwks_url: &str) -> Vec<(&'static str, String)> {
    vec![
        (vars::AUTH, "jwt".into()),
        (vars::JWT_ISSUER, ISSUER.into()),
        (vars::JWT_AUDIENCE, AUDIENCE.into()),
        (vars::JWKS_URL, jwks_url.into()),
        (vars::JWT_REQUIRED_SCOPE, SCOPE.into()),
    ]
}

/// `GET /users/u-1` with `authorization`: `status` with what goes with it (the user; or
/// `UNAUTHENTICATED` and the challenge for a missing or an unusable token; or `FORBIDDEN` and the
/// scope challenge).
fn get(name: &'static str, authorization: Option<String>, status: u16) -> AuthCase {
    let (code, challenge) = match (status, &authorization) {
        (200, _) => (None, None),
        (401, None) => (Some("UNAUTHENTICATED"), MISSING),
        (401, Some(value)) if !value.to_ascii_lowercase().starts_with("bearer ") => {
            (Some("UNAUTHENTICATED"), MISSING)
        }
        (401, Some(_)) => (Some("UNAUTHENTICATED"), INVALID),
        (403, _) => (Some("FORBIDDEN"), NO_SCOPE),
        _ => panic!("{name}: no authentication case answers {status}"),
    };
    AuthCase {
        case: Case {
            code,
            challenge,
            ..case(name, "GET", "/users/u-1", status, None)
        },
        authorization: authorization.into_iter().collect(),
    }
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

/// Every authentication case, with tokens minted now (valid for five minutes).
pub fn cases() -> Vec<AuthCase> {
    let [rsa, ec] = published_keys();
    let stranger = SigningKey::ec("stranger");
    let now = now();
    let valid = rsa.sign(&claims());
    let signed = |key: &SigningKey, changes| bearer(&key.sign(&claims_with(changes)));
    vec![
        get("no Authorization header", None, 401),
        get("another scheme", Some("Basic dXNlcjpwYXNz".into()), 401),
        get("empty token", Some("Bearer ".into()), 401),
        get("garbage token", bearer("not-a-jwt"), 401),
        get("valid RS256", bearer(&valid), 200),
        get("valid ES256", bearer(&ec.sign(&claims())), 200),
        get(
            "lowercase bearer",
            Some(format!("bearer {}", rsa.sign(&claims()))),
            200,
        ),
        get(
            "expired beyond the 60 s leeway",
            signed(rsa, json!({"exp": now - 120})),
            401,
        ),
        get(
            "expired within the leeway",
            signed(rsa, json!({"exp": now - 20})),
            200,
        ),
        get(
            "not yet valid beyond the leeway",
            signed(ec, json!({"nbf": now + 120})),
            401,
        ),
        get(
            "not yet valid within the leeway",
            signed(ec, json!({"nbf": now + 20})),
            200,
        ),
        get("no exp", signed(rsa, json!({"exp": null})), 401),
        get(
            "wrong issuer",
            signed(rsa, json!({"iss": "https://idp.test"})),
            401,
        ),
        get("no issuer", signed(rsa, json!({"iss": null})), 401),
        get(
            "wrong audience",
            signed(rsa, json!({"aud": "other-api"})),
            401,
        ),
        get(
            "audience among several",
            signed(rsa, json!({"aud": ["other-api", AUDIENCE]})),
            200,
        ),
        get(
            "no aud, client_id is the audience (Cognito)",
            signed(rsa, json!({"aud": null, "client_id": AUDIENCE})),
            200,
        ),
        get(
            "no aud, another client_id",
            signed(rsa, json!({"aud": null, "client_id": "other"})),
            401,
        ),
        get("alg none", bearer(&rsa.unsigned(&claims())), 401),
        get(
            "HS256 signed with the RSA public key",
            bearer(&rsa.sign_hs256_with_public_key(&claims())),
            401,
        ),
        get(
            "HS256 signed with the EC public key",
            bearer(&ec.sign_hs256_with_public_key(&claims())),
            401,
        ),
        get("unknown kid", bearer(&stranger.sign(&claims())), 401),
        get(
            "tampered payload",
            bearer(&with_payload(&valid, &claims_with(json!({"sub": "admin"})))),
            401,
        ),
        get(
            "missing scope",
            signed(rsa, json!({"scope": "openid users:write"})),
            403,
        ),
        get(
            "no scope claim at all",
            signed(rsa, json!({"scope": null})),
            403,
        ),
        get(
            "scope in an scp array",
            signed(ec, json!({"scope": null, "scp": ["openid", SCOPE]})),
            200,
        ),
        get(
            "scope in an scp string",
            signed(ec, json!({"scope": null, "scp": format!("openid {SCOPE}")})),
            200,
        ),
        get(
            "a valid token just over 8 KiB",
            bearer(&token_up_to(rsa, MAX_TOKEN_BYTES + 4)),
            401,
        ),
        get(
            "a valid token of up to 8 KiB",
            bearer(&token_up_to(rsa, MAX_TOKEN_BYTES)),
            200,
        ),
        AuthCase {
            case: Case {
                challenge: MISSING,
                ..case(
                    "malformed id without a token (401, not 400)",
                    "GET",
                    "/users/a%20b",
                    401,
                    Some("UNAUTHENTICATED"),
                )
            },
            authorization: Vec::new(),
        },
        AuthCase {
            case: case(
                "malformed id with a valid token",
                "GET",
                "/users/a%20b",
                400,
                Some("INVALID_USER_ID"),
            ),
            authorization: bearer(&valid).into_iter().collect(),
        },
        AuthCase {
            case: Case {
                challenge: MISSING,
                ..case("HEAD without a token", "HEAD", "/users/u-1", 401, None)
            },
            authorization: Vec::new(),
        },
        AuthCase {
            case: Case {
                challenge: INVALID,
                ..case(
                    "two Authorization headers, each valid",
                    "GET",
                    "/users/u-1",
                    401,
                    Some("UNAUTHENTICATED"),
                )
            },
            authorization: vec![format!("Bearer {valid}"), format!("Bearer {valid}")],
        },
    ]
}
