//! Random tokens, codes and ids. One seed from the OS at start, then SHA-256 in counter
//! mode, so that minting a token in a handler can never fail.

use std::{
    io,
    sync::atomic::{AtomicU64, Ordering},
};

use jiff::Timestamp;
use sha2::{Digest, Sha256};

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Debug)]
pub(super) struct SimRng {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl SimRng {
    pub(super) fn new() -> io::Result<Self> {
        let mut seed = [0; 32];
        getrandom::fill(&mut seed).map_err(io::Error::other)?;
        Ok(Self {
            seed,
            counter: AtomicU64::new(0),
        })
    }

    pub(super) fn bytes(&self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        while out.len() < len {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            out.extend_from_slice(
                &Sha256::new()
                    .chain_update(self.seed)
                    .chain_update(n.to_le_bytes())
                    .finalize(),
            );
        }
        out.truncate(len);
        out
    }

    /// oauthlib's `generate_token`: `[A-Za-z0-9]`, as codes and tokens look (§2.2, §2.3).
    pub(super) fn alphanumeric(&self, len: usize) -> String {
        self.bytes(len)
            .into_iter()
            .map(|b| char::from(ALPHANUMERIC[usize::from(b) % ALPHANUMERIC.len()]))
            .collect()
    }

    pub(super) fn hex(&self, bytes: usize) -> String {
        hex::encode(self.bytes(bytes))
    }

    /// A version-4 UUID, the form of download keys.
    pub(super) fn uuid4(&self) -> String {
        let mut b = self.bytes(16);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        format_uuid(&b)
    }

    /// A version-1 UUID for `now`, the form of the directory in upload keys.
    pub(super) fn uuid1(&self, now: Timestamp) -> String {
        // 100 ns intervals since 1582-10-15, the UUID epoch.
        const GREGORIAN_OFFSET: i128 = 0x01B2_1DD2_1381_4000;
        let ticks = (now.as_nanosecond() / 100 + GREGORIAN_OFFSET) as u64;
        let random = self.bytes(8);
        let mut b = Vec::with_capacity(16);
        b.extend_from_slice(&((ticks & 0xffff_ffff) as u32).to_be_bytes());
        b.extend_from_slice(&(((ticks >> 32) & 0xffff) as u16).to_be_bytes());
        b.extend_from_slice(&((((ticks >> 48) & 0x0fff) as u16) | 0x1000).to_be_bytes());
        b.push((random[0] & 0x3f) | 0x80);
        b.extend_from_slice(&random[1..8]);
        format_uuid(&b)
    }
}

fn format_uuid(b: &[u8]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_alphanumeric_and_distinct() {
        let rng = SimRng::new().unwrap();
        let a = rng.alphanumeric(30);
        let b = rng.alphanumeric(30);
        assert_eq!(a.len(), 30);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn uuids_carry_their_version() {
        let rng = SimRng::new().unwrap();
        let v4 = rng.uuid4();
        assert_eq!(v4.len(), 36);
        assert_eq!(&v4[14..15], "4");
        let v1 = rng.uuid1("2024-03-01T00:00:00Z".parse().unwrap());
        assert_eq!(&v1[14..15], "1");
        assert!(matches!(&v1[19..20], "8" | "9" | "a" | "b"));
    }
}
