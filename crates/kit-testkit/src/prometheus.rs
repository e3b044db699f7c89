//! A real Prometheus server for tests: Debian's `prometheus` (2.42 tested), scraping the
//! given targets every second, its data in a temp dir; values are read back through its
//! HTTP query API.
//!
//! Ready is not scraped: Prometheus applies its targets on a 5 s tick, so the first scrape
//! comes about 5 s after start. [`Prometheus::wait_for`] polls a query until its answer
//! satisfies the test, with a generous bound; when that bound passes, the panic message
//! carries the last answer and the scrape targets' health (a target that refuses
//! connections says so there).
//!
//! ```no_run
//! # async fn demo(service_debug_addr: std::net::SocketAddr) {
//! let prometheus = kit_testkit::prometheus::Prometheus::start(&[service_debug_addr]).await;
//! let summed = prometheus.wait_for("example_addsvc_integers_summed", |v| v == 3.0).await;
//! assert_eq!(summed, 3.0);
//! # }
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{Process, TempDir, free_addr, http, require_binary, temp_dir};

/// How long the server may take to serve its API (a loaded 2-CPU machine included).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a query may take to show the awaited value: the first scrape alone comes ~5 s
/// after start.
const VALUE_TIMEOUT: Duration = Duration::from_secs(60);

/// What Prometheus logs once its web API answers.
const READY_LINE: &str = "Server is ready to receive web requests.";

/// One Prometheus server on a loopback port; killed when dropped.
#[derive(Debug)]
pub struct Prometheus {
    process: Process,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `GET /metrics` of each of `targets` every second, and
    /// waits until its API answers.
    ///
    /// # Panics
    ///
    /// When `prometheus` is not installed (with the command that installs it), or when it
    /// does not get ready within 30 s (with everything it printed).
    pub async fn start(targets: &[SocketAddr]) -> Prometheus {
        let binary = require_binary(
            "prometheus",
            "apt-get install -y --no-install-recommends prometheus",
        );
        let dir = temp_dir("kit-prometheus");
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: kit\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
             \x20   static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let addr = free_addr();
        let process = Process::builder(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .spawn();
        process.wait_for_line_async(READY_LINE, START_TIMEOUT).await;
        Prometheus {
            process,
            addr,
            _dir: dir,
        }
    }

    /// The address of its web API.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JSON answer to `GET path` on the API (`path` already encoded).
    async fn get(&self, path: &str) -> serde_json::Value {
        let answer = http::request(self.addr, "GET", path, "").await;
        assert_eq!(answer.status, 200, "GET {path} on prometheus: {answer:?}");
        serde_json::from_str(&answer.body).expect("prometheus answers JSON")
    }

    /// The instant-query answer's `data.result` for `promql`: one entry per series.
    pub async fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let answer = self
            .get(&format!("/api/v1/query?query={}", encode(promql)))
            .await;
        assert_eq!(answer["status"], "success", "query {promql:?}: {answer}");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls `promql` (which must select one series) until its value satisfies `accept`,
    /// and returns the value.
    ///
    /// # Panics
    ///
    /// When 60 s pass first, with the last answer and the scrape targets' health.
    pub async fn wait_for(&self, promql: &str, accept: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + VALUE_TIMEOUT;
        loop {
            let result = self.query(promql).await;
            let value = match result.as_slice() {
                [series] => series["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok()),
                _ => None,
            };
            if let Some(value) = value.filter(|v| accept(*v)) {
                return value;
            }
            if Instant::now() > deadline {
                let targets = self.get("/api/v1/targets?state=active").await;
                panic!(
                    "prometheus never answered {promql:?} acceptably within {VALUE_TIMEOUT:?}; \
                     last result: {result:?}; targets: {targets}; its output:\n{}",
                    self.process.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// `text` percent-encoded for a query string (everything but unreserved characters).
fn encode(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, byte| {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            super::encode("rate(a_b{m=\"Sum\"}[1m]) + 1"),
            "rate%28a_b%7Bm%3D%22Sum%22%7D%5B1m%5D%29%20%2B%201"
        );
    }
}
