//! A sliver of the Google Cloud console: "Clients → Create client" on the Google Auth Platform
//! (reference §1.9 step 3), so that a person, or a browser test, makes the OAuth client of the
//! "bring your own client" path the way a member would, and the simulator then serves it.
//!
//! * `GET /console/clients/new`: the form (application type fixed to "Web application"):
//!   `name` (optional), `redirect_uri` (one authorized redirect URI, `#redirect-uri`),
//!   `publishing_status` (`testing`, the default, or `production`, `#publishing-status`) and the
//!   `#create-client` button, posting to `/console/clients`. No JavaScript.
//! * `POST /console/clients` (form-encoded): registers a client with a random id
//!   (`<12 digits>-<32 [a-z0-9]>.apps.googleusercontent.com`) and secret (`GOCSPX-<28
//!   [A-Za-z0-9_-]>`) and answers 200 with a page showing them in `<code id=client-id>` and
//!   `<code id=client-secret>`, the redirect URI in `<code id=redirect-uri>` and the status in
//!   `#publishing-status`. A redirect URI that is not an absolute `http`/`https` URL with a
//!   host, or has a fragment, whitespace or userinfo, gets 400 and the form again (as filled
//!   in) with the console's message in `#error`; nothing is registered then.
//!
//! Like the `/__admin` routes these are neither journaled nor subject to faults. Created
//! clients join the registry of [`GoogleSim::register_client`](super::GoogleSim) and, like
//! every registered client, survive `POST /__admin/reset`. The form's name is only shown, not
//! kept: [`RegisteredClient`] has no name.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use url::Url;

use super::{
    PublishingStatus, RegisteredClient,
    responses::{escape_html, html},
    state::Shared,
};

pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/console/clients/new", get(new_client))
        .route("/console/clients", post(create_client))
        .with_state(shared)
}

const TITLE: &str = "Google Cloud \u{2014} Create OAuth client ID";

/// The form's fields as submitted (absent ones empty), to validate and to render again.
#[derive(Debug, Default)]
struct ClientForm {
    name: String,
    redirect_uri: String,
    publishing_status: String,
}

impl ClientForm {
    /// The first occurrence of each field wins.
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        let mut seen = [false; 3];
        for (key, value) in url::form_urlencoded::parse(body) {
            let (slot, index) = match key.as_ref() {
                "name" => (&mut form.name, 0),
                "redirect_uri" => (&mut form.redirect_uri, 1),
                "publishing_status" => (&mut form.publishing_status, 2),
                _ => continue,
            };
            if !seen[index] {
                seen[index] = true;
                *slot = value.into_owned();
            }
        }
        form
    }
}

async fn new_client() -> Response {
    form_page(StatusCode::OK, &ClientForm::default(), None)
}

async fn create_client(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = ClientForm::parse(&body);
    let redirect_uri = match authorized_redirect_uri(&form.redirect_uri) {
        Ok(uri) => uri.to_owned(),
        Err(message) => return form_page(StatusCode::BAD_REQUEST, &form, Some(message)),
    };
    let publishing_status = match form.publishing_status.as_str() {
        "" | "testing" => PublishingStatus::Testing,
        "production" => PublishingStatus::Production,
        _ => {
            return form_page(
                StatusCode::BAD_REQUEST,
                &form,
                Some("Publishing status must be Testing or In production."),
            );
        }
    };
    let now = shared.now();
    let (client, name) = {
        let mut state = shared.lock();
        let client = loop {
            let Some((client_id, client_secret)) = new_credentials() else {
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page(
                        TITLE,
                        "<p id=\"error\">No randomness available to create a client.</p>",
                    ),
                );
            };
            let taken = state.clients.iter().any(|existing| {
                existing.client_id == client_id || existing.client_secret == client_secret
            });
            if !taken {
                break RegisteredClient {
                    client_id,
                    client_secret,
                    redirect_uris: vec![redirect_uri],
                    publishing_status,
                };
            }
        };
        state.clients.push(client.clone());
        let name = match form.name.trim() {
            "" => format!("Web client {}", state.clients.len()),
            name => name.to_owned(),
        };
        (client, name)
    };
    created_page(
        &client,
        &name,
        &now.strftime("%B %-d, %Y at %H:%M:%S UTC").to_string(),
    )
}

