//! Project messages (§6.3): Open Humans e-mails the member for us, without us ever learning
//! their address.

use secrecy::{ExposeSecret, SecretString};

use crate::{Error, OpenHumans, reply::Reply};

impl OpenHumans {
    /// With a member's token Open Humans always addresses the message to that member alone.
    /// An empty `subject` makes Open Humans use `From "<project name>"`.
    pub async fn message(
        &self,
        access_token: &SecretString,
        subject: &str,
        body: &str,
    ) -> Result<(), Error> {
        let request = self
            .http
            .post(self.endpoint("api/direct-sharing/project/message/"))
            .bearer_auth(access_token.expose_secret())
            .form(&[("subject", subject), ("message", body)]);
        Reply::send(request).await?.ok()
    }
}
