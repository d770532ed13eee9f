//! Authorization codes, grants and tokens of the simulated Google OAuth server.
//!
//! The persona is the only user, so a grant is identified by its OAuth client. Tokens and codes
//! are deterministic (an HMAC of a counter under a seed-derived key, reference §8.1); the
//! counter survives resets, so a token from before a reset never becomes valid again.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac, digest::KeyInit};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

/// Authorization codes are single use and live ten minutes.
const CODE_TTL: SignedDuration = SignedDuration::from_secs(600);
/// Google keeps at most this many refresh tokens per account and client; issuing one more
/// silently invalidates the oldest.
const REFRESH_TOKENS_PER_CLIENT: usize = 100;
/// A refresh token unused for six months expires.
const REFRESH_IDLE_LIMIT: SignedDuration = SignedDuration::from_hours(24 * 182);
/// How long a rotated-out refresh token keeps working.
const ROTATION_GRACE: SignedDuration = SignedDuration::from_secs(60);

/// PKCE code challenge method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChallengeMethod {
    S256,
    Plain,
}

/// What an authorization code was issued for.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<(String, ChallengeMethod)>,
    pub scopes: Vec<String>,
    /// `access_type=offline` and (first grant or `prompt=consent`): a refresh token comes
    /// with the exchange.
    pub issue_refresh_token: bool,
    expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct AccessToken {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct RefreshToken {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Hard expiry (Testing clients: 7 days after the grant; rotation grace).
    pub expires_at: Option<Timestamp>,
    last_used: Timestamp,
    issued: u64,
}

impl RefreshToken {
    fn is_valid(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|at| now < at)
            && now.duration_since(self.last_used) < REFRESH_IDLE_LIMIT
    }
}

#[derive(Debug)]
pub(crate) struct OAuthStore {
    key: [u8; 64],
    counter: u64,
    codes: HashMap<String, AuthCode>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    /// Scopes granted per client (the persona's grants).
    grants: HashMap<String, Vec<String>>,
}

impl OAuthStore {
    pub(crate) fn new(seed: u64) -> Self {
        let mut key = [0u8; 64];
        for (half, chunk) in key.chunks_exact_mut(32).enumerate() {
            let digest = Sha256::new()
                .chain_update(b"google-sim oauth")
                .chain_update(seed.to_be_bytes())
                .chain_update([half as u8])
                .finalize();
            chunk.copy_from_slice(&digest);
        }
        Self {
            key,
            counter: 0,
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            grants: HashMap::new(),
        }
    }

    /// Forgets every code, token and grant (keeps the counter, see the module doc).
    pub(crate) fn clear(&mut self) {
        self.codes.clear();
        self.access.clear();
        self.refresh.clear();
        self.grants.clear();
    }

    fn mint(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&self.key.into());
        mac.update(prefix.as_bytes());
        mac.update(&self.counter.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{prefix}{}", URL_SAFE_NO_PAD.encode(&tag[..24]))
    }

    /// The scopes the persona already granted to `client_id`, if it has a grant.
    pub(crate) fn granted(&self, client_id: &str) -> Option<&[String]> {
        self.grants.get(client_id).map(Vec::as_slice)
    }

    pub(crate) fn issue_code(
        &mut self,
        client_id: &str,
        redirect_uri: &str,
        challenge: Option<(String, ChallengeMethod)>,
        scopes: Vec<String>,
        issue_refresh_token: bool,
        now: Timestamp,
    ) -> String {
        let code = self.mint("4/0Asim");
        self.codes.insert(
            code.clone(),
            AuthCode {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                challenge,
                scopes,
                issue_refresh_token,
                expires_at: now + CODE_TTL,
            },
        );
        code
    }

    /// The unexpired code issued to `client_id`, without consuming it.
    pub(crate) fn code(&self, code: &str, client_id: &str, now: Timestamp) -> Option<&AuthCode> {
        self.codes
            .get(code)
            .filter(|issued| issued.client_id == client_id && now < issued.expires_at)
    }

