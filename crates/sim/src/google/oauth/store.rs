//! Authorization codes, grants and tokens of the simulated Google OAuth server.
//!
//! A grant belongs to a [`Grantee`]: a Google account and an OAuth client. Tokens and codes
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
const REFRESH_TOKENS_PER_GRANTEE: usize = 100;
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

/// Whose grant: an account (the sign-in's `login_hint`) and an OAuth client. Google keeps
/// grants, the refresh-token cap and the per-user quota for each such pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Grantee {
    pub user: String,
    pub client_id: String,
}

impl Grantee {
    pub(crate) fn new(user: &str, client_id: &str) -> Self {
        Self {
            user: user.to_owned(),
            client_id: client_id.to_owned(),
        }
    }
}

/// What an authorization code was issued for.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub grantee: Grantee,
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
    pub grantee: Grantee,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct RefreshToken {
    pub grantee: Grantee,
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
    /// Scopes granted.
    grants: HashMap<Grantee, Vec<String>>,
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

    /// The scopes already granted, if there is a grant.
    pub(crate) fn granted(&self, grantee: &Grantee) -> Option<&[String]> {
        self.grants.get(grantee).map(Vec::as_slice)
    }

    pub(crate) fn issue_code(
        &mut self,
        grantee: &Grantee,
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
                grantee: grantee.clone(),
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
            .filter(|issued| issued.grantee.client_id == client_id && now < issued.expires_at)
    }

    /// Consumes a code after a successful exchange and records the grant.
    pub(crate) fn redeem_code(&mut self, code: &str) -> Option<AuthCode> {
        let issued = self.codes.remove(code)?;
        self.grants
            .insert(issued.grantee.clone(), issued.scopes.clone());
        Some(issued)
    }

    pub(crate) fn issue_access_token(
        &mut self,
        grantee: &Grantee,
        scopes: Vec<String>,
        ttl: SignedDuration,
        now: Timestamp,
    ) -> String {
        let token = self.mint("ya29.sim-");
        self.access.insert(
            token.clone(),
            AccessToken {
                grantee: grantee.clone(),
                scopes,
                expires_at: now + ttl,
            },
        );
        token
    }

    pub(crate) fn issue_refresh_token(
        &mut self,
        grantee: &Grantee,
        scopes: Vec<String>,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> String {
        let token = self.mint("1//sim-");
        let issued = self.counter;
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                grantee: grantee.clone(),
                scopes,
                expires_at,
                last_used: now,
                issued,
            },
        );
        let mut of_grantee: Vec<(u64, String)> = self
            .refresh
            .iter()
            .filter(|(_, refresh)| refresh.grantee == *grantee)
            .map(|(token, refresh)| (refresh.issued, token.clone()))
            .collect();
        if of_grantee.len() > REFRESH_TOKENS_PER_GRANTEE {
            of_grantee.sort_unstable();
            for (_, oldest) in &of_grantee[..of_grantee.len() - REFRESH_TOKENS_PER_GRANTEE] {
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
            .filter(|refresh| refresh.grantee.client_id == client_id && refresh.is_valid(now))?;
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

    /// Whose grant a live access or refresh token belongs to.
    pub(crate) fn grantee_of(&self, token: &str, now: Timestamp) -> Option<Grantee> {
        if let Some(access) = self.access_token(token, now) {
            return Some(access.grantee.clone());
        }
        self.refresh
            .get(token)
            .filter(|refresh| refresh.is_valid(now))
            .map(|refresh| refresh.grantee.clone())
    }

    /// Revokes the grants for which `revoked` holds: every code, access and refresh token of
    /// them (an account removing apps at myaccount.google.com). Returns how many grants ended.
    pub(crate) fn revoke_grants(&mut self, revoked: impl Fn(&Grantee) -> bool) -> usize {
        self.codes.retain(|_, code| !revoked(&code.grantee));
        self.access.retain(|_, access| !revoked(&access.grantee));
        self.refresh.retain(|_, refresh| !revoked(&refresh.grantee));
        let before = self.grants.len();
        self.grants.retain(|grantee, _| !revoked(grantee));
        before - self.grants.len()
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

    fn grantee(client_id: &str) -> Grantee {
        Grantee::new("persona", client_id)
    }

    fn now() -> Timestamp {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn tokens_are_distinct_deterministic_and_expire() {
        let mut store = OAuthStore::new(42);
        let a = store.issue_access_token(
            &grantee("c"),
            vec![],
            SignedDuration::from_secs(3599),
            now(),
        );
        let b = store.issue_access_token(
            &grantee("c"),
            vec![],
            SignedDuration::from_secs(3599),
            now(),
        );
        assert_ne!(a, b);
        assert!(a.starts_with("ya29.sim-"));
        let mut again = OAuthStore::new(42);
        assert_eq!(
            again.issue_access_token(&grantee("c"), vec![], SignedDuration::from_secs(1), now()),
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
        let first = store.issue_refresh_token(&grantee("c"), vec![], None, now());
        for _ in 0..REFRESH_TOKENS_PER_GRANTEE {
            store.issue_refresh_token(&grantee("c"), vec![], None, now());
        }
        assert!(store.use_refresh_token(&first, "c", now()).is_none());
        assert_eq!(store.refresh.len(), REFRESH_TOKENS_PER_GRANTEE);
    }

    #[test]
    fn refresh_tokens_die_when_idle_expired_or_rotated() {
        let mut store = OAuthStore::new(1);
        let token = store.issue_refresh_token(
            &grantee("c"),
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
        let idle = store.issue_refresh_token(&grantee("c"), vec![], None, now());
        assert!(
            store
                .use_refresh_token(&idle, "c", now() + REFRESH_IDLE_LIMIT)
                .is_none()
        );
        let rotated = store.issue_refresh_token(&grantee("c"), vec![], None, now());
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
        let code = store.issue_code(
            &grantee("c"),
            "https://x/cb",
            None,
            vec!["s".into()],
            true,
            now(),
        );
        assert!(store.code(&code, "other", now()).is_none());
        assert!(store.code(&code, "c", now() + CODE_TTL).is_none());
        store.redeem_code(&code).unwrap();
        assert!(store.redeem_code(&code).is_none(), "codes are single use");
        assert_eq!(store.granted(&grantee("c")), Some(&["s".to_owned()][..]));
        let access =
            store.issue_access_token(&grantee("c"), vec![], SignedDuration::from_secs(10), now());
        let refresh = store.issue_refresh_token(&grantee("c"), vec![], None, now());
        let kept =
            store.issue_access_token(&grantee("d"), vec![], SignedDuration::from_secs(10), now());
        let other_user = store.issue_access_token(
            &Grantee::new("someone-else", "c"),
            vec![],
            SignedDuration::from_secs(10),
            now(),
        );
        assert_eq!(store.grantee_of(&refresh, now()), Some(grantee("c")));
        assert_eq!(store.revoke_grants(|revoked| *revoked == grantee("c")), 1);
        assert!(store.access_token(&access, now()).is_none());
        assert!(store.grantee_of(&refresh, now()).is_none());
        assert!(store.access_token(&kept, now()).is_some());
        assert!(store.access_token(&other_user, now()).is_some());
        assert!(store.granted(&grantee("c")).is_none());
    }
}
