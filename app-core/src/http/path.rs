//! Dot segments (`.`, `..` and their percent-encoded forms) are resolved before routing, the way a URL
//! parser resolves them. `lambda_http` parses every event's path with one, so the server does the same
//! to answer `/users/x/../u-1` exactly as the Lambda function does.

use axum::http::uri::PathAndQuery;
use axum::http::{Request, Uri};

/// Resolves dot segments in the request's path; a path without any is left untouched (no allocation).
pub(super) fn remove_dot_segments<B>(mut req: Request<B>) -> Request<B> {
    if let Some(path) = resolved(req.uri().path()) {
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

/// The path with its dot segments resolved, or `None` if it has none.
fn resolved(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    if !rest.split('/').any(|s| dots(s).is_some()) {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        match dots(segment) {
            Some(2) => {
                out.pop();
                if i == last {
                    out.push("");
                }
            }
            Some(_) => {
                if i == last {
                    out.push("");
                }
            }
            None => out.push(segment),
        }
    }
    Some(format!("/{}", out.join("/")))
}

/// 1 for a single-dot segment, 2 for a double-dot one (`.` may be written `%2e` or `%2E`).
fn dots(segment: &str) -> Option<u8> {
    let is_any = |forms: &[&str]| forms.iter().any(|form| segment.eq_ignore_ascii_case(form));
    if is_any(&[".", "%2e"]) {
        Some(1)
    } else if is_any(&["..", ".%2e", "%2e.", "%2e%2e"]) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::resolved;

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
        ];
        for (path, expected) in cases {
            assert_eq!(resolved(path).as_deref(), Some(expected), "{path}");
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
        ] {
            assert_eq!(resolved(path), None, "{path}");
        }
    }
}
