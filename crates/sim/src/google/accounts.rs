//! The Google accounts that can sign in. An authorize request picks one with `login_hint`, as
//! Google preselects the hinted account; without a hint the persona's own account signs in.
//! Every account wears the persona's tracker, so all serve the same data, but each has an
//! identity, grants, tokens and per-user quota of its own: enough for many members at once
//! without generating a history per member.

use sha2::{Digest, Sha256};

use super::persona::Persona;

/// The account of a sign-in without `login_hint`.
pub const PERSONA_ACCOUNT: &str = "persona@example.com";

/// `Identity.healthUserId` and `Identity.legacyUserId` of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub health_user_id: String,
    pub legacy_user_id: String,
}

impl Identity {
    /// The persona's own ids for [`PERSONA_ACCOUNT`]; ids of the same shape derived from the
    /// persona's and the account's name for any other.
    pub(crate) fn of(persona: &Persona, account: &str) -> Self {
        if account == PERSONA_ACCOUNT {
            return Self {
                health_user_id: persona.health_user_id().to_owned(),
                legacy_user_id: persona.legacy_user_id().to_owned(),
            };
        }
        let digest = Sha256::new()
            .chain_update(persona.health_user_id())
            .chain_update([0])
            .chain_update(account)
            .finalize();
        let number = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        Self {
            health_user_id: (1_000_000_000_000_000_000 + number % 9_000_000_000_000_000_000)
                .to_string(),
            legacy_user_id: digest[8..14]
                .iter()
                .map(|byte| char::from(ALPHABET[usize::from(*byte) % 36]))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimClock;

    #[test]
    fn each_account_has_its_own_ids_of_googles_shape() {
        let persona = Persona::new(42, SimClock::real());
        let own = Identity::of(&persona, PERSONA_ACCOUNT);
        assert_eq!(own.health_user_id, persona.health_user_id());
        let a = Identity::of(&persona, "a@example.com");
        let b = Identity::of(&persona, "b@example.com");
        assert_ne!(a, b);
        assert_ne!(a.health_user_id, own.health_user_id);
        assert_eq!(a, Identity::of(&persona, "a@example.com"));
        for identity in [&a, &b] {
            assert_eq!(identity.health_user_id.len(), 19);
            assert!(identity.health_user_id.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(identity.legacy_user_id.len(), 6);
        }
    }
}
