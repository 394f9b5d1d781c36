//! The `x-request-id` header: kept from the request when sane, generated otherwise, echoed on the
//! response and recorded on the request's span so every log line of the request carries it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use tracing::Span;
use uuid::Uuid;

/// The request-id header name.
pub const X_REQUEST_ID: &str = "x-request-id";

/// [`X_REQUEST_ID`] as a parsed header name (a `&str` is parsed again at every lookup).
pub(super) const X_REQUEST_ID_NAME: HeaderName = HeaderName::from_static(X_REQUEST_ID);

/// The longest request id kept from a caller, in bytes.
const MAX_LEN: usize = 128;

/// Whether a caller's request id may be kept: 1 to 128 characters from `A-Z a-z 0-9 - _ . : = + /`
/// (UUIDs, AWS request ids and X-Ray trace ids all fit). Anything else is replaced, so no caller can put
/// arbitrary text into our logs and responses.
pub fn is_sane_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:=+/".contains(b))
}

/// The caller's request id, if it is sane and sent once (two ids are none: which would be the one?).
pub fn callers_request_id(headers: &HeaderMap) -> Option<&HeaderValue> {
    let mut sent = headers.get_all(&X_REQUEST_ID_NAME).iter();
    match (sent.next(), sent.next()) {
        (Some(id), None) if is_sane_request_id(id) => Some(id),
        _ => None,
    }
}

/// The request's id: a sane one from the caller, else a fresh one ([`generate`]), which is then set
/// on the request (for the span and the routes). A caller's id that is not sane, or sent more than
/// once, is replaced. Returns the id for the response.
pub(super) fn ensure(req: &mut Request<Body>) -> HeaderValue {
    let headers = req.headers_mut();
    if let Some(id) = callers_request_id(headers) {
        return id.clone();
    }
    let id = generate();
    headers.insert(X_REQUEST_ID_NAME, id.clone());
    id
}

/// A fresh request id, as the contract makes one for a request without a sane id: this process's
/// random prefix (16 lowercase hex digits, drawn once at the first id), `-`, then a counter in hex
/// (`9f86d081884c7d65-2a`). Unique within the process (the counter) and across processes and
/// restarts (62 random bits per process: two processes share a prefix with odds of about one in
/// 2^31 even among 65,000 of them), and sane by [`is_sane_request_id`]. Cheaper than a random UUID
/// per request: one atomic increment and a few bytes of hex.
pub fn generate() -> HeaderValue {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let count = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut id = [0u8; GENERATED_MAX_LEN];
    id[..PREFIX_LEN].copy_from_slice(process_prefix());
    id[PREFIX_LEN] = b'-';
    let len = PREFIX_LEN + 1 + write_hex(count, &mut id[PREFIX_LEN + 1..]);
    HeaderValue::from_bytes(&id[..len]).expect("hex digits and '-' are a valid header value")
}

/// Hex digits of the per-process prefix of a generated id.
const PREFIX_LEN: usize = 16;

/// The longest generated id: the prefix, `-`, and a `u64` in hex.
const GENERATED_MAX_LEN: usize = PREFIX_LEN + 1 + 16;

/// This process's prefix for generated ids: 62 random bits (those of a UUID v4's second half, from
/// `uuid`'s generator) in hex, drawn once.
fn process_prefix() -> &'static [u8; PREFIX_LEN] {
    static PREFIX: OnceLock<[u8; PREFIX_LEN]> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let (_, random) = Uuid::new_v4().as_u64_pair();
        let mut prefix = [0u8; PREFIX_LEN];
        write_hex_fixed(random, &mut prefix);
        prefix
    })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `value` in lowercase hex, exactly 16 digits (leading zeros kept).
fn write_hex_fixed(value: u64, out: &mut [u8; 16]) {
    for (i, digit) in out.iter_mut().enumerate() {
        *digit = HEX[(value >> (60 - 4 * i)) as usize & 0xf];
    }
}

