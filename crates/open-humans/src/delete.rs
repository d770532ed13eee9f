//! Deleting one of our files (§6.1).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{Error, OpenHumans, reply::Reply};

#[derive(Deserialize)]
pub(crate) struct Deleted {
    pub(crate) ids: Vec<u64>,
}

impl OpenHumans {
    /// By id rather than basename: after uploading a replacement under the same name, a
    /// delete by basename would remove the new copy too. Open Humans answers an empty list
    /// when the file was already gone, which makes a repeated delete harmless.
    pub async fn delete_file(
        &self,
        access_token: &SecretString,
        file_id: u64,
    ) -> Result<Vec<u64>, Error> {
        let request = self
            .http
            .post(self.endpoint("api/direct-sharing/project/files/delete/"))
            .bearer_auth(access_token.expose_secret())
            .form(&[("file_id", file_id.to_string())]);
        let deleted: Deleted = Reply::send(request).await?.json("files/delete")?;
        Ok(deleted.ids)
    }
}