/// The redirect URI to register (the input without surrounding whitespace, otherwise as
/// typed, since Google compares redirect URIs character for character), or the console's
/// message for it.
fn authorized_redirect_uri(input: &str) -> Result<&str, &'static str> {
    let uri = input.trim();
    if uri.is_empty() {
        return Err("Invalid Redirect: URI must not be empty.");
    }
    let scheme = uri.split_once("://").map(|(scheme, _)| scheme);
    if !scheme.is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https")) {
        return Err("Invalid Redirect: must use either http or https as the scheme.");
    }
    if uri.contains('#') {
        return Err("Invalid Redirect: cannot contain a fragment.");
    }
    if uri.chars().any(char::is_whitespace) {
        return Err("Invalid Redirect: cannot contain whitespace.");
    }
    // `Url` would read `http:///x` as `http://x/`; Google wants the authority written out.
    let authority_written = uri
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with(['/', '\\', '?']));
    match Url::parse(uri) {
        Ok(url) if authority_written && url.host_str().is_some_and(|host| !host.is_empty()) => {
            if url.username().is_empty() && url.password().is_none() {
                Ok(uri)
            } else {
                Err("Invalid Redirect: cannot contain userinfo.")
            }
        }
        _ => Err("Invalid Redirect: must be an absolute URI with a domain."),
    }
}

/// A fresh client id and secret in Google's shapes, or `None` without OS randomness.
fn new_credentials() -> Option<(String, String)> {
    const DIGITS: &[u8] = b"0123456789";
    const ID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut random = [0u8; 12 + 32 + 28];
    getrandom::fill(&mut random).ok()?;
    let (project, rest) = random.split_at(12);
    let (id, secret) = rest.split_at(32);
    let pick = |alphabet: &[u8], bytes: &[u8]| -> String {
        bytes
            .iter()
            .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
            .collect()
    };
    // A project number never starts with 0.
    let mut number = pick(DIGITS, project);
    number.replace_range(..1, &char::from(b'1' + project[0] % 9).to_string());
    Some((
        format!("{number}-{}.apps.googleusercontent.com", pick(ID_CHARS, id)),
        format!("GOCSPX-{}", pick(SECRET_CHARS, secret)),
    ))
}

fn page(heading: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=en>\n<head><meta charset=utf-8><title>{TITLE}</title></head>\n<body>\n<h1>{}</h1>\n{content}</body>\n</html>\n",
        escape_html(heading),
    )
}

fn form_page(status: StatusCode, form: &ClientForm, error: Option<&str>) -> Response {
    let error = error
        .map(|message| {
            format!(
                "<p id=\"error\" role=\"alert\">{}</p>\n",
                escape_html(message)
            )
        })
        .unwrap_or_default();
    let production = form.publishing_status == "production";
    let option = |value: &str, label: &str, selected: bool| {
        let selected = if selected { " selected" } else { "" };
        format!("<option value=\"{value}\"{selected}>{label}</option>")
    };
    let content = format!(
        "{error}<form method=\"post\" action=\"/console/clients\">\n\
         <p>Application type: <strong id=\"application-type\">Web application</strong></p>\n\
         <p><label for=\"client-name\">Name</label><br>\
         <input type=\"text\" id=\"client-name\" name=\"name\" value=\"{name}\" placeholder=\"Web client 1\"></p>\n\
         <p><label for=\"redirect-uri\">Authorized redirect URI</label><br>\
         <input type=\"text\" id=\"redirect-uri\" name=\"redirect_uri\" value=\"{redirect_uri}\" required \
         placeholder=\"https://example.com/callback\"></p>\n\
         <p><label for=\"publishing-status\">Publishing status</label><br>\
         <select id=\"publishing-status\" name=\"publishing_status\">{testing}{production}</select></p>\n\
         <p><button type=\"submit\" id=\"create-client\">Create</button></p>\n\
         </form>\n",
        name = escape_html(&form.name),
        redirect_uri = escape_html(&form.redirect_uri),
        testing = option("testing", "Testing", !production),
        production = option("production", "In production", production),
    );
    html(status, page("Create OAuth client ID", &content))
}

