//! The size of successful API responses as they would travel: their bytes, and their bytes
//! gzipped (Google's front end compresses for clients that accept it). Off unless started, since
//! it holds each body and compresses it; the import benchmark compares the files it uploads with
//! these totals.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use flate2::{Compression, write::GzEncoder};

/// Totals since [`WireMeter::start`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireTotals {
    pub responses: u64,
    pub bytes: u64,
    pub gzip_bytes: u64,
}

#[derive(Clone, Debug, Default)]
pub struct WireMeter {
    /// `None` while off.
    totals: Arc<Mutex<Option<WireTotals>>>,
    path_prefix: Arc<Mutex<String>>,
}

impl WireMeter {
    /// Measures, from now on, the successful responses whose path starts with `path_prefix`.
    pub fn start(&self, path_prefix: &str) {
        *lock(&self.path_prefix) = path_prefix.to_owned();
        *lock(&self.totals) = Some(WireTotals::default());
    }

    pub fn totals(&self) -> WireTotals {
        lock(&self.totals).unwrap_or_default()
    }

    fn measures(&self, path: &str) -> bool {
        lock(&self.totals).is_some() && path.starts_with(lock(&self.path_prefix).as_str())
    }

    fn add(&self, bytes: usize, gzip_bytes: usize) {
        if let Some(totals) = lock(&self.totals).as_mut() {
            totals.responses += 1;
            totals.bytes += bytes as u64;
            totals.gzip_bytes += gzip_bytes as u64;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Middleware that measures each response body the meter covers and passes it on unchanged.
pub async fn measure(
    State(meter): State<WireMeter>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let measured = meter.measures(request.uri().path());
    let response = next.run(request).await;
    if !measured || !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let compressed = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || gzip_len(&bytes))
            .await
            .unwrap_or(0)
    };
    meter.add(bytes.len(), compressed);
    Response::from_parts(parts, Body::from(bytes))
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().map(|out| out.len()).unwrap_or(0)
}
