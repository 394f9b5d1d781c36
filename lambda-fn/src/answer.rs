//! The contract's response on its way into the event source's response format: its body read whole
//! and handed to `lambda_http` as text or as bytes, which `lambda_http` then puts in the response
//! event (as the `body` field, base64 with `isBase64Encoded` for bytes).
//!
//! `lambda_http` can do this for any response body, but its generic conversion decodes text through
//! the charset the `Content-Type` names, with `encoding_rs` and the tables of every encoding it
//! knows (about 160 KB of the package). The contract's bodies are JSON or empty, in UTF-8: here they
//! travel as the same bytes without that conversion. Which responses are text is `lambda_http`'s
//! rule; a text body that is not UTF-8 travels as base64, so its bytes arrive unchanged (where
//! `lambda_http` would re-encode or replace them).

use std::future::Future;
use std::pin::Pin;

use axum::http::HeaderMap;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use lambda_http::{Body, IntoResponse};

/// The contract's response, as the runtime adapter takes it.
pub struct Answer(axum::response::Response);

impl From<axum::response::Response> for Answer {
    fn from(response: axum::response::Response) -> Self {
        Self(response)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Pin<Box<dyn Future<Output = lambda_http::Response<Body>> + Send>> {
        let (parts, body) = self.0.into_parts();
        Box::pin(async move {
            // The contract's bodies are in memory; a body that fails to read is a defect, and
            // panics as it did in `lambda_http`'s conversion (the invocation's error).
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .expect("the response body is readable");
            let body = event_body(&parts.headers, bytes.into());
            lambda_http::Response::from_parts(parts, body)
        })
    }
}

/// The body as the response event carries it: text when the response is text and its bytes are
/// UTF-8, bytes (base64 in the event) otherwise.
fn event_body(headers: &HeaderMap, bytes: Vec<u8>) -> Body {
    if !is_text(headers) {
        return Body::Binary(bytes);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Body::Text(text),
        Err(not_utf8) => Body::Binary(not_utf8.into_bytes()),
    }
}

/// `Content-Type` prefixes of text, as `lambda_http` lists them.
const TEXT_PREFIXES: [&str; 5] = [
    "text",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/yaml",
];

/// Media type suffixes of text (`application/problem+json`), as `lambda_http` lists them.
const TEXT_SUFFIXES: [&str; 3] = ["+xml", "+yaml", "+json"];

/// The header with which a handler asks `lambda_http` for a text body (value `text`) whatever the
/// `Content-Type`.
const X_LAMBDA_HTTP_CONTENT_ENCODING: &str = "x-lambda-http-content-encoding";

/// `lambda_http`'s rule: a response with a `Content-Encoding` is bytes; one without a
/// `Content-Type` is text; otherwise the `Content-Type` (or the handler's
/// `x-lambda-http-content-encoding: text`) decides.
fn is_text(headers: &HeaderMap) -> bool {
    if headers.contains_key(CONTENT_ENCODING) {
        return false;
    }
    let Some(content_type) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    let content_type = content_type.to_str().unwrap_or_default();
    let media_type = content_type.trim().split(';').next().unwrap_or_default();
    TEXT_PREFIXES
        .iter()
        .any(|prefix| content_type.starts_with(prefix))
        || TEXT_SUFFIXES
            .iter()
            .any(|suffix| media_type.ends_with(suffix))
        || headers
            .get(X_LAMBDA_HTTP_CONTENT_ENCODING)
            .is_some_and(|value| value == "text")
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::HeaderValue;

    /// Header names and their raw values.
    type Headers<'a> = &'a [(&'a str, &'a [u8])];

    /// A response with `headers` and `body`.
    fn response(headers: Headers, body: &[u8]) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(body.to_vec()));
        *response.status_mut() = 404.try_into().unwrap();
        for (name, value) in headers {
            response.headers_mut().append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        response
    }

    /// What `lambda_http`'s own conversion makes of `response`, and what [`Answer`] makes of it.
    async fn both(
        response: impl Fn() -> axum::response::Response,
    ) -> (lambda_http::Response<Body>, lambda_http::Response<Body>) {
        (
            response().into_response().await,
            Answer::from(response()).into_response().await,
        )
    }

    const JSON: &[u8] = "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no user ü\"}}".as_bytes();

    #[tokio::test]
    async fn every_response_lambda_http_would_encode_is_encoded_alike() {
        // GIVEN responses of the contract (JSON, empty) and of other kinds: text, bytes, compressed,
        // a text body asked for by header, an unreadable Content-Type, duplicate headers
        let cases: &[(&str, Headers, &[u8])] = &[
            ("json", &[("content-type", b"application/json")], JSON),
            ("empty, no content type", &[], b""),
            ("empty json", &[("content-type", b"application/json")], b""),
            ("text, no content type", &[], b"plain"),
            (
                "html with charset",
                &[("content-type", b"text/html; charset=utf-8")],
                b"<p>\xc3\xbc</p>",
            ),
            (
                "problem+json",
                &[("content-type", b"application/problem+json ; x=1")],
                JSON,
            ),
            ("svg", &[("content-type", b"image/svg+xml")], b"<svg/>"),
            (
                "png",
                &[("content-type", b"image/png")],
                b"\x89PNG\r\n\x1a\n\0\xff",
            ),
            (
                "png, UTF-8 bytes",
                &[("content-type", b"image/png")],
                b"png",
            ),
            (
                "gzip json",
                &[
                    ("content-type", b"application/json"),
                    ("content-encoding", b"gzip"),
                ],
                b"\x1f\x8b\x08\0",
            ),
            (
                "text by header",
                &[
                    ("content-type", b"image/svg"),
                    (X_LAMBDA_HTTP_CONTENT_ENCODING, b"text"),
                ],
                b"<svg/>",
            ),
            (
                "content type not visible ASCII",
                &[("content-type", b"text/\xe9")],
                b"abc",
            ),
            (
                "repeated headers",
                &[
                    ("content-type", b"application/json"),
                    ("vary", b"origin"),
                    ("vary", b"accept"),
                    ("set-cookie", b"a=1"),
                    ("set-cookie", b"b=2"),
                ],
                JSON,
            ),
        ];
        for (name, headers, body) in cases {
            // WHEN lambda_http's conversion and this one each encode it
            let (theirs, ours) = both(|| response(headers, body)).await;

            // THEN status, headers and body are the same
            assert_eq!(ours.status(), theirs.status(), "{name}");
            assert_eq!(ours.headers(), theirs.headers(), "{name}");
            assert_eq!(ours.body(), theirs.body(), "{name}");
        }
    }

    #[tokio::test]
    async fn a_text_body_that_is_not_utf8_keeps_its_bytes() {
        // GIVEN a text response whose bytes are not UTF-8 (Latin-1, as its charset says)
        let latin1 = response(
            &[("content-type", b"text/plain; charset=iso-8859-1")],
            b"caf\xe9",
        );

        // WHEN it is encoded
        let answer = Answer::from(latin1).into_response().await;

        // THEN the same bytes travel, as bytes (base64 in the event), not re-encoded
        assert_eq!(answer.body(), &Body::Binary(b"caf\xe9".to_vec()));
    }
}
