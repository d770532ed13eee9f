//! PKCE (RFC 7636) with the S256 method.
//!
//! Google supports PKCE for web clients; we use it on top of the client secret so that an
//! authorization code leaked from a redirect (browser history, proxy logs) is useless without the
//! verifier, which never leaves the server-side session.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// Random bytes behind a verifier: 64 bytes encode to 86 base64url characters, inside RFC 7636's
/// 43–128 and drawn only from its unreserved set (`A–Z a–z 0–9 - _`).
const VERIFIER_BYTES: usize = 64;

/// A PKCE verifier and its S256 challenge.
#[derive(Debug)]
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl Pkce {
    /// A fresh verifier from the operating system's random number generator.
    ///
    /// # Panics
    /// Only if the operating system cannot supply random bytes, in which case no secure
    /// verifier (or session, or token) can be made at all.
    pub fn generate() -> Self {
        let mut bytes = [0u8; VERIFIER_BYTES];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn from_verifier(verifier: String) -> Self {
        let challenge = challenge_of(&verifier);
        Self {
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    /// The verifier, sent with the code exchange ([`crate::GoogleOAuth::exchange_code`]).
    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// `BASE64URL-NOPAD(SHA256(verifier))`, sent in the authorization URL.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn challenge_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_are_long_unreserved_and_distinct() {
        let first = Pkce::generate();
        let second = Pkce::generate();
        let verifier = first.verifier().expose_secret();
        assert!((43..=128).contains(&verifier.len()));
        assert!(
            verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert_ne!(verifier, second.verifier().expose_secret());
        assert_eq!(first.challenge(), challenge_of(verifier));
        assert_eq!(first.challenge().len(), 43);
    }
}
