//! Steps 2–6 of the request pipeline (reference §8.3): authentication, account state, quota
//! and scope, in that order, under one short hold of the state lock.

use axum::http::{HeaderMap, header};

use super::{Operation, Route, catalogue, params::Query};
use crate::google::{
    accounts::Identity,
    api::paging::PageTokens,
    knobs::{Knobs, PersonaState},
    persona::Persona,
    responses::GoogleError,
    scopes::{self, Category},
    state::Shared,
};

/// What a handler needs once a request is admitted; owned, so the lock is released.
#[derive(Debug)]
pub(crate) struct Context {
    /// The signed-in account of the caller's token.
    pub account: String,
    pub identity: Identity,
    pub persona: Persona,
    pub knobs: Knobs,
    pub page_tokens: PageTokens,
    /// The scopes of the caller's access token.
    pub scopes: Vec<String>,
}

impl Context {
    pub(crate) fn has_scope(&self, category: Category) -> bool {
        self.scopes.contains(&category.read_scope())
    }
}

/// The access token of a request: a Bearer `Authorization` header or `access_token` in the
/// query.
fn access_token<'a>(headers: &'a HeaderMap, query: &'a Query) -> Option<&'a str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .filter(|token| !token.is_empty());
    bearer.or_else(|| {
        query
            .get("access_token", "access_token")
            .filter(|token| !token.is_empty())
    })
}

/// The project number in an OAuth client id (`123456789012-….apps.googleusercontent.com`),
/// which Google's quota errors name; a fixed number for ids without one.
fn project_number(client_id: &str) -> &str {
    match client_id.split_once('-') {
        Some((number, _)) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
            number
        }
        _ => "100000000001",
    }
}

/// A request the pipeline answered with an error, and the account it was for once its token
/// was known.
pub(crate) struct Refused {
    pub error: GoogleError,
    pub account: Option<String>,
}

impl From<GoogleError> for Refused {
    fn from(error: GoogleError) -> Self {
        Self {
            error,
            account: None,
        }
    }
}

/// Admits a routed request or answers it with the first failing step's error.
pub(crate) fn admit(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
    query: &Query,
) -> Result<Context, Refused> {
    let now = shared.now();
    let mut state = shared.lock();
    let method = route.operation.grpc_method();

    let Some(token) = access_token(headers, query) else {
        return Err(if query.get("key", "key").is_some() {
            GoogleError::api_key_rejected(method)
        } else {
            GoogleError::credentials_missing(method)
        }
        .into());
    };
    let Some(access) = state.oauth.access_token(token, now) else {
        return Err(GoogleError::invalid_credentials().into());
    };
    let (grantee, granted) = (access.grantee.clone(), access.scopes.clone());
    let refused = |error: GoogleError| Refused {
        error,
        account: Some(grantee.user.clone()),
    };

    match state.knobs.persona_state {
        PersonaState::Linked => {}
        PersonaState::NotLinked => return Err(refused(GoogleError::account_not_linked())),
        PersonaState::NoProfile => return Err(refused(GoogleError::no_profile())),
        PersonaState::LegacyFitbitLogin => return Err(refused(GoogleError::legacy_login())),
    }

    let limit = state.knobs.quota_per_user_per_min;
    let retry_after = state.knobs.retry_after;
    let window = now.as_second().div_euclid(60);
    let used = state.quota.entry(grantee.clone()).or_insert((window, 0));
    if used.0 != window {
        *used = (window, 0);
    }
    if used.1 >= limit {
        return Err(refused(GoogleError::quota_exceeded(
            project_number(&grantee.client_id),
            limit,
            retry_after,
        )));
    }
    used.1 += 1;

    let data_call = matches!(
        route.operation,
        Operation::ListDataPoints
            | Operation::GetDataPoint
            | Operation::RollUpDataPoints
            | Operation::DailyRollUpDataPoints
    );
    let required = match route.operation {
        Operation::GetIdentity => None,
        Operation::GetProfile => Some(Category::Profile),
        Operation::GetSettings | Operation::ListPairedDevices | Operation::GetPairedDevice => {
            Some(Category::Settings)
        }
        Operation::GetIrnProfile => Some(Category::Irn),
        // An unknown data type has no scope; validation rejects it next.
        Operation::ListDataPoints
        | Operation::GetDataPoint
        | Operation::RollUpDataPoints
        | Operation::DailyRollUpDataPoints => route
            .data_type
            .as_deref()
            .and_then(catalogue::find)
            .map(|data_type| data_type.scope),
    };
    let allowed = match required {
        Some(category) => granted.contains(&category.read_scope()),
        None => {
            route.operation != Operation::GetIdentity
                || granted.iter().any(|scope| scopes::is_health(scope))
        }
    };
    // The `insufficient_scope_types` knob: the member withdrew the type's scope after consent,
    // so Google no longer honours it although the token still lists it.
    let withdrawn = data_call
        && route
            .data_type
            .as_deref()
            .is_some_and(|data_type| state.knobs.scope_withdrawn(data_type));
    if !allowed || withdrawn {
        let wanted = required.map_or_else(scopes::any_read_scope, Category::read_scope);
        return Err(refused(GoogleError::scope_insufficient(
            method,
            &wanted,
            state.knobs.scope_error_shape,
        )));
    }

    Ok(Context {
        identity: Identity::of(&state.persona, &grantee.user),
        account: grantee.user,
        persona: state
            .persona
            .clone()
            .with_generation(state.knobs.generation()),
        knobs: state.knobs.clone(),
        page_tokens: state.page_tokens.clone(),
        scopes: granted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_numbers_come_from_the_client_id() {
        assert_eq!(
            project_number("123456789012-abc.apps.googleusercontent.com"),
            "123456789012"
        );
        assert_eq!(project_number("my-client"), "100000000001");
        assert_eq!(project_number("client"), "100000000001");
    }

    #[test]
    fn tokens_come_from_the_header_or_the_query() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer  abc ".parse().unwrap());
        assert_eq!(access_token(&headers, &Query::default()), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(
            access_token(&headers, &Query::parse(Some("access_token=q"))),
            Some("q")
        );
        assert_eq!(
            access_token(&HeaderMap::new(), &Query::parse(Some("key=k"))),
            None
        );
    }
}
