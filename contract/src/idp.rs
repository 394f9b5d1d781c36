//! A real identity provider for tests, on loopback: RSA (2048-bit) and EC P-256 keys generated per
//! run, tokens signed with them by RustCrypto (not the ring the service verifies with), and the key set served as a JWKS over HTTP by a
//! small hyper server on `127.0.0.1:0`. No mocks: the service under test fetches and verifies exactly
//! as it would against Cognito or any other provider.
//!
//! Its crate depends on nothing of the workspace, so that `app-core`'s own unit tests use it as the
//! cross-target tests do, with one `app-core` in the build.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use p256::ecdsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The issuer the tokens of [`claims`] carry.
pub const ISSUER: &str = "https://idp.test/";
/// The audience the tokens of [`claims`] carry.
pub const AUDIENCE: &str = "users-api";
/// The scope the tokens of [`claims`] grant (besides `openid`).
pub const SCOPE: &str = "users:read";

/// A signing key of the provider: its id, its private half and its public JWK.
pub struct SigningKey {
    kid: String,
    private: PrivateKey,
    jwk: Value,
    /// The public key's DER (for the HMAC-with-the-public-key attack).
    public_der: Vec<u8>,
}

/// The private half, with the algorithm it signs.
enum PrivateKey {
    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa(rsa::pkcs1v15::SigningKey<Sha256>),
    /// ES256: ECDSA on P-256 with SHA-256.
    Ec(p256::ecdsa::SigningKey),
}

impl SigningKey {
    /// A fresh 2048-bit RSA key that signs RS256.
    pub fn rsa(kid: &str) -> Self {
        use rsa::pkcs1::EncodeRsaPublicKey;
        use rsa::traits::PublicKeyParts;
        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).expect("RSA key");
        let public = private.to_public_key();
        Self {
            kid: kid.to_owned(),
            jwk: json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(public.n_bytes()),
                "e": URL_SAFE_NO_PAD.encode(public.e_bytes()),
            }),
            public_der: public.to_pkcs1_der().expect("public DER").into_vec(),
            private: PrivateKey::Rsa(rsa::pkcs1v15::SigningKey::new(private)),
        }
    }

    /// A fresh P-256 key that signs ES256.
    pub fn ec(kid: &str) -> Self {
        use p256::elliptic_curve::Generate;
        use p256::elliptic_curve::sec1::Coordinates;
        use p256::pkcs8::EncodePublicKey;
        let secret = p256::SecretKey::generate();
        let signing = p256::ecdsa::SigningKey::from(&secret);
        let point = signing.verifying_key().to_sec1_point(false);
        let Coordinates::Uncompressed { x, y } = point.coordinates() else {
            unreachable!("an uncompressed point")
        };
        Self {
            kid: kid.to_owned(),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(x),
                "y": URL_SAFE_NO_PAD.encode(y),
            }),
            public_der: secret
                .public_key()
                .to_public_key_der()
                .expect("public DER")
                .into_vec(),
            private: PrivateKey::Ec(signing),
        }
    }

    /// The key id (`kid`) it publishes and signs under.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (what the JWKS publishes).
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// `claims` signed with this key, the header naming its `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let algorithm = match self.private {
            PrivateKey::Rsa(_) => "RS256",
            PrivateKey::Ec(_) => "ES256",
        };
        jws(algorithm, &self.kid, claims, |input| match &self.private {
            PrivateKey::Rsa(key) => key.sign(input).to_vec(),
            PrivateKey::Ec(key) => {
                let signature: p256::ecdsa::Signature = key.sign(input);
                signature.to_bytes().to_vec()
            }
        })
    }

    /// `claims` signed HS256 with this key's public DER as the secret, the header naming its `kid`:
    /// the algorithm-confusion attack.
    pub fn sign_hs256_with_public_key(&self, claims: &Value) -> String {
        jws("HS256", &self.kid, claims, |input| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&self.public_der).expect("HMAC key");
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        })
    }

    /// `claims` with `"alg":"none"` and no signature, the header naming this key's `kid`.
    pub fn unsigned(&self, claims: &Value) -> String {
        jws("none", &self.kid, claims, |_| Vec::new())
    }
}