fn created_page(client: &RegisteredClient, name: &str, created: &str) -> Response {
    let (status, note) = match client.publishing_status {
        PublishingStatus::Testing => (
            "Testing",
            "Refresh tokens of this client expire 7 days after consent.",
        ),
        PublishingStatus::Production => (
            "In production",
            "Refresh tokens of this client have no fixed lifetime.",
        ),
    };
    let redirect_uri = client.redirect_uris.join(" ");
    let content = format!(
        "<p>OAuth client created. The client ID and secret can always be accessed from Clients \
         under Google Auth Platform.</p>\n<dl>\n\
         <dt>Name</dt><dd id=\"client-name\">{name}</dd>\n\
         <dt>Client ID</dt><dd><code id=\"client-id\">{id}</code></dd>\n\
         <dt>Client secret</dt><dd><code id=\"client-secret\">{secret}</code></dd>\n\
         <dt>Authorized redirect URI</dt><dd><code id=\"redirect-uri\">{redirect_uri}</code></dd>\n\
         <dt>Publishing status</dt><dd id=\"publishing-status\">{status}</dd>\n\
         <dt>Creation date</dt><dd id=\"creation-date\">{created}</dd>\n\
         </dl>\n<p>{note}</p>\n\
         <p><a id=\"create-another\" href=\"/console/clients/new\">Create another client</a></p>\n",
        name = escape_html(name),
        id = escape_html(&client.client_id),
        secret = escape_html(&client.client_secret),
        redirect_uri = escape_html(&redirect_uri),
        created = escape_html(created),
    );
    html(StatusCode::OK, page("OAuth client created", &content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_absolute_http_urls_without_fragments() {
        for good in [
            "http://127.0.0.1:8080/google/callback",
            "https://oh.example/callback?x=1",
            "HTTPS://oh.example",
        ] {
            assert_eq!(authorized_redirect_uri(good), Ok(good), "{good}");
        }
        assert_eq!(
            authorized_redirect_uri("  http://localhost:1/cb \n"),
            Ok("http://localhost:1/cb")
        );
        for bad in [
            "",
            "   ",
            "/google/callback",
            "localhost:8080/callback",
            "ftp://oh.example/callback",
            "javascript://alert(1)",
            "http:/oh.example/callback",
            "http://",
            "http:///callback",
            "https://oh.example/callback#",
            "https://oh.example/callback#top",
            "https://oh.example/a b",
            "https://user:pw@oh.example/callback",
            "https://\\oh.example/callback",
        ] {
            assert!(
                authorized_redirect_uri(bad).is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn credentials_have_googles_shapes() {
        let (id, secret) = new_credentials().unwrap();
        let (number, rest) = id.split_once('-').unwrap();
        assert_eq!(number.len(), 12);
        assert!(number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0'));
        let random = rest.strip_suffix(".apps.googleusercontent.com").unwrap();
        assert_eq!(random.len(), 32);
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        let random = secret.strip_prefix("GOCSPX-").unwrap();
        assert_eq!(random.len(), 28);
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_ne!(new_credentials().unwrap(), (id, secret));
    }

    #[test]
    fn the_first_of_repeated_fields_wins() {
        let form = ClientForm::parse(
            b"redirect_uri=https%3A%2F%2Fa.example%2Fcb&redirect_uri=https://b.example&name=My+app&extra=1",
        );
        assert_eq!(form.redirect_uri, "https://a.example/cb");
        assert_eq!(form.name, "My app");
        assert_eq!(form.publishing_status, "");
    }
}