/// `value` in lowercase hex without leading zeros at the start of `out`; returns the digits written.
fn write_hex(value: u64, out: &mut [u8]) -> usize {
    let digits = (16 - value.leading_zeros() as usize / 4).max(1);
    for (i, digit) in out[..digits].iter_mut().enumerate() {
        *digit = HEX[(value >> (4 * (digits - 1 - i))) as usize & 0xf];
    }
    digits
}

/// The span every request runs in: its request id (`id`, from [`ensure`], so sane: logged as is,
/// without quoting) and, when the request came through AWS (ALB, API Gateway, or Lambda, which passes
/// the invocation's X-Ray trace id on), the X-Ray trace id ([`xray_trace_id`]: only a well-formed
/// one, rebuilt from its checked parts, so a caller cannot put arbitrary text on every log line).
pub(super) fn span(req: &Request<Body>, id: &HeaderValue) -> Span {
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
    );
    let mut sent = req.headers().get_all(&X_AMZN_TRACE_ID).iter();
    if let (Some(header), None) = (sent.next(), sent.next())
        && let Some(trace_id) = xray_trace_id(header)
    {
        span.record("trace_id", trace_id.as_str());
    }
    span
}

/// The header AWS load balancers, API Gateway and Lambda carry the X-Ray trace id in.
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// The longest `x-amzn-trace-id` header read, in bytes (AWS's own are under 200).
const MAX_TRACE_HEADER_LEN: usize = 256;

/// The X-Ray trace header's fields that are logged, as `Root=1-8hex-24hex[;Parent=16hex][;Sampled=0|1|?]`
/// (in that order, whatever the order sent), or `None` when the header is not in X-Ray's format:
/// fields `Key=Value` separated by `;`, `Root` exactly once, `Parent` and `Sampled` at most once and
/// well-formed; other fields (`Self`, `Lineage`, ...) are allowed if made of `A-Z a-z 0-9 - _ . : |
/// =` and not logged. Longer than 256 bytes: `None`.
pub fn xray_trace_id(header: &HeaderValue) -> Option<String> {
    let text = header.to_str().ok()?;
    if text.len() > MAX_TRACE_HEADER_LEN {
        return None;
    }
    let (mut root, mut parent, mut sampled) = (None, None, None);
    for field in text.split(';').map(str::trim) {
        let (key, value) = field.split_once('=')?;
        let slot = match key {
            "Root" if is_xray_root(value) => &mut root,
            "Parent" if value.len() == 16 && is_lower_hex(value) => &mut parent,
            "Sampled" if matches!(value, "0" | "1" | "?") => &mut sampled,
            "Root" | "Parent" | "Sampled" => return None,
            _ if is_plain_field(key, value) => continue,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    let mut trace_id = format!("Root={}", root?);
    if let Some(parent) = parent {
        trace_id.push_str(";Parent=");
        trace_id.push_str(parent);
    }
    if let Some(sampled) = sampled {
        trace_id.push_str(";Sampled=");
        trace_id.push_str(sampled);
    }
    Some(trace_id)
}

/// `1-` then 8 hex digits (the epoch seconds), `-`, 24 hex digits.
fn is_xray_root(value: &str) -> bool {
    let mut parts = value.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("1"), Some(time), Some(random), None)
            if time.len() == 8 && random.len() == 24 && is_lower_hex(time) && is_lower_hex(random)
    )
}

