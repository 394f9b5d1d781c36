//! The path is normalised before routing by the URL parser `lambda_http` builds every request URI with
//! (the `url` crate): dot segments (`.`, `..` and their percent-encoded forms) are resolved, `\` is a
//! `/`, and characters outside a URL path are percent-encoded. The server runs the same parser, so
//! `/users/x/../u-1` is answered on both targets alike by construction.
//!
//! A dot segment written percent-encoded (`%2e%2e`, `.%2E`, …) is not one: a rule in front of the
//! service that allows `/users/…` must not let `/users/%2e%2e/healthz` reach `/healthz`. Its `%`s are
//! escaped ([`escape_encoded_dot_segments`]) before the parser sees it, here and, on Lambda, in the
//! event's path before `lambda_http` parses it; the segment then stays a segment (and no route has it).

use axum::http::uri::PathAndQuery;
use axum::http::{Request, Uri};
use url::Url;

/// Normalises the request's path as `lambda_http` does; a path the parser would leave as it is (the
/// usual case) is not parsed at all.
pub(super) fn normalise<B>(mut req: Request<B>) -> Request<B> {
    if let Some(path) = normalised(req.uri().path()) {
        let uri = req.uri();
        let path_and_query = match uri.query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) {
            let mut parts = uri.clone().into_parts();
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// The path as `lambda_http` would route it, or `None` if that is `path` itself.
fn normalised(path: &str) -> Option<String> {
    if path.bytes().all(left_as_is) {
        return None;
    }
    let escaped = escape_encoded_dot_segments(path);
    let input = escaped.as_deref().unwrap_or(path);
    // What `lambda_http` parses when an event has no host (with one, only the host differs).
    let url = Url::parse(&format!("http://localhost{input}")).ok()?;
    (url.path() != path).then(|| url.path().to_owned())
}

/// `path` with the `%` of every percent-encoded dot segment (`%2e`, `.%2e`, `%2e.`, `%2e%2e`, in
/// any case) escaped as `%25`, so that a URL parser keeps it as a plain segment instead of resolving
/// it; `None` if there is none.
pub fn escape_encoded_dot_segments(path: &str) -> Option<String> {
    if !path.contains('%') {
        return None;
    }
    let mut escaped = String::with_capacity(path.len() + 8);
    let mut changed = false;
    for piece in path.split_inclusive(['/', '\\']) {
        let (segment, separator) = match piece.as_bytes().last() {
            Some(b'/' | b'\\') => piece.split_at(piece.len() - 1),
            _ => (piece, ""),
        };
        if is_encoded_dot_segment(segment) {
            escaped.push_str(&segment.replace('%', "%25"));
            changed = true;
        } else {
            escaped.push_str(segment);
        }
        escaped.push_str(separator);
    }
    changed.then_some(escaped)
}

/// A segment a URL parser resolves as `.` or `..` though at least one of its dots is encoded.
fn is_encoded_dot_segment(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        "%2e" | ".%2e" | "%2e." | "%2e%2e"
    )
}

/// Bytes a URL parser never changes in a path: letters, digits, `/` and the punctuation outside the
/// path percent-encode set, other than the `.`, `%` and `\` of dot segments and separators.
fn left_as_is(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'/' | b'-'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
        )
}

#[cfg(test)]
mod tests {
    use super::{escape_encoded_dot_segments, normalised};

    #[test]
    fn dot_segments_resolve_as_in_a_url_parser() {
        let cases = [
            ("/users/..", "/"),
            ("/users/.", "/users/"),
            ("/users/x/../u-1", "/users/u-1"),
            ("/users/./u-1", "/users/u-1"),
            ("/../../users/u-1", "/users/u-1"),
            ("/users/u-1/..", "/users/"),
            ("/users\\u-1", "/users/u-1"),
        ];
        for (path, expected) in cases {
            assert_eq!(normalised(path).as_deref(), Some(expected), "{path}");
        }
    }

    #[test]
    fn an_encoded_dot_segment_is_a_plain_segment_not_a_way_out_of_a_prefix() {
        let cases = [
            ("/users/%2e%2e/healthz", "/users/%252e%252e/healthz"),
            ("/users/%2E%2E", "/users/%252E%252E"),
            ("/users/.%2e/u-2", "/users/.%252e/u-2"),
            ("/users/%2e./u-2", "/users/%252e./u-2"),
            ("/users/%2e/u-1", "/users/%252e/u-1"),
            ("/users\\%2e%2e\\healthz", "/users/%252e%252e/healthz"),
        ];
        for (path, expected) in cases {
            assert_eq!(normalised(path).as_deref(), Some(expected), "{path}");
        }
        for path in [
            "/users/%2e%2e%2e",
            "/users/a%2eb",
            "/users/u-1",
            "/users/%252e",
        ] {
            assert_eq!(escape_encoded_dot_segments(path), None, "{path}");
        }
    }

    #[test]
    fn paths_without_dot_segments_are_left_alone() {
        for path in [
            "/users/u-1",
            "/users/u.1",
            "/users/...",
            "/",
            "/users/%2E%2E%2E",
            "//users/u-1",
            "/users/a%2Fb",
        ] {
            assert_eq!(normalised(path), None, "{path}");
        }
    }
}
