//! The `Host` rule (RFC 9112 §3.2, as nginx answers): an HTTP/1.1 request carries exactly one `Host`
//! header, and its value is a host; anything else is `400 BAD_REQUEST`. An HTTP/1.0 request may carry
//! none.
//!
//! What counts as a host is decided here once, for every front door: `lambda-fn` also uses
//! [`is_valid_host`] for the event values `lambda_http` builds a request URI from.

use axum::http::header::HOST;
use axum::http::{Request, Version};

/// Whether `value` is a `Host` value: a name of ASCII letters, digits, `-` and `.` (or an IPv4
/// address), or an IPv6 address in brackets, then an optional `:port` (0–65535), at most 261 bytes.
/// The name is also one the WHATWG URL parser accepts as a host (a numeric last label is an IPv4
/// address; an `xn--` label is valid Punycode), so a URL built from it always parses.
pub fn is_valid_host(value: &str) -> bool {
    if value.len() > 261 {
        return false;
    }
    let (name, port) = match value.rsplit_once(':') {
        Some((name, port)) if !name.starts_with('[') || name.ends_with(']') => (name, Some(port)),
        _ => (value, None),
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
    });
    let name_ok = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(ipv6) => ipv6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && (is_dotted_ipv4(name) || url::Host::parse(name).is_ok())
        }
    };
    port_ok && name_ok
}

/// Whether `name` is an IPv4 address in plain dotted decimal (`127.0.0.1`, no leading zeros): always
/// a host to the WHATWG parser too, and the usual `Host` behind a load balancer or a probe, checked
/// without `url::Host::parse`'s domain processing (about 6,000 instructions a request).
fn is_dotted_ipv4(name: &str) -> bool {
    name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Whether `req` keeps the `Host` rule.
pub(super) fn keeps_host_rule<B>(req: &Request<B>) -> bool {
    let mut hosts = req.headers().get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) => req.version() <= Version::HTTP_10,
        (Some(host), None) => host.to_str().is_ok_and(is_valid_host),
        (Some(_), Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for host in [
            "example.com",
            "example.com:8080",
            "127.0.0.1:3000",
            "[::1]:3000",
            "[::1]",
            "a1b2.lambda-url.eu-west-1.on.aws",
            "localhost",
            "example.com.",
        ] {
            assert!(is_valid_host(host), "{host}");
        }
    }

    #[test]
    fn not_hosts() {
        for host in [
            "",
            "bad host",
            "a,b",
            "a.example, b.example",
            "user@example.com",
            "example.com:",
            "example.com:65536",
            "example.com:8o",
            "[::1",
            "[nope]:80",
            "}}example.com",
            "example-1).com",
            "999.1.1.1",
            "%41.example",
            "a_b.example",
        ] {
            assert!(!is_valid_host(host), "{host}");
        }
        assert!(!is_valid_host(&"a".repeat(262)));
    }

    #[test]
    fn a_dotted_ipv4_address_is_a_host_to_the_url_parser_too() {
        for name in [
            "127.0.0.1",
            "0.0.0.0",
            "10.0.12.34",
            "255.255.255.255",
            "192.168.1.1",
        ] {
            assert!(is_dotted_ipv4(name), "{name}");
            assert!(url::Host::parse(name).is_ok(), "{name}");
        }
        for name in [
            "01.2.3.4",
            "1.2.3",
            "0x7f.0.0.1",
            "256.1.1.1",
            "1.2.3.4.",
            "localhost",
        ] {
            assert!(!is_dotted_ipv4(name), "{name}");
        }
    }

    fn request(version: Version, hosts: &[&str]) -> Request<()> {
        let mut builder = Request::builder().version(version).uri("/users/u-1");
        for host in hosts {
            builder = builder.header(HOST, *host);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn one_valid_host_keeps_the_rule() {
        assert!(keeps_host_rule(&request(
            Version::HTTP_11,
            &["example.com"]
        )));
        assert!(keeps_host_rule(&request(Version::HTTP_10, &[])));
    }

    #[test]
    fn none_two_or_an_invalid_one_break_it() {
        assert!(!keeps_host_rule(&request(Version::HTTP_11, &[])));
        assert!(!keeps_host_rule(&request(
            Version::HTTP_11,
            &["a.example", "a.example"]
        )));
        assert!(!keeps_host_rule(&request(
            Version::HTTP_10,
            &["a.example", "b.example"]
        )));
        assert!(!keeps_host_rule(&request(Version::HTTP_11, &["bad host"])));
    }
}