fn is_lower_hex(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_plain_field(key: &str, value: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:|=".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_common_sources_are_sane() {
        for ok in [
            "3f2c6f0e-8a4b-4b7e-9a36-0d2a1c9b7e11",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "abc_DEF.123:x+y/z",
        ] {
            assert!(is_sane_request_id(&HeaderValue::from_static(ok)), "{ok}");
        }
    }

    #[test]
    fn empty_long_or_odd_ids_are_not() {
        let long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "",
            "has space",
            "quote\"",
            "semi;colon",
            "<script>",
            long.as_str(),
        ] {
            assert!(
                !is_sane_request_id(&HeaderValue::from_str(bad).unwrap()),
                "{bad}"
            );
        }
        assert!(!is_sane_request_id(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
    }

    #[test]
    fn generated_ids_are_sane_distinct_and_share_this_process_prefix() {
        let ids: Vec<String> = (0..1000)
            .map(|_| generate().to_str().unwrap().to_owned())
            .collect();

        let prefix = &ids[0][..PREFIX_LEN + 1];
        for id in &ids {
            assert!(
                is_sane_request_id(&HeaderValue::from_str(id).unwrap()),
                "{id}"
            );
            assert!(id.starts_with(prefix), "{id} vs {prefix}");
            assert!(id.len() <= GENERATED_MAX_LEN, "{id}");
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }

    #[test]
    fn hex_counters_have_no_leading_zeros() {
        let hex = |value| {
            let mut out = [0u8; 16];
            let len = write_hex(value, &mut out);
            String::from_utf8(out[..len].to_vec()).unwrap()
        };
        assert_eq!(hex(0), "0");
        assert_eq!(hex(0x2a), "2a");
        assert_eq!(hex(u64::MAX), "ffffffffffffffff");
    }

    const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";

    fn trace(header: &str) -> Option<String> {
        xray_trace_id(&HeaderValue::from_str(header).unwrap())
    }

    #[test]
    fn an_xray_header_keeps_its_checked_fields_in_a_fixed_order() {
        for (header, logged) in [
            (format!("Root={ROOT}"), format!("Root={ROOT}")),
            (
                format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"),
                format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"),
            ),
            (
                format!("Sampled=0;Parent=53995c3f42cd8ad8;Root={ROOT}"),
                format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0"),
            ),
            // An ALB adds Self; Lambda adds Lineage: allowed, not logged.
            (
                format!("Self=1-67891234-12456789abcdef012345678a;Root={ROOT}"),
                format!("Root={ROOT}"),
            ),
            (
                format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=?;Lineage=1:a87bd80c:0"),
                format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=?"),
            ),
        ] {
            assert_eq!(trace(&header), Some(logged), "{header}");
        }
    }

    #[test]
    fn anything_else_in_the_trace_header_is_dropped() {
        let long = format!("Root={ROOT};Pad={}", "a".repeat(MAX_TRACE_HEADER_LEN));
        for header in [
            "",
            "anything",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759E988-bd862e3fe1be46a994272793",
            &format!("Root={ROOT};Root={ROOT}"),
            &format!("Root={ROOT};Parent=53995c3f42cd8ad"),
            &format!("Root={ROOT};Sampled=yes"),
            &format!("Root={ROOT};Note=forged line level=ERROR"),
            &format!("Root={ROOT};Note=\"quoted\""),
            &format!("Root={ROOT};novalue"),
            "Parent=53995c3f42cd8ad8;Sampled=1",
            &long,
        ] {
            assert_eq!(trace(header), None, "{header}");
        }
        assert_eq!(
            xray_trace_id(&HeaderValue::from_bytes(b"Root=\xff").unwrap()),
            None
        );
    }

    #[test]
    fn the_request_span_logs_only_a_well_formed_trace_id() {
        let logged = |header: &str| {
            let logs = contract::logs::LogBuffer::default();
            let req = Request::builder()
                .header("x-amzn-trace-id", header)
                .body(Body::empty())
                .unwrap();
            {
                let _capture = logs.capture_on_this_thread();
                let _entered = span(&req, &HeaderValue::from_static("req-1")).entered();
                tracing::info!("handled");
            }
            logs.lines().join("\n")
        };

        let good = logged(&format!("Root={ROOT};Sampled=1"));
        let forged = logged(&format!("Root={ROOT};x={}", "A".repeat(16_000)));

        assert!(
            good.contains(&format!(r#"trace_id="Root={ROOT};Sampled=1""#)),
            "{good}"
        );
        assert!(!forged.contains("trace_id"), "{forged}");
        assert!(forged.len() < 200, "{forged}");
    }
}
