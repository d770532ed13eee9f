//! Encryption of tokens and member secrets at rest.
//!
//! XChaCha20-Poly1305 with a random 192-bit nonce per value (random nonces are safe at any
//! volume with this cipher). The associated data names the member and the purpose of the value,
//! so a ciphertext copied into another member's record, or into another field, fails to open.
//! Every ciphertext carries the id of the key that sealed it, so the key can be rotated: set the
//! new key as `TOKEN_ENCRYPTION_KEY` and move the old one to `TOKEN_ENCRYPTION_OLD_KEYS`. What
//! is written from then on is sealed with the new key; what the old one sealed stays readable
//! until `oh-fitbit keys reseal` ([`crate::keys`]) has sealed it again with the new one.
//!
//! Values in the database are text (`v1.` and base64); staged chunks, which are large, are
//! sealed as bytes (`v1` and the same layout).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    KeyInit, Tag, XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, AeadInPlace, OsRng, Payload},
};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};

use crate::config::ConfigError;

const FORMAT_PREFIX: &str = "v1.";
const BINARY_PREFIX: &[u8] = b"v1";
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// What precedes the ciphertext of sealed bytes: the prefix, the key id and the nonce.
const HEADER_LEN: usize = BINARY_PREFIX.len() + KEY_ID_LEN + NONCE_LEN;
/// The first bytes of sealed bytes, which name the key that sealed them (see
/// [`TokenCipher::bytes_sealed_with`]).
pub const KEY_NAMING_LEN: usize = BINARY_PREFIX.len() + KEY_ID_LEN;

/// What a sealed value is for; part of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    OpenHumansTokens,
    GoogleTokens,
    GoogleClientSecret,
    /// The last 30 days the dashboard charts: health data, so sealed like the tokens.
    RecentDays,
    /// A chunk of staged health data; the associated data names its staging key, which
    /// starts with the member id.
    StagedChunk,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::OpenHumansTokens => "open-humans-tokens",
            Purpose::GoogleTokens => "google-tokens",
            Purpose::GoogleClientSecret => "google-client-secret",
            Purpose::RecentDays => "recent-days",
            Purpose::StagedChunk => "staged-chunk",
        }
    }
}

/// Which of the configured keys sealed a value, by the key id the value carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SealedWith {
    /// `TOKEN_ENCRYPTION_KEY`.
    Current,
    /// The key at this position (from 0) in `TOKEN_ENCRYPTION_OLD_KEYS`.
    Old(usize),
    /// None of them: the value names a key that is not configured, or is not a sealed value.
    Unknown,
}

struct SealingKey {
    id: [u8; KEY_ID_LEN],
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    fn from_secret(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self {
            id,
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }
}

/// The keyring: one key seals, all keys open.
pub struct TokenCipher {
    primary: SealingKey,
    previous: Vec<SealingKey>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCipher")
            .field("primary_key_id", &hex::encode(self.primary.id))
            .field("previous_keys", &self.previous.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the stored value is not in the expected sealed format")]
    Format,
    #[error("the stored value was sealed with a key that is not configured (key id {0})")]
    UnknownKey(String),
    #[error("the stored value failed authentication: wrong key, wrong member or tampered")]
    Authentication,
}

impl TokenCipher {
    /// Each key is 64 hex characters (32 bytes, used as is) or any other secret of at least 32
    /// characters, which is hashed into a key: Heroku's `secret` generator does not promise a
    /// format, and operators paste what they have.
    pub fn from_keys(
        variable: &'static str,
        primary: &SecretString,
        previous: &[SecretString],
    ) -> Result<Self, ConfigError> {
        let parse = |secret: &SecretString| -> Result<SealingKey, ConfigError> {
            let text = secret.expose_secret().trim();
            let mut key = [0u8; 32];
            if text.len() == 64 && hex::decode_to_slice(text, &mut key).is_ok() {
                return Ok(SealingKey::from_secret(&key));
            }
            if text.len() < 32 {
                return Err(ConfigError::new(
                    variable,
                    "must be 64 hexadecimal characters, or a random secret of at least 32 characters",
                ));
            }
            let derived: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            Ok(SealingKey::from_secret(&derived))
        };
        Ok(Self {
            primary: parse(primary)?,
            previous: previous.iter().map(parse).collect::<Result<_, _>>()?,
        })
    }

    /// A cipher with a fresh random key, for tests and the local stack.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system provides randomness");
        Self {
            primary: SealingKey::from_secret(&key),
            previous: Vec::new(),
        }
    }

    pub fn seal(&self, member: &str, purpose: Purpose, plaintext: &[u8]) -> String {
        let blob = self.seal_blob(member, purpose, plaintext);
        format!("{FORMAT_PREFIX}{}", URL_SAFE_NO_PAD.encode(blob))
    }

