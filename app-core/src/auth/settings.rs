//! `AUTH` and the `JWT_*` / `JWKS_*` variables, checked at start-up like every other setting.

use std::time::Duration;

use url::{Host, Url};

use crate::config::{ConfigError, Env, vars};

/// `AUTH`: who may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSettings {
    /// `AUTH=none` (the default): anyone who reaches the API may read users.
    None,
    /// `AUTH=jwt`: `GET`/`HEAD /users/{id}` need a bearer token from the configured provider.
    Jwt(JwtSettings),
}

/// What a token must satisfy with `AUTH=jwt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `JWT_ISSUER`: the exact `iss` claim.
    pub issuer: String,
    /// `JWT_AUDIENCE`: a value the `aud` claim must contain.
    pub audience: String,
    /// `JWKS_URL`: where the provider publishes its signing keys: https, or http to a loopback host,
    /// or http to any host with `JWKS_ALLOW_INSECURE_HTTP=true`.
    pub jwks_url: Url,
    /// `JWT_REQUIRED_SCOPE` (default `users:read`): the scope the token must grant.
    pub required_scope: String,
    /// `JWKS_REFETCH_INTERVAL_SECS` (default 30, 1 to 3600): the shortest time between two fetches
    /// of the key set (a token naming an unknown key id causes a fetch only after it).
    pub jwks_refetch_interval: Duration,
}

/// The scope a token needs when `JWT_REQUIRED_SCOPE` is unset.
pub const DEFAULT_REQUIRED_SCOPE: &str = "users:read";

/// The shortest time between two fetches of the key set when `JWKS_REFETCH_INTERVAL_SECS` is unset.
pub const DEFAULT_JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// The bounds of `JWKS_REFETCH_INTERVAL_SECS`: at least a second, so that tokens with made-up key
/// ids never make more than one fetch a second per instance; at most an hour, so that a rotated key
/// is picked up the same hour.
const JWKS_REFETCH_INTERVAL_SECS: std::ops::RangeInclusive<u64> = 1..=3600;

impl AuthSettings {
    /// Reads `AUTH` and, with `AUTH=jwt`, the variables it needs.
    pub(crate) fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        match env.get(vars::AUTH).as_deref() {
            None | Some("none") => Ok(Self::None),
            Some("jwt") => Ok(Self::Jwt(JwtSettings {
                issuer: required(env, vars::JWT_ISSUER, "the exact `iss` of accepted tokens")?,
                audience: required(env, vars::JWT_AUDIENCE, "the audience accepted tokens name")?,
                jwks_url: jwks_url(
                    &required(
                        env,
                        vars::JWKS_URL,
                        "the URL of the provider's JSON Web Key Set",
                    )?,
                    allow_insecure_http(env)?,
                )?,
                required_scope: required_scope(env.get(vars::JWT_REQUIRED_SCOPE))?,
                jwks_refetch_interval: Duration::from_secs(env.number(
                    vars::JWKS_REFETCH_INTERVAL_SECS,
                    DEFAULT_JWKS_REFETCH_INTERVAL.as_secs(),
                    |secs| JWKS_REFETCH_INTERVAL_SECS.contains(secs),
                    "expected whole seconds from 1 to 3600",
                )?),
            })),
            Some(other) => Err(ConfigError::invalid(
                vars::AUTH,
                other,
                "expected none or jwt",
            )),
        }
    }
}

fn required<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    var: &'static str,
    what: &str,
) -> Result<String, ConfigError> {
    env.get(var).ok_or_else(|| ConfigError::Missing {
        var,
        reason: format!("AUTH=jwt needs {what}"),
    })
}

