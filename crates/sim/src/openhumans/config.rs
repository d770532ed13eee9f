//! What the simulated Open Humans is seeded with: one OAuth2 project and its members-to-be.

use std::{collections::HashSet, io};

use url::Url;

/// The project our service is registered as.
#[derive(Clone, Debug)]
pub struct SimProject {
    /// `source` of its files is `direct-sharing-<id>`.
    pub id: u64,
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    /// The first one is the default when an authorize request names none.
    pub redirect_uris: Vec<String>,
    pub deauth_webhook: Option<Url>,
    /// Signs the deauthorisation webhook (HMAC-SHA1 of the raw body) when set.
    pub webhook_secret: Option<String>,
}

/// An Open Humans account that can authorise the project.
#[derive(Clone, Debug)]
pub struct SimUser {
    pub username: String,
    /// 8 digits (16 for legacy members); stable across leaving and rejoining.
    pub project_member_id: String,
}

#[derive(Clone, Debug)]
pub struct OpenHumansSimConfig {
    pub project: SimProject,
    /// The first one is who "is logged in" when an authorize request names no `sim_user`.
    pub users: Vec<SimUser>,
}

/// 40 characters like a django-oauth-toolkit client id.
const LOCAL_CLIENT_ID: &str = "simulatedOpenHumansClientIdForLocalTests";
/// 128 characters like a django-oauth-toolkit 2.4 client secret.
const LOCAL_CLIENT_SECRET: &str = "b99570fa8a7207a2bf482f6fe2921bff3dedba5b65559aaff6dbb21fc7231cfad70d1ecde294444895099065265bca935e22890c416b20b33ce4188d6025ba8c";

impl OpenHumansSimConfig {
    /// Defaults for the local stack and tests: project 128 with fixed credentials,
    /// `redirect_uri` registered, and one user `sim-member` with project member id `12345678`.
    pub fn local(redirect_uri: &str) -> Self {
        Self {
            project: SimProject {
                id: 128,
                name: "Fitbit Connection (simulated)".to_owned(),
                client_id: LOCAL_CLIENT_ID.to_owned(),
                client_secret: LOCAL_CLIENT_SECRET.to_owned(),
                redirect_uris: vec![redirect_uri.to_owned()],
                deauth_webhook: None,
                webhook_secret: None,
            },
            users: vec![SimUser {
                username: "sim-member".to_owned(),
                project_member_id: "12345678".to_owned(),
            }],
        }
    }

    /// Refuses a configuration the simulator could not serve faithfully, so the mistake
    /// shows at start instead of as a puzzling answer in the middle of a test.
    pub(super) fn validate(&self) -> io::Result<()> {
        let invalid = |message: String| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        if self.project.redirect_uris.is_empty() {
            return invalid("the simulated project needs at least one redirect URI".into());
        }
        if let Some(bad) = self
            .project
            .redirect_uris
            .iter()
            .find(|uri| Url::parse(uri).is_err())
        {
            return invalid(format!("redirect URI {bad:?} is not an absolute URL"));
        }
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for user in &self.users {
            let id = &user.project_member_id;
            if !(matches!(id.len(), 8 | 16) && id.bytes().all(|b| b.is_ascii_digit())) {
                return invalid(format!("project member id {id:?} is not 8 or 16 digits"));
            }
            if !ids.insert(id) || !names.insert(&user.username) {
                return invalid(format!(
                    "user {:?} / {id:?} is configured twice",
                    user.username
                ));
            }
        }
        Ok(())
    }

    pub(super) fn id_label(&self) -> String {
        format!("direct-sharing-{}", self.project.id)
    }

    pub(super) fn user_by_member_id(&self, project_member_id: &str) -> Option<&SimUser> {
        self.users
            .iter()
            .find(|user| user.project_member_id == project_member_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_config_is_valid() {
        let config = OpenHumansSimConfig::local("http://127.0.0.1:8000/openhumans/complete/");
        config.validate().unwrap();
        assert_eq!(config.project.client_id.len(), 40);
        assert_eq!(config.project.client_secret.len(), 128);
        assert_eq!(config.id_label(), "direct-sharing-128");
    }

    #[test]
    fn bad_member_ids_and_duplicates_are_refused() {
        let mut config = OpenHumansSimConfig::local("http://127.0.0.1/cb");
        config.users[0].project_member_id = "1234".into();
        assert!(config.validate().is_err());
        let mut config = OpenHumansSimConfig::local("http://127.0.0.1/cb");
        config.users.push(config.users[0].clone());
        assert!(config.validate().is_err());
        let mut config = OpenHumansSimConfig::local("not a url");
        assert!(config.validate().is_err());
        config.project.redirect_uris.clear();
        assert!(config.validate().is_err());
    }
}