    /// Consumes a code after a successful exchange and records the grant.
    pub(crate) fn redeem_code(&mut self, code: &str) -> Option<AuthCode> {
        let issued = self.codes.remove(code)?;
        self.grants
            .insert(issued.client_id.clone(), issued.scopes.clone());
        Some(issued)
    }

    pub(crate) fn issue_access_token(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        ttl: SignedDuration,
        now: Timestamp,
    ) -> String {
        let token = self.mint("ya29.sim-");
        self.access.insert(
            token.clone(),
            AccessToken {
                client_id: client_id.to_owned(),
                scopes,
                expires_at: now + ttl,
            },
        );
        token
    }

    pub(crate) fn issue_refresh_token(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> String {
        let token = self.mint("1//sim-");
        let issued = self.counter;
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                client_id: client_id.to_owned(),
                scopes,
                expires_at,
                last_used: now,
                issued,
            },
        );
        let mut of_client: Vec<(u64, String)> = self
            .refresh
            .iter()
            .filter(|(_, refresh)| refresh.client_id == client_id)
            .map(|(token, refresh)| (refresh.issued, token.clone()))
            .collect();
        if of_client.len() > REFRESH_TOKENS_PER_CLIENT {
            of_client.sort_unstable();
            for (_, oldest) in &of_client[..of_client.len() - REFRESH_TOKENS_PER_CLIENT] {
                self.refresh.remove(oldest);
            }
        }
        token
    }

    /// A live access token.
    pub(crate) fn access_token(&self, token: &str, now: Timestamp) -> Option<&AccessToken> {
        self.access
            .get(token)
            .filter(|access| now < access.expires_at)
    }

    /// A live refresh token of `client_id`, marked as used.
    pub(crate) fn use_refresh_token(
        &mut self,
        token: &str,
        client_id: &str,
        now: Timestamp,
    ) -> Option<RefreshToken> {
        let refresh = self
            .refresh
            .get_mut(token)
            .filter(|refresh| refresh.client_id == client_id && refresh.is_valid(now))?;
        refresh.last_used = now;
        Some(refresh.clone())
    }

    /// Ends a rotated-out refresh token after the grace period.
    pub(crate) fn retire_refresh_token(&mut self, token: &str, now: Timestamp) {
        if let Some(refresh) = self.refresh.get_mut(token) {
            let retire_at = now + ROTATION_GRACE;
            refresh.expires_at = Some(refresh.expires_at.map_or(retire_at, |at| at.min(retire_at)));
        }
    }

    /// The client whose grant a live access or refresh token belongs to.
    pub(crate) fn client_of(&self, token: &str, now: Timestamp) -> Option<String> {
        if let Some(access) = self.access_token(token, now) {
            return Some(access.client_id.clone());
        }
        self.refresh
            .get(token)
            .filter(|refresh| refresh.is_valid(now))
            .map(|refresh| refresh.client_id.clone())
    }

    /// Revokes the whole grant of a client: every code, access and refresh token.
    pub(crate) fn revoke_grant(&mut self, client_id: &str) {
        self.codes.retain(|_, code| code.client_id != client_id);
        self.access
            .retain(|_, access| access.client_id != client_id);
        self.refresh
            .retain(|_, refresh| refresh.client_id != client_id);
        self.grants.remove(client_id);
    }

    /// Revokes every grant (the persona removes all apps at myaccount.google.com).
    pub(crate) fn revoke_all_grants(&mut self) -> usize {
        let grants = self.grants.len();
        self.clear();
        grants
    }

    /// Makes the chosen kinds of tokens expire now. Returns how many were live.
    pub(crate) fn expire(&mut self, access: bool, refresh: bool, now: Timestamp) -> (usize, usize) {
        let mut counts = (0, 0);
        if access {
            for token in self
                .access
                .values_mut()
                .filter(|token| now < token.expires_at)
            {
                token.expires_at = now;
                counts.0 += 1;
            }
        }
        if refresh {
            for token in self
                .refresh
                .values_mut()
                .filter(|token| token.is_valid(now))
            {
                token.expires_at = Some(now);
                counts.1 += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn tokens_are_distinct_deterministic_and_expire() {
        let mut store = OAuthStore::new(42);
        let a = store.issue_access_token("c", vec![], SignedDuration::from_secs(3599), now());
        let b = store.issue_access_token("c", vec![], SignedDuration::from_secs(3599), now());
        assert_ne!(a, b);
        assert!(a.starts_with("ya29.sim-"));
        let mut again = OAuthStore::new(42);
        assert_eq!(
            again.issue_access_token("c", vec![], SignedDuration::from_secs(1), now()),
            a
        );
        assert!(
            store
                .access_token(&a, now() + SignedDuration::from_secs(3598))
                .is_some()
        );
        assert!(
            store
                .access_token(&a, now() + SignedDuration::from_secs(3599))
                .is_none()
        );
    }

    #[test]
    fn the_oldest_refresh_tokens_are_evicted_past_the_cap() {
        let mut store = OAuthStore::new(1);
        let first = store.issue_refresh_token("c", vec![], None, now());
        for _ in 0..REFRESH_TOKENS_PER_CLIENT {
            store.issue_refresh_token("c", vec![], None, now());
        }
        assert!(store.use_refresh_token(&first, "c", now()).is_none());
        assert_eq!(store.refresh.len(), REFRESH_TOKENS_PER_CLIENT);
    }

    #[test]
    fn refresh_tokens_die_when_idle_expired_or_rotated() {
        let mut store = OAuthStore::new(1);
        let token = store.issue_refresh_token(
            "c",
            vec![],
            Some(now() + SignedDuration::from_hours(24 * 7)),
            now(),
        );
        assert!(store.use_refresh_token(&token, "other", now()).is_none());
        assert!(
            store
                .use_refresh_token(&token, "c", now() + SignedDuration::from_hours(24 * 6))
                .is_some()
        );
        assert!(
            store
                .use_refresh_token(&token, "c", now() + SignedDuration::from_hours(24 * 7))
                .is_none()
        );
        let idle = store.issue_refresh_token("c", vec![], None, now());
        assert!(
            store
                .use_refresh_token(&idle, "c", now() + REFRESH_IDLE_LIMIT)
                .is_none()
        );
        let rotated = store.issue_refresh_token("c", vec![], None, now());
        store.retire_refresh_token(&rotated, now());
        assert!(
            store
                .use_refresh_token(&rotated, "c", now() + SignedDuration::from_secs(59))
                .is_some()
        );
        assert!(
            store
                .use_refresh_token(&rotated, "c", now() + SignedDuration::from_secs(60))
                .is_none()
        );
    }

    #[test]
    fn revoking_a_grant_ends_all_its_tokens() {
        let mut store = OAuthStore::new(1);
        let code = store.issue_code("c", "https://x/cb", None, vec!["s".into()], true, now());
        assert!(store.code(&code, "other", now()).is_none());
        assert!(store.code(&code, "c", now() + CODE_TTL).is_none());
        store.redeem_code(&code).unwrap();
        assert!(store.redeem_code(&code).is_none(), "codes are single use");
        assert_eq!(store.granted("c"), Some(&["s".to_owned()][..]));
        let access = store.issue_access_token("c", vec![], SignedDuration::from_secs(10), now());
        let refresh = store.issue_refresh_token("c", vec![], None, now());
        let kept = store.issue_access_token("d", vec![], SignedDuration::from_secs(10), now());
        assert_eq!(store.client_of(&refresh, now()).as_deref(), Some("c"));
        store.revoke_grant("c");
        assert!(store.access_token(&access, now()).is_none());
        assert!(store.client_of(&refresh, now()).is_none());
        assert!(store.access_token(&kept, now()).is_some());
        assert!(store.granted("c").is_none());
    }
}
