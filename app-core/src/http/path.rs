//! The path is normalised before routing by the URL parser `lambda_http` builds every request URI with
//! (the `url` crate): dot segments (`.`, `..` and their percent-encoded forms) are resolved, `\` is a
//! `/`, and characters outside a URL path are percent-encoded. The server runs the same parser, so
//! `/users/x/../u-1` is answered on both targets alike by construction.

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
    // What `lambda_http` parses when an event has no host (with one, only the host differs).
    let url = Url::parse(&format!("http://localhost{path}")).ok()?;
    (url.path() != path).then(|| url.path().to_owned())
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
    use super::normalised;

    #[test]
    fn dot_segments_resolve_as_in_a_url_parser() {
        let cases = [
            ("/users/..", "/"),
            ("/users/.", "/users/"),
            ("/users/%2E%2E", "/"),
            ("/users/x/../u-1", "/users/u-1"),
            ("/users/./u-1", "/users/u-1"),
            ("/../../users/u-1", "/users/u-1"),
            ("/users/u-1/..", "/users/"),
            ("/users/.%2e/u-2", "/u-2"),
            ("/users\\u-1", "/users/u-1"),
        ];
        for (path, expected) in cases {
            assert_eq!(normalised(path).as_deref(), Some(expected), "{path}");
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
