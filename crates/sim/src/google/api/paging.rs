//! Opaque, deterministic page tokens bound to the request they continue (AIP-158, reference
//! §2.3 and §8.4).
//!
//! A token is `base64url(version ‖ fingerprint ‖ n ‖ cursor[n] ‖ mac)`: the fingerprint hashes
//! every parameter except the token itself, the cursor (up to [`MAX_CURSOR`] integers) says
//! where the next page starts, and the MAC (keyed by the simulator seed) makes tokens
//! unforgeable. The same request always yields the same token; a token replayed with other
//! parameters, altered or invented is rejected.
//!
//! Cursors are keys, not offsets (the day, start and position of the last point returned, or the
//! last window's index), so data that appears at the newest end while a client pages does not
//! shift later pages.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac, digest::KeyInit};
use sha2::{Digest, Sha256};

const VERSION: u8 = 2;
const FINGERPRINT_LEN: usize = 16;
const MAC_LEN: usize = 16;
/// The most integers a cursor holds.
pub(crate) const MAX_CURSOR: usize = 4;

/// A hash of the request parameters a page token is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint([u8; FINGERPRINT_LEN]);

impl Fingerprint {
    /// Hashes the parts with their lengths, so `("ab", "c")` and `("a", "bc")` differ.
    pub(crate) fn of(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut fingerprint = [0u8; FINGERPRINT_LEN];
        fingerprint.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        Self(fingerprint)
    }
}

/// Why a page token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not a token this simulator issued (garbled, truncated, forged).
    NotIssued,
    /// Issued for a request with other parameters.
    OtherRequest,
}

impl TokenError {
    pub(crate) fn description(self) -> &'static str {
        match self {
            TokenError::NotIssued => "the page token was not issued by this service",
            TokenError::OtherRequest => {
                "the page token was issued for a request with other parameters"
            }
        }
    }
}

/// Issues and checks page tokens with a key derived from the seed.
#[derive(Clone, Debug)]
pub(crate) struct PageTokens {
    /// One SHA-256 block, so the key needs no further processing and HMAC setup cannot fail.
    key: [u8; 64],
}

impl PageTokens {
    pub(crate) fn new(seed: u64) -> Self {
        let mut key = [0u8; 64];
        for (half, chunk) in key.chunks_exact_mut(32).enumerate() {
            let digest = Sha256::new()
                .chain_update(b"google-sim page tokens")
                .chain_update(seed.to_be_bytes())
                .chain_update([half as u8])
                .finalize();
            chunk.copy_from_slice(&digest);
        }
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&self.key.into());
        mac.update(payload);
        mac
    }

    /// A token continuing the request of `fingerprint` at `cursor` (at most [`MAX_CURSOR`]
    /// integers; more are not kept).
    pub(crate) fn issue(&self, fingerprint: Fingerprint, cursor: &[i64]) -> String {
        let cursor = &cursor[..cursor.len().min(MAX_CURSOR)];
        let mut token = Vec::with_capacity(2 + FINGERPRINT_LEN + 8 * cursor.len() + MAC_LEN);
        token.push(VERSION);
        token.extend_from_slice(&fingerprint.0);
        token.push(cursor.len() as u8);
        for part in cursor {
            token.extend_from_slice(&part.to_be_bytes());
        }
        let tag = self.mac(&token).finalize().into_bytes();
        token.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The cursor of a token issued for `fingerprint`.
    pub(crate) fn redeem(
        &self,
        token: &str,
        fingerprint: Fingerprint,
    ) -> Result<Vec<i64>, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::NotIssued)?;
        let header = 2 + FINGERPRINT_LEN;
        let parts = usize::from(*bytes.get(header - 1).ok_or(TokenError::NotIssued)?);
        if bytes[0] != VERSION || parts > MAX_CURSOR || bytes.len() != header + 8 * parts + MAC_LEN
        {
            return Err(TokenError::NotIssued);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        self.mac(payload)
            .verify_truncated_left(tag)
            .map_err(|_| TokenError::NotIssued)?;
        if payload[1..=FINGERPRINT_LEN] != fingerprint.0 {
            return Err(TokenError::OtherRequest);
        }
        Ok(payload[header..]
            .chunks_exact(8)
            .map(|chunk| {
                let mut part = [0u8; 8];
                part.copy_from_slice(chunk);
                i64::from_be_bytes(part)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_and_round_trip() {
        let tokens = PageTokens::new(42);
        let fingerprint = Fingerprint::of(&["list", "steps", "filter", "1440"]);
        let token = tokens.issue(fingerprint, &[-29_000_000, 7]);
        assert_eq!(
            token,
            PageTokens::new(42).issue(fingerprint, &[-29_000_000, 7])
        );
        assert_eq!(tokens.redeem(&token, fingerprint), Ok(vec![-29_000_000, 7]));
        let empty = tokens.issue(fingerprint, &[]);
        assert_eq!(tokens.redeem(&empty, fingerprint), Ok(vec![]));
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn tokens_are_bound_to_their_request_and_key() {
        let tokens = PageTokens::new(42);
        let fingerprint = Fingerprint::of(&["list", "steps", "a"]);
        let token = tokens.issue(fingerprint, &[7]);
        assert_eq!(
            tokens.redeem(&token, Fingerprint::of(&["list", "steps", "b"])),
            Err(TokenError::OtherRequest)
        );
        assert_ne!(Fingerprint::of(&["ab", "c"]), Fingerprint::of(&["a", "bc"]));
        assert_eq!(
            PageTokens::new(43).redeem(&token, fingerprint),
            Err(TokenError::NotIssued)
        );
    }

    #[test]
    fn altered_or_invented_tokens_are_refused() {
        let tokens = PageTokens::new(42);
        let fingerprint = Fingerprint::of(&["x"]);
        let token = tokens.issue(fingerprint, &[7]);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[20] ^= 1;
        assert_eq!(
            tokens.redeem(&URL_SAFE_NO_PAD.encode(bytes), fingerprint),
            Err(TokenError::NotIssued)
        );
        for bogus in ["", "not base64!", "AAAA", &token[..token.len() - 2]] {
            assert_eq!(
                tokens.redeem(bogus, fingerprint),
                Err(TokenError::NotIssued),
                "{bogus}"
            );
        }
    }
}
