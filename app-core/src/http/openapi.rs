//! The contract as an OpenAPI 3 document, generated from the handlers and types themselves (utoipa),
//! committed as `docs/openapi.json` (the `AUTH=jwt` API) and served by `k8s-server` at
//! `/openapi.json` as the server is configured ([`openapi_json_for`]).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ApiError, ErrorBody, Failure};
use super::users;
use crate::auth::Access;
use crate::domain::User;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "user-lookup",
        description = "One user-lookup API, served identically by a Kubernetes server (k8s-server) and an AWS Lambda function (lambda-fn). Another method on /users/{id} answers 405 METHOD_NOT_ALLOWED with an Allow header; any other path answers 404 NOT_FOUND; both with the error envelope.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(users::get_user, users::preflight),
    components(schemas(User, ApiError, ErrorBody, Failure)),
    modifiers(&BearerScheme),
    tags((name = "users", description = "User lookup"))
)]
struct ApiDoc;

/// The `bearer` security scheme `GET /users/{id}` names.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT access token from the configured OpenID Connect provider (AUTH=jwt): RS256 or ES256, the configured issuer and audience, and the configured scope (users:read by default) in `scope` or `scp`. With AUTH=none no token is needed.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document, as pretty-printed JSON (what `docs/openapi.json` holds).
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    // The crate version would change the document at every release; the API has its own.
    doc.info.version = "1".to_owned();
    doc.to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}

/// The OpenAPI document of the API as `access` configures it: [`openapi_json`] with `AUTH=jwt`; with
/// `AUTH=none`, the same without the bearer scheme, the operations' security requirement and the
/// answers only a token check gives (401, 403), so that a client generated from it sends no token
/// and expects no refusal.
pub fn openapi_json_for(access: &Access) -> String {
    match access {
        Access::Bearer(_) => openapi_json(),
        Access::Open => {
            let mut doc: serde_json::Value =
                serde_json::from_str(&openapi_json()).expect("the OpenAPI document is JSON");
            if let Some(components) = doc["components"].as_object_mut() {
                components.remove("securitySchemes");
            }
            let operations = doc["paths"]
                .as_object_mut()
                .into_iter()
                .flat_map(|paths| paths.values_mut())
                .filter_map(serde_json::Value::as_object_mut)
                .flat_map(|path| path.values_mut())
                .filter_map(serde_json::Value::as_object_mut);
            for operation in operations {
                operation.remove("security");
                if let Some(responses) = operation
                    .get_mut("responses")
                    .and_then(serde_json::Value::as_object_mut)
                {
                    responses.remove("401");
                    responses.remove("403");
                }
            }
            serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises") + "\n"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_auth_none_the_document_asks_for_no_token_and_promises_no_refusal() {
        let doc: serde_json::Value =
            serde_json::from_str(&openapi_json_for(&Access::Open)).unwrap();
        let get = &doc["paths"]["/users/{id}"]["get"];

        assert!(get["security"].is_null(), "{get}");
        assert!(doc["components"]["securitySchemes"].is_null());
        assert!(get["responses"]["401"].is_null() && get["responses"]["403"].is_null());
        for status in ["200", "400", "404", "500", "503"] {
            assert!(
                get["responses"][status].is_object(),
                "no {status} documented"
            );
        }
    }

    #[test]
    fn the_committed_document_is_current() {
        let committed = include_str!("../../../docs/openapi.json");
        assert!(
            committed == openapi_json(),
            "docs/openapi.json is stale: run `cargo xtask openapi` and commit the result"
        );
    }

    #[test]
    fn the_document_describes_every_answer_of_the_lookup() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        let responses = &doc["paths"]["/users/{id}"]["get"]["responses"];
        for status in ["200", "400", "401", "403", "404", "500", "503"] {
            assert!(responses[status].is_object(), "no {status} documented");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert_eq!(
            doc["paths"]["/users/{id}"]["get"]["security"],
            serde_json::json!([{"bearer": []}]),
            "GET /users/{{id}} requires the bearer scheme (no anonymous alternative)"
        );
        let codes = &doc["components"]["schemas"]["ApiError"]["enum"];
        assert!(
            codes
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "USER_NOT_FOUND"),
            "{codes}"
        );
    }
}
