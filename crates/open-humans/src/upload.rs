//! The direct upload (§5.1): Open Humans hands out a presigned S3 URL, we PUT the bytes
//! there ourselves, then tell Open Humans the upload is complete.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::{Error, FileMetadata, OpenHumans, reply::Reply};

/// A file to add to the member's Open Humans account.
#[derive(Clone, Debug)]
pub struct NewFile {
    /// Becomes the last segment of the S3 key verbatim, and the `basename` listings show.
    pub filename: String,
    pub bytes: Vec<u8>,
    pub metadata: FileMetadata,
}

/// A completed upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    /// What `delete_file` needs to remove this file once a newer copy replaces it.
    pub id: u64,
    /// The size Open Humans found in storage.
    pub size: u64,
}

/// Not `Debug`: the URL is a credential for writing into Open Humans' bucket.
#[derive(Deserialize)]
pub(crate) struct DirectUpload {
    id: u64,
    url: Url,
}

#[derive(Deserialize)]
pub(crate) struct Completion {
    pub(crate) size: u64,
}

impl OpenHumans {
    /// A failure after the first step leaves an incomplete file that no listing shows and
    /// Open Humans purges after six hours, so a retry simply starts over.
    pub async fn upload(
        &self,
        access_token: &SecretString,
        file: NewFile,
    ) -> Result<UploadedFile, Error> {
        let token = access_token.expose_secret();
        let direct: DirectUpload = Reply::send(
            self.http
                .post(self.endpoint("api/direct-sharing/project/files/upload/direct/"))
                .bearer_auth(token)
                .form(&[
                    ("filename", file.filename.as_str()),
                    ("metadata", &file.metadata.to_form_value()),
                ]),
        )
        .await?
        .json("upload/direct")?;

        let length = file.bytes.len();
        self.put_object(direct.url, file.bytes).await?;

        let reply = Reply::send(
            self.http
                .post(self.endpoint("api/direct-sharing/project/files/upload/complete/"))
                .bearer_auth(token)
                .form(&[("file_id", direct.id.to_string())]),
        )
        .await?;
        let completion = read_completion(reply)?;
        if usize::try_from(completion.size) != Ok(length) {
            tracing::warn!(
                file_id = direct.id,
                sent = length,
                stored = completion.size,
                "Open Humans reports a different size than was uploaded"
            );
        }
        Ok(UploadedFile {
            id: direct.id,
            size: completion.size,
        })
    }

    /// The URL is signed over an empty Content-Type and Content-MD5 and no `x-amz-*`
    /// headers, so the request carries none of them; a `Vec<u8>` body gives it the
    /// Content-Length S3 requires (it refuses chunked uploads).
    async fn put_object(&self, url: Url, bytes: Vec<u8>) -> Result<(), Error> {
        let reply = Reply::send(self.http.put(url).body(bytes)).await?;
        if reply.status.is_success() {
            Ok(())
        } else if reply.status.is_server_error() {
            Err(Error::Server {
                status: reply.status.as_u16(),
            })
        } else {
            Err(Error::UploadFailed {
                status: reply.status.as_u16(),
                code: s3_error_code(&reply.text()),
            })
        }
    }
}

/// What `upload/complete` answered.
pub(crate) fn read_completion(reply: Reply) -> Result<Completion, Error> {
    if reply.status == reqwest::StatusCode::BAD_REQUEST
        && reply.detail().as_deref() == Some("file not present")
    {
        return Err(Error::FileNotPresent);
    }
    reply.json("upload/complete")
}

/// The `<Code>` of an S3 XML error. Only the code is kept: S3's error bodies can quote the
/// string-to-sign and the signature.
pub(crate) fn s3_error_code(body: &str) -> String {
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.trim())
        .filter(|code| !code.is_empty() && code.len() <= 64)
        .unwrap_or("Unknown")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_read_from_an_s3_error_body() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><StringToSign>PUT\n\n</StringToSign></Error>";
        assert_eq!(s3_error_code(body), "SignatureDoesNotMatch");
    }

    #[test]
    fn a_body_without_a_code_is_unknown() {
        assert_eq!(s3_error_code(""), "Unknown");
        assert_eq!(s3_error_code("<Error><Code></Code></Error>"), "Unknown");
        assert_eq!(s3_error_code("<Code>unterminated"), "Unknown");
    }
}
