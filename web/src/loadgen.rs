//! A small HTTP load generator for the dashboard benchmark (`nhiscope bench web`): `connections`
//! keep-alive connections on loopback, each requesting the given paths in turn for a fixed
//! time, with a session cookie; reports requests, errors and latency percentiles.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub requests: usize,
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub per_second: f64,
}

/// The `q`-quantile (0..=1) of sorted latencies, in ms.
pub fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Requests `base` + each path (round robin) from `connections` concurrent clients for
/// `duration`, sending `cookie`. A non-2xx answer counts as an error.
pub async fn run(
    base: &str,
    paths: &[String],
    cookie: &str,
    connections: usize,
    duration: Duration,
) -> LoadReport {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections.max(1) {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .build_http();
        let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
        let cookie = cookie.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = c;
            while started.elapsed() < duration {
                let url = &urls[i % urls.len()];
                i += 1;
                let Ok(req) = hyper::Request::get(url.as_str())
                    .header("cookie", cookie.as_str())
                    .body(Empty::<Bytes>::new())
                else {
                    errors += 1;
                    continue;
                };
                let t = Instant::now();
                match client.request(req).await {
                    Ok(res) => {
                        let ok = res.status().is_success();
                        let body = res.into_body().collect().await;
                        if ok && body.is_ok() {
                            lat.push(t.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    all.sort();
    let elapsed = started.elapsed().as_secs_f64();
    LoadReport {
        requests: all.len(),
        errors,
        p50_ms: quantile(&all, 0.50),
        p99_ms: quantile(&all, 0.99),
        max_ms: all
            .last()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN),
        per_second: all.len() as f64 / elapsed.max(1e-9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_latencies() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&v, 0.5), 51.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
