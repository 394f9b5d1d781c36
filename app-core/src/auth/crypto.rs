//! The signature checks `jsonwebtoken` makes, on ring: the crypto library the TLS stack (rustls) already
//! links, so bearer tokens add no second one to the Lambda package. `jsonwebtoken` keeps the JWT
//! handling (parsing, the algorithm rules, the claims); this module only answers "does this signature
//! verify with this key", for the two algorithms the service accepts:
//!
//! - RS256: RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits (ring refuses shorter ones);
//! - ES256: ECDSA on P-256 with SHA-256, the signature as the 64 bytes `r || s` (RFC 7518).
//!
//! It signs nothing: the service never issues tokens.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};

/// The provider: RS256 and ES256 verification on ring; no signing, no JWK utilities.
static RING: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes ring `jsonwebtoken`'s provider for this process. Idempotent; called before the first check.
pub(super) fn install() {
    // Fails only if a provider is already installed: this one (no other is built in).
    let _ = RING.install_default();
}

fn signer_factory(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::Provider("this service verifies tokens, it signs none".into()).into())
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    // A key is used for its own family only (an HMAC secret never checks an ECDSA signature).
    if key.family() != algorithm.family() {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let verifier = match (algorithm, key.kind()) {
        (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => RingVerifier {
            algorithm: Algorithm::RS256,
            key: PublicKey::RsaComponents {
                n: n.clone(),
                e: e.clone(),
            },
        },
        // A P-256 key from a JWK: the uncompressed point `04 || x || y`.
        (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => RingVerifier {
            algorithm: Algorithm::ES256,
            key: PublicKey::P256Point(point.clone()),
        },
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(verifier))
}

/// A public key in the form ring reads.
enum PublicKey {
    RsaComponents { n: Vec<u8>, e: Vec<u8> },
    P256Point(Vec<u8>),
}

struct RingVerifier {
    algorithm: Algorithm,
    key: PublicKey,
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        let verified = match &self.key {
            PublicKey::RsaComponents { n, e } => RsaPublicKeyComponents { n, e }.verify(
                &RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
            PublicKey::P256Point(point) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
            }
        };
        verified.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rs256_with_rsa_components_and_es256_with_a_point_get_a_verifier() {
        let rsa = DecodingKey::from_rsa_raw_components(&[0xc5; 256], &[1, 0, 1]);
        let point = DecodingKey::from_ec_der(&[4; 65]);
        let secret = DecodingKey::from_secret(b"a shared secret").unwrap();

        let accepted = |algorithm: Algorithm, key: &DecodingKey| {
            verifier_factory(&algorithm, key)
                .map(|verifier| verifier.algorithm())
                .ok()
        };

        assert_eq!(accepted(Algorithm::RS256, &rsa), Some(Algorithm::RS256));
        assert_eq!(accepted(Algorithm::ES256, &point), Some(Algorithm::ES256));
        for (algorithm, key) in [
            (Algorithm::HS256, &secret),
            (Algorithm::HS256, &rsa),
            (Algorithm::PS256, &rsa),
            (Algorithm::RS512, &rsa),
            (Algorithm::ES384, &point),
            (Algorithm::EdDSA, &point),
            (Algorithm::RS256, &point),
            (Algorithm::ES256, &rsa),
            (Algorithm::ES256, &secret),
        ] {
            assert_eq!(accepted(algorithm, key), None, "{algorithm:?}");
        }
    }

    #[test]
    fn a_signature_that_does_not_verify_is_an_error_not_a_panic() {
        let rsa = DecodingKey::from_rsa_raw_components(&[0xc5; 256], &[1, 0, 1]);
        let point = DecodingKey::from_ec_der(&[4; 65]);
        for (algorithm, key) in [(Algorithm::RS256, &rsa), (Algorithm::ES256, &point)] {
            let verifier = verifier_factory(&algorithm, key).unwrap();
            assert!(verifier.verify(b"header.payload", &vec![0; 64]).is_err());
            assert!(verifier.verify(b"header.payload", &Vec::new()).is_err());
        }
    }

    #[test]
    fn it_signs_nothing() {
        let key = EncodingKey::from_secret(b"a shared secret").unwrap();
        assert!(signer_factory(&Algorithm::HS256, &key).is_err());
    }
}