/// A compact JWS: the header (`alg`, `typ`, `kid`) and `claims`, and what `sign` makes of them.
fn jws(algorithm: &str, kid: &str, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let header = json!({"alg": algorithm, "typ": "JWT", "kid": kid});
    let input = format!("{}.{}", b64_json(&header), b64_json(claims));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// `token` with its payload replaced by `claims` (the signature left as it was).
pub fn with_payload(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let (header, _, signature) = (parts.next(), parts.next(), parts.next());
    format!(
        "{}.{}.{}",
        header.unwrap_or_default(),
        b64_json(claims),
        signature.unwrap_or_default()
    )
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JSON"))
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The claims of a valid access token: [`ISSUER`], [`AUDIENCE`], [`SCOPE`], five minutes to live.
pub fn claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "client-1",
        "scope": format!("openid {SCOPE}"),
        "iat": now,
        "exp": now + 300,
        "jti": unique(),
    })
}

/// [`claims`] with `changes` merged in (a `null` removes the claim).
pub fn claims_with(changes: Value) -> Value {
    let mut claims = claims();
    let claims_map = claims.as_object_mut().expect("claims are an object");
    for (name, value) in changes.as_object().expect("changes are an object") {
        if value.is_null() {
            claims_map.remove(name);
        } else {
            claims_map.insert(name.clone(), value.clone());
        }
    }
    claims
}

/// A valid token signed by `key`, padded (in a claim) to the largest length not over `max` bytes
/// (base64 makes some lengths unreachable: it is at most 3 bytes short).
pub fn token_up_to(key: &SigningKey, max: usize) -> String {
    let b64_len = |bytes: usize| (bytes * 4).div_ceil(3);
    let unpadded = key.sign(&claims_with(json!({"pad": ""})));
    let payload_json = unpadded.split('.').nth(1).unwrap_or_default().len() * 3 / 4;
    let fixed = unpadded.len() - b64_len(payload_json);
    let pad = (0..max)
        .take_while(|pad| fixed + b64_len(payload_json + pad) <= max)
        .last()
        .expect("max leaves room for the claims");
    let token = key.sign(&claims_with(json!({"pad": "x".repeat(pad)})));
    assert!(
        token.len() <= max && token.len() + 3 >= max,
        "padded to {} bytes for {max}",
        token.len()
    );
    token
}

/// A value unique in this process (so that two tokens minted alike still differ).
fn unique() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Keys generated once per test process: RSA key generation takes a moment in a debug build.
pub fn shared_rsa() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::rsa("rsa-1"))
}

/// See [`shared_rsa`].
pub fn shared_ec() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::ec("ec-1"))
}

/// A JWKS endpoint on `127.0.0.1`: serves the published keys at any path, records each fetch (and its `traceparent`), and can
/// be stopped (connections are then refused). Every answer closes its connection, so a stopped server
/// is really gone for its clients.
pub struct JwksServer {
    address: SocketAddr,
    keys: Arc<Mutex<Vec<Value>>>,
    /// The `traceparent` header of each fetch, in order (`None` when it had none).
    fetches: Arc<Mutex<Vec<Option<String>>>>,
    task: JoinHandle<()>,
}

impl JwksServer {
    /// Starts serving `keys`.
    pub async fn start(keys: &[&SigningKey]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let published = Arc::new(Mutex::new(keys.iter().map(|k| k.jwk()).collect()));
        let fetches: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let task = tokio::spawn(serve(listener, published.clone(), fetches.clone()));
        Self {
            address,
            keys: published,
            fetches,
            task,
        }
    }

    /// The JWKS URL.
    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.address)
    }

    /// Adds `key` to the published set (key rotation).
    pub fn publish(&self, key: &SigningKey) {
        self.keys.lock().unwrap().push(key.jwk());
    }

    /// Removes the key `kid` from the published set.
    pub fn retire(&self, kid: &str) {
        self.keys.lock().unwrap().retain(|jwk| jwk["kid"] != kid);
    }

    /// How many times the key set was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.lock().unwrap().len()
    }

    /// The W3C `traceparent` header each fetch carried, in order (`None` for a fetch without one).
    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.fetches.lock().unwrap().clone()
    }

    /// Stops listening: from now on connections are refused.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn serve(
    listener: TcpListener,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<Mutex<Vec<Option<String>>>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (keys, fetches) = (keys.clone(), fetches.clone());
        let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let traceparent = request
                .headers()
                .get("traceparent")
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            fetches.lock().unwrap().push(traceparent);
            let body = json!({"keys": *keys.lock().unwrap()}).to_string();
            async move {
                Ok::<_, Infallible>(
                    hyper::Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))
                        .expect("response"),
                )
            }
        });
        tokio::spawn(
            http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}

/// A URL on which nothing listens (a port bound, then released).
pub fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{address}/.well-known/jwks.json")
}