    /// [`TokenCipher::seal`] as bytes, for large values: sealed in place, so a chunk of health
    /// data is never held twice.
    pub fn seal_bytes(&self, name: &str, purpose: Purpose, mut plaintext: Vec<u8>) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let tag = self
            .primary
            .cipher
            .encrypt_in_place_detached(&nonce, &associated_data(name, purpose), &mut plaintext)
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut sealed = plaintext;
        let length = sealed.len();
        sealed.reserve_exact(HEADER_LEN + TAG_LEN);
        sealed.resize(HEADER_LEN + length, 0);
        sealed.copy_within(..length, HEADER_LEN);
        sealed[..BINARY_PREFIX.len()].copy_from_slice(BINARY_PREFIX);
        sealed[BINARY_PREFIX.len()..][..KEY_ID_LEN].copy_from_slice(&self.primary.id);
        sealed[HEADER_LEN - NONCE_LEN..HEADER_LEN].copy_from_slice(&nonce);
        sealed.extend_from_slice(&tag);
        sealed
    }

    /// Opens what [`TokenCipher::seal_bytes`] sealed, in place: the buffer becomes the
    /// plaintext.
    pub fn open_bytes(
        &self,
        member: &str,
        purpose: Purpose,
        mut sealed: Vec<u8>,
    ) -> Result<Vec<u8>, CryptoError> {
        let header = HEADER_LEN;
        if !sealed.starts_with(BINARY_PREFIX) || sealed.len() < header + TAG_LEN {
            return Err(CryptoError::Format);
        }
        let key = self.key_named(&sealed[BINARY_PREFIX.len()..][..KEY_ID_LEN])?;
        let nonce = *XNonce::from_slice(&sealed[header - NONCE_LEN..header]);
        let tag_at = sealed.len() - TAG_LEN;
        let tag = *Tag::from_slice(&sealed[tag_at..]);
        key.cipher
            .decrypt_in_place_detached(
                &nonce,
                &associated_data(member, purpose),
                &mut sealed[header..tag_at],
                &tag,
            )
            .map_err(|_| CryptoError::Authentication)?;
        sealed.truncate(tag_at);
        sealed.drain(..header);
        Ok(sealed)
    }

