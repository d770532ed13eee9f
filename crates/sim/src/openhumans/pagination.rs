//! DRF's `LimitOffsetPagination` as Open Humans configures it: 100 per page by default, no
//! maximum, and absolute `next`/`previous` links built from the request URL (§4.1).

use std::collections::BTreeMap;

use url::Url;

const DEFAULT_LIMIT: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub limit: usize,
    pub offset: usize,
}

impl Window {
    /// A `limit` that is not a positive integer means the default; an `offset` that is not a
    /// non-negative integer means 0 (DRF's `_positive_int`).
    pub(super) fn from_query(query: Option<&str>) -> Self {
        let param = |name: &str| {
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        };
        Self {
            limit: param("limit").filter(|&l| l > 0).unwrap_or(DEFAULT_LIMIT),
            offset: param("offset").unwrap_or(0),
        }
    }

    /// The slice of `count` items this page shows.
    pub(super) fn range(&self, count: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(count);
        start..self.offset.saturating_add(self.limit).min(count)
    }

    /// `(next, previous)` for a result of `count` items requested at `url`.
    pub(super) fn links(&self, url: &Url, count: usize) -> (Option<Url>, Option<Url>) {
        let next = (self.offset.saturating_add(self.limit) < count).then(|| {
            let url = replace_param(url, "limit", Some(self.limit));
            replace_param(&url, "offset", Some(self.offset + self.limit))
        });
        let previous = (self.offset > 0).then(|| {
            let url = replace_param(url, "limit", Some(self.limit));
            let offset = self.offset.saturating_sub(self.limit);
            replace_param(&url, "offset", (offset > 0).then_some(offset))
        });
        (next, previous)
    }
}

/// DRF's `replace_query_param` / `remove_query_param`: every other parameter is kept (the
/// access token too, if the client sent one), and the keys come out sorted.
fn replace_param(url: &Url, key: &str, value: Option<usize>) -> Url {
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    match value {
        Some(value) => {
            params.insert(key.to_owned(), vec![value.to_string()]);
        }
        None => {
            params.remove(key);
        }
    }
    let mut out = url.clone();
    out.set_query(None);
    if !params.is_empty() {
        let mut query = out.query_pairs_mut();
        for (k, values) in &params {
            for v in values {
                query.append_pair(k, v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:9/api/direct-sharing/project/exchange-member/";

    fn links(query: &str, count: usize) -> (Option<String>, Option<String>) {
        let url = Url::parse(&format!("{BASE}{query}")).unwrap();
        let window = Window::from_query(url.query());
        let (next, previous) = window.links(&url, count);
        (next.map(String::from), previous.map(String::from))
    }

    #[test]
    fn a_single_page_has_no_links() {
        assert_eq!(links("", 100), (None, None));
        assert_eq!(links("", 0), (None, None));
    }

    #[test]
    fn the_first_page_links_to_the_second_with_sorted_keys() {
        let (next, previous) = links("?access_token=XXX", 250);
        assert_eq!(
            next.as_deref(),
            Some(&*format!("{BASE}?access_token=XXX&limit=100&offset=100"))
        );
        assert_eq!(previous, None);
    }

    #[test]
    fn the_second_page_drops_offset_from_previous() {
        let (next, previous) = links("?offset=100&limit=100", 250);
        assert_eq!(
            next.as_deref(),
            Some(&*format!("{BASE}?limit=100&offset=200"))
        );
        assert_eq!(previous.as_deref(), Some(&*format!("{BASE}?limit=100")));
    }

    #[test]
    fn the_last_page_has_no_next() {
        let (next, previous) = links("?limit=100&offset=200", 250);
        assert_eq!(next, None);
        assert_eq!(
            previous.as_deref(),
            Some(&*format!("{BASE}?limit=100&offset=100"))
        );
    }

    #[test]
    fn bad_limits_and_offsets_fall_back_to_the_defaults() {
        let window = Window::from_query(Some("limit=0&offset=-3"));
        assert_eq!(
            window,
            Window {
                limit: 100,
                offset: 0
            }
        );
        let window = Window::from_query(Some("limit=abc&offset=7"));
        assert_eq!(
            window,
            Window {
                limit: 100,
                offset: 7
            }
        );
        assert_eq!(
            Window {
                limit: 10,
                offset: 95
            }
            .range(100),
            95..100
        );
        assert_eq!(
            Window {
                limit: 10,
                offset: 300
            }
            .range(100),
            100..100
        );
    }
}
