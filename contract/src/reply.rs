//! What a front door answered, reduced to what the contract fixes: status, body and contract headers.

use std::collections::BTreeMap;

use http::HeaderMap;

/// The headers the contract fixes; everything else (date, content-length, ...) may differ by target.
pub const CONTRACT_HEADERS: &[&str] = &[
    "content-type",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "cache-control",
    "x-content-type-options",
    "allow",
    "retry-after",
    "www-authenticate",
    "x-request-id",
];

/// A reply as the contract sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Contract headers (lower-case names); a repeated header's values joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// Builds a reply from raw parts, keeping only contract headers.
    pub fn new(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let headers = CONTRACT_HEADERS
            .iter()
            .filter_map(|name| {
                let values: Vec<&str> = headers
                    .get_all(*name)
                    .iter()
                    .map(|v| v.to_str().expect("contract headers are ASCII"))
                    .collect();
                (!values.is_empty()).then(|| (name.to_string(), values.join(", ")))
            })
            .collect();
        Self {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).expect("contract bodies are UTF-8"),
        }
    }

    /// A contract header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body parsed as JSON (panics if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.body))
    }

    /// The error code of an error envelope, if this is one.
    pub fn error_code(&self) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()?
            .pointer("/error/code")?
            .as_str()
            .map(str::to_owned)
    }

    /// The same reply with `x-request-id` left out (for comparing replies whose ids are generated).
    pub fn without_request_id(&self) -> Self {
        let mut copy = self.clone();
        copy.headers.remove("x-request-id");
        copy
    }
}