fn jwks_url(raw: &str, allow_insecure_http: bool) -> Result<Url, ConfigError> {
    let expected = "expected an http or https URL with a host";
    let url = Url::parse(raw)
        .map_err(|err| ConfigError::invalid(vars::JWKS_URL, raw, format!("{expected} ({err})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::invalid(vars::JWKS_URL, raw, expected));
    }
    if insecure_http(&url) && !allow_insecure_http {
        return Err(ConfigError::invalid(
            vars::JWKS_URL,
            raw,
            format!(
                "plain http is accepted only to a loopback host (127.0.0.0/8, ::1, localhost): \
                 whoever can intercept it can mint tokens; use https, or set {}=true to accept that",
                vars::JWKS_ALLOW_INSECURE_HTTP
            ),
        ));
    }
    Ok(url)
}

/// `JWKS_ALLOW_INSECURE_HTTP`: `true` lets `JWKS_URL` be plain http to any host (default `false`).
fn allow_insecure_http<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<bool, ConfigError> {
    env.flag(vars::JWKS_ALLOW_INSECURE_HTTP, false)
}

/// Whether the key set at `url` travels unprotected over the network: plain http to a host other
/// than loopback (127.0.0.0/8, `::1`, `localhost`).
pub(super) fn insecure_http(url: &Url) -> bool {
    let loopback = match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    url.scheme() == "http" && !loopback
}

/// A scope as RFC 6750 allows it in a `WWW-Authenticate` challenge: printable ASCII except space,
/// `"` and `\`.
fn required_scope(value: Option<String>) -> Result<String, ConfigError> {
    let Some(scope) = value else {
        return Ok(DEFAULT_REQUIRED_SCOPE.to_owned());
    };
    if scope
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        Ok(scope)
    } else {
        Err(ConfigError::invalid(
            vars::JWT_REQUIRED_SCOPE,
            &scope,
            "a scope is printable ASCII without spaces, '\"' or '\\'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<AuthSettings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuthSettings::read(&Env::from_fn(move |name| map.get(name).cloned()))
    }

    const JWT: &[(&str, &str)] = &[
        ("AUTH", "jwt"),
        ("JWT_ISSUER", "https://issuer.example"),
        ("JWT_AUDIENCE", "users-api"),
        ("JWKS_URL", "https://issuer.example/.well-known/jwks.json"),
    ];

    #[test]
    fn unset_is_none_and_jwt_reads_its_variables_with_the_default_scope() {
        assert_eq!(read(&[]).unwrap(), AuthSettings::None);
        assert_eq!(read(&[("AUTH", "none")]).unwrap(), AuthSettings::None);
        let AuthSettings::Jwt(jwt) = read(JWT).unwrap() else {
            panic!("AUTH=jwt")
        };
        assert_eq!(jwt.issuer, "https://issuer.example");
        assert_eq!(jwt.audience, "users-api");
        assert_eq!(jwt.jwks_url.host_str(), Some("issuer.example"));
        assert_eq!(jwt.required_scope, "users:read");
        assert_eq!(jwt.jwks_refetch_interval, Duration::from_secs(30));
    }

    #[test]
    fn each_missing_or_bad_value_names_its_variable_on_one_line() {
        let without = |var: &str| -> Vec<(&str, &str)> {
            JWT.iter().copied().filter(|(k, _)| *k != var).collect()
        };
        let with = |var: &'static str, value: &'static str| -> Vec<(&str, &str)> {
            let mut vars = without(var);
            vars.push((var, value));
            vars
        };
        let cases = [
            (vec![("AUTH", "oauth")], "AUTH"),
            (without("JWT_ISSUER"), "JWT_ISSUER"),
            (without("JWT_AUDIENCE"), "JWT_AUDIENCE"),
            (without("JWKS_URL"), "JWKS_URL"),
            (with("JWKS_URL", "issuer.example/jwks"), "JWKS_URL"),
            (with("JWKS_URL", "ftp://issuer.example/jwks"), "JWKS_URL"),
            (with("JWKS_URL", "file:///etc/jwks.json"), "JWKS_URL"),
            (with("JWKS_URL", "http://issuer.example/jwks"), "JWKS_URL"),
            (with("JWKS_URL", "http://10.0.0.7:5556/keys"), "JWKS_URL"),
            (
                with("JWKS_URL", "http://[::ffff:127.0.0.1]/keys"),
                "JWKS_URL",
            ),
            (
                with("JWKS_URL", "http://localhost.example/keys"),
                "JWKS_URL",
            ),
            (
                with("JWKS_ALLOW_INSECURE_HTTP", "yes"),
                "JWKS_ALLOW_INSECURE_HTTP",
            ),
            (
                with("JWT_REQUIRED_SCOPE", "users:read users:write"),
                "JWT_REQUIRED_SCOPE",
            ),
            (
                with("JWT_REQUIRED_SCOPE", "users\"read"),
                "JWT_REQUIRED_SCOPE",
            ),
            (
                with("JWKS_REFETCH_INTERVAL_SECS", "0"),
                "JWKS_REFETCH_INTERVAL_SECS",
            ),
            (
                with("JWKS_REFETCH_INTERVAL_SECS", "3601"),
                "JWKS_REFETCH_INTERVAL_SECS",
            ),
            (
                with("JWKS_REFETCH_INTERVAL_SECS", "0.5"),
                "JWKS_REFETCH_INTERVAL_SECS",
            ),
        ];
        for (vars, var) in cases {
            let err = read(&vars).unwrap_err();
            assert_eq!(err.var(), var, "{vars:?}");
            assert!(err.to_string().starts_with(var), "{err}");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }

    #[test]
    fn plain_http_is_refused_to_another_host_naming_jwks_url_and_the_way_out() {
        let mut vars = JWT.to_vec();
        vars.push(("JWKS_URL", "http://issuer.example/jwks"));
        vars.push(("JWKS_ALLOW_INSECURE_HTTP", "false"));

        let err = read(&vars).unwrap_err().to_string();

        assert!(err.starts_with("JWKS_URL="), "{err}");
        assert!(err.contains("loopback"), "{err}");
        assert!(err.contains("JWKS_ALLOW_INSECURE_HTTP=true"), "{err}");
    }

    #[test]
    fn plain_http_is_accepted_to_loopback_or_with_the_opt_in_and_https_always() {
        let jwks_url = |url: &'static str, opt_in: Option<&'static str>| {
            let mut vars = JWT.to_vec();
            vars.push(("JWKS_URL", url));
            vars.extend(opt_in.map(|value| ("JWKS_ALLOW_INSECURE_HTTP", value)));
            match read(&vars) {
                Ok(AuthSettings::Jwt(jwt)) => Ok(insecure_http(&jwt.jwks_url)),
                other => Err(format!("{url} {opt_in:?}: {other:?}")),
            }
        };

        for loopback in [
            "http://127.0.0.1:5556/dex/keys",
            "http://127.8.9.10/keys",
            "http://[::1]:8080/keys",
            "http://localhost/keys",
            "http://LocalHost:80/keys",
        ] {
            assert_eq!(jwks_url(loopback, None), Ok(false));
        }
        assert_eq!(jwks_url("https://issuer.example/jwks", None), Ok(false));
        assert_eq!(
            jwks_url("https://issuer.example/jwks", Some("true")),
            Ok(false)
        );
        assert_eq!(
            jwks_url("http://dex.auth.svc:5556/keys", Some("true")),
            Ok(true),
            "accepted, and known to be insecure (the start-up log warns)"
        );
    }

    #[test]
    fn a_plain_http_jwks_url_and_a_custom_scope_are_accepted() {
        let AuthSettings::Jwt(jwt) = read(&[
            ("AUTH", "jwt"),
            ("JWT_ISSUER", "http://127.0.0.1:5556/dex"),
            ("JWT_AUDIENCE", "users-api"),
            ("JWKS_URL", "http://127.0.0.1:5556/dex/keys"),
            ("JWT_REQUIRED_SCOPE", "api://users/User.Read"),
            ("JWKS_REFETCH_INTERVAL_SECS", "1"),
        ])
        .unwrap() else {
            panic!("AUTH=jwt")
        };
        assert_eq!(jwt.jwks_url.scheme(), "http");
        assert_eq!(jwt.required_scope, "api://users/User.Read");
        assert_eq!(jwt.jwks_refetch_interval, Duration::from_secs(1));
    }
}