    fn seal_blob(&self, member: &str, purpose: Purpose, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(member, purpose);
        let ciphertext = self
            .primary
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut blob = Vec::with_capacity(KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&self.primary.id);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    pub fn open(
        &self,
        member: &str,
        purpose: Purpose,
        sealed: &str,
    ) -> Result<SecretSlice<u8>, CryptoError> {
        let blob = sealed
            .strip_prefix(FORMAT_PREFIX)
            .and_then(|encoded| URL_SAFE_NO_PAD.decode(encoded).ok())
            .ok_or(CryptoError::Format)?;
        self.open_blob(member, purpose, &blob)
    }

    fn open_blob(
        &self,
        member: &str,
        purpose: Purpose,
        blob: &[u8],
    ) -> Result<SecretSlice<u8>, CryptoError> {
        if blob.len() <= KEY_ID_LEN + NONCE_LEN {
            return Err(CryptoError::Format);
        }
        let (key_id, rest) = blob.split_at(KEY_ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key = self.key_named(key_id)?;
        let aad = associated_data(member, purpose);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map(SecretSlice::from)
            .map_err(|_| CryptoError::Authentication)
    }

    fn key_named(&self, id: &[u8]) -> Result<&SealingKey, CryptoError> {
        std::iter::once(&self.primary)
            .chain(&self.previous)
            .find(|key| key.id == id)
            .ok_or_else(|| CryptoError::UnknownKey(hex::encode(id)))
    }

    /// How many previous keys are configured.
    pub fn old_keys(&self) -> usize {
        self.previous.len()
    }

    /// Which key sealed `sealed`, by the key id it carries: only opening it proves the key
    /// does open it.
    pub fn sealed_with(&self, sealed: &str) -> SealedWith {
        sealed
            .strip_prefix(FORMAT_PREFIX)
            .and_then(|encoded| URL_SAFE_NO_PAD.decode(encoded).ok())
            .map_or(SealedWith::Unknown, |blob| self.key_position(&blob))
    }

    /// [`TokenCipher::sealed_with`] for sealed bytes, of which the first [`KEY_NAMING_LEN`]
    /// suffice: a staged chunk is told apart without reading all of it.
    pub fn bytes_sealed_with(&self, sealed: &[u8]) -> SealedWith {
        sealed
            .strip_prefix(BINARY_PREFIX)
            .map_or(SealedWith::Unknown, |blob| self.key_position(blob))
    }

    /// Which key the id at the start of `blob` names; the same one [`Self::key_named`] finds.
    fn key_position(&self, blob: &[u8]) -> SealedWith {
        let Some(id) = blob.get(..KEY_ID_LEN) else {
            return SealedWith::Unknown;
        };
        if id == self.primary.id {
            return SealedWith::Current;
        }
        self.previous
            .iter()
            .position(|key| key.id == id)
            .map_or(SealedWith::Unknown, SealedWith::Old)
    }

    /// Opens `sealed` and seals what it holds again, with the current key.
    pub fn reseal(
        &self,
        member: &str,
        purpose: Purpose,
        sealed: &str,
    ) -> Result<String, CryptoError> {
        let plain = self.open(member, purpose, sealed)?;
        Ok(self.seal(member, purpose, plain.expose_secret()))
    }

    /// [`TokenCipher::reseal`] for sealed bytes.
    pub fn reseal_bytes(
        &self,
        name: &str,
        purpose: Purpose,
        sealed: Vec<u8>,
    ) -> Result<Vec<u8>, CryptoError> {
        let plain = self.open_bytes(name, purpose, sealed)?;
        Ok(self.seal_bytes(name, purpose, plain))
    }
}

fn associated_data(member: &str, purpose: Purpose) -> Vec<u8> {
    format!("oh-fitbit/{}/{member}", purpose.label()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretString {
        SecretString::from(hex::encode([byte; 32]))
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let cipher = TokenCipher::from_keys("K", &key(1), &[]).unwrap();
        let a = cipher.seal("12345678", Purpose::GoogleTokens, b"secret token");
        let b = cipher.seal("12345678", Purpose::GoogleTokens, b"secret token");
        assert_ne!(a, b, "each seal uses a fresh nonce");
        assert!(!a.contains("secret"));
        let opened = cipher.open("12345678", Purpose::GoogleTokens, &a).unwrap();
        assert_eq!(opened.expose_secret(), b"secret token");
    }

    #[test]
    fn another_member_or_purpose_cannot_open_it() {
        let cipher = TokenCipher::from_keys("K", &key(1), &[]).unwrap();
        let sealed = cipher.seal("12345678", Purpose::GoogleTokens, b"t");
        assert!(matches!(
            cipher.open("87654321", Purpose::GoogleTokens, &sealed),
            Err(CryptoError::Authentication)
        ));
        assert!(matches!(
            cipher.open("12345678", Purpose::OpenHumansTokens, &sealed),
            Err(CryptoError::Authentication)
        ));
    }

    #[test]
    fn tampering_and_garbage_are_detected() {
        let cipher = TokenCipher::from_keys("K", &key(1), &[]).unwrap();
        let sealed = cipher.seal("m", Purpose::GoogleTokens, b"token");
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(cipher.open("m", Purpose::GoogleTokens, &tampered).is_err());
        assert!(matches!(
            cipher.open("m", Purpose::GoogleTokens, "plain text"),
            Err(CryptoError::Format)
        ));
    }

    #[test]
    fn rotation_opens_old_values_and_flags_them() {
        let old = TokenCipher::from_keys("K", &key(1), &[]).unwrap();
        let sealed = old.seal("m", Purpose::OpenHumansTokens, b"token");
        let rotated = TokenCipher::from_keys("K", &key(2), &[key(1)]).unwrap();
        assert_eq!(
            rotated
                .open("m", Purpose::OpenHumansTokens, &sealed)
                .unwrap()
                .expose_secret(),
            b"token"
        );
        assert_eq!(rotated.sealed_with(&sealed), SealedWith::Old(0));
        let resealed = rotated
            .reseal("m", Purpose::OpenHumansTokens, &sealed)
            .unwrap();
        assert_eq!(rotated.sealed_with(&resealed), SealedWith::Current);
        let without_old = TokenCipher::from_keys("K", &key(2), &[]).unwrap();
        assert!(matches!(
            without_old.open("m", Purpose::OpenHumansTokens, &sealed),
            Err(CryptoError::UnknownKey(_))
        ));
        assert_eq!(without_old.sealed_with(&sealed), SealedWith::Unknown);
        assert_eq!(
            without_old
                .open("m", Purpose::OpenHumansTokens, &resealed)
                .unwrap()
                .expose_secret(),
            b"token"
        );
    }

    #[test]
    fn each_old_key_is_named_by_its_position() {
        let sealed_by = |byte| {
            let cipher = TokenCipher::from_keys("K", &key(byte), &[]).unwrap();
            (
                cipher.seal("m", Purpose::GoogleTokens, b"t"),
                cipher.seal_bytes("m/a", Purpose::StagedChunk, b"chunk".to_vec()),
            )
        };
        let rotated = TokenCipher::from_keys("K", &key(3), &[key(1), key(2)]).unwrap();
        assert_eq!(rotated.old_keys(), 2);
        for (byte, expected) in [
            (1, SealedWith::Old(0)),
            (2, SealedWith::Old(1)),
            (3, SealedWith::Current),
            (4, SealedWith::Unknown),
        ] {
            let (text, bytes) = sealed_by(byte);
            assert_eq!(rotated.sealed_with(&text), expected, "key {byte}");
            assert_eq!(
                rotated.bytes_sealed_with(&bytes[..KEY_NAMING_LEN]),
                expected,
                "key {byte}, the first bytes only"
            );
        }
        let (text, bytes) = sealed_by(1);
        let resealed = rotated
            .reseal_bytes("m/a", Purpose::StagedChunk, bytes.clone())
            .unwrap();
        assert_eq!(rotated.bytes_sealed_with(&resealed), SealedWith::Current);
        assert_eq!(
            rotated
                .open_bytes("m/a", Purpose::StagedChunk, resealed)
                .unwrap(),
            b"chunk"
        );
        assert!(matches!(
            rotated.reseal_bytes("m/b", Purpose::StagedChunk, bytes),
            Err(CryptoError::Authentication)
        ));
        assert!(
            rotated
                .reseal("other", Purpose::GoogleTokens, &text)
                .is_err()
        );
        for garbage in ["", "v1.", "plain text", "v1.AAAA"] {
            assert_eq!(
                rotated.sealed_with(garbage),
                SealedWith::Unknown,
                "{garbage:?}"
            );
        }
        for garbage in [&b""[..], b"v1", b"v1abc", b"xx\x01\x02\x03\x04"] {
            assert_eq!(rotated.bytes_sealed_with(garbage), SealedWith::Unknown);
        }
    }

    #[test]
    fn bytes_are_sealed_like_text_and_bound_to_their_name() {
        let cipher = TokenCipher::from_keys("K", &key(1), &[]).unwrap();
        let name = "members/12345678/a.json";
        let chunk = br#"{"shape":"date","count":0}"#;
        let sealed = cipher.seal_bytes(name, Purpose::StagedChunk, chunk.to_vec());
        assert!(!sealed.windows(5).any(|w| w == b"shape"));
        let open = |name: &str, sealed: &[u8]| {
            cipher.open_bytes(name, Purpose::StagedChunk, sealed.to_vec())
        };
        assert_eq!(open(name, &sealed).unwrap(), chunk);
        // The layout after the prefix is the text format's.
        let as_text = cipher.open_blob(name, Purpose::StagedChunk, &sealed[BINARY_PREFIX.len()..]);
        assert_eq!(as_text.unwrap().expose_secret(), chunk);
        assert!(matches!(
            open("members/12345678/b.json", &sealed),
            Err(CryptoError::Authentication)
        ));
        assert!(matches!(open(name, chunk), Err(CryptoError::Format)));
        assert!(matches!(open(name, b"v1"), Err(CryptoError::Format)));
        for byte in [2, 10, sealed.len() - 1] {
            let mut flipped = sealed.clone();
            flipped[byte] ^= 1;
            assert!(open(name, &flipped).is_err(), "byte {byte} flipped");
        }
        let rotated = TokenCipher::from_keys("K", &key(2), &[key(1)]).unwrap();
        let opened = rotated.open_bytes(name, Purpose::StagedChunk, sealed.clone());
        assert_eq!(opened.unwrap(), chunk, "an old key still opens");
        let empty = cipher.seal_bytes(name, Purpose::StagedChunk, Vec::new());
        assert_eq!(open(name, &empty).unwrap(), b"");
    }

    #[test]
    fn long_non_hex_secrets_are_hashed_into_a_key() {
        let secret = SecretString::from("a-heroku-generated-secret-of-any-format-0123".to_owned());
        let cipher = TokenCipher::from_keys("K", &secret, &[]).unwrap();
        let sealed = cipher.seal("m", Purpose::GoogleTokens, b"t");
        let again = TokenCipher::from_keys("K", &secret, &[]).unwrap();
        assert_eq!(
            again
                .open("m", Purpose::GoogleTokens, &sealed)
                .unwrap()
                .expose_secret(),
            b"t"
        );
    }

    #[test]
    fn bad_keys_name_the_variable() {
        let error = TokenCipher::from_keys("TOKEN_ENCRYPTION_KEY", &SecretString::from("abc"), &[])
            .unwrap_err();
        assert_eq!(error.variable, "TOKEN_ENCRYPTION_KEY");
    }
}
