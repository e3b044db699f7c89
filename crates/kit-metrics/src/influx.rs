//! InfluxDB 1.x: the line protocol, POSTed to `/write?db=…&precision=ms`.
//!
//! Each flush (see [`push`] for the model) writes one point per series, all
//! stamped with the flush's time in milliseconds. The measurement is the metric's name, the
//! labels are tags (sorted by name, as InfluxDB prefers; a label with an empty value is left
//! out, the protocol has no empty tags), and the fields are:
//!
//! * counter: `count=Ni`, the increase since the last flush (an integer);
//! * gauge: `value=V`, its value (a float);
//! * histogram: `count=Ni` and the floats `sum`, `min`, `max`, `p50`, `p90`, `p95`, `p99`,
//!   the [`Summary`] of the interval's values. Count, sum, min and max are over every value;
//!   beyond [`InfluxBuilder::histogram_cap`] values are not kept (see [`push`]) and the
//!   percentiles are over the kept ones.
//!
//! A field's type is fixed once InfluxDB has stored it: a metric name used as both a counter
//! and a gauge would conflict (`count` is an integer, `value` a float: different fields, so
//! they do not). Commas, spaces and `=` in names and tags are escaped as the protocol says.
//! Non-finite values are not sent (the protocol cannot carry them).
//!
//! A flush that is not answered `204 No Content` within [`InfluxBuilder::timeout`] (server
//! down, database missing, a parse error) counts its points as dropped, and the warning
//! carries InfluxDB's error message. The database must exist: this backend does not create
//! it. Authentication and HTTPS are not supported yet.
//!
//! Tested against InfluxDB 1.6.7 (Debian `influxdb`), read back with InfluxQL.
//!
//! ```no_run
//! # async fn run() {
//! let (recorder, handle) = kit_metrics::influx::InfluxBuilder::new("http://127.0.0.1:8086", "kit")
//!     .build()
//!     .expect("a valid URL");
//! metrics::set_global_recorder(recorder).expect("no recorder yet");
//! // ... serve ...
//! handle.flush_and_stop().await;
//! # }
//! ```

use std::fmt::Write as _;
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use metrics::Key;

use crate::push::{
    self, Backend, DEFAULT_HISTOGRAM_CAP, DEFAULT_INTERVAL, Failure, MIN_HISTOGRAM_CAP, PushHandle,
    PushRecorder, Snapshot, Summary,
};

/// How long one write may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an error answer's body goes into the log.
const ERROR_BODY_LIMIT: usize = 4096;

/// Builds an InfluxDB [`PushRecorder`] and its [`PushHandle`].
#[derive(Debug, Clone)]
pub struct InfluxBuilder {
    url: String,
    database: String,
    interval: Duration,
    histogram_cap: usize,
    timeout: Duration,
}

impl InfluxBuilder {
    /// Writes to database `database` of the InfluxDB at `url` (`http://host:port`), flushing
    /// every [`DEFAULT_INTERVAL`], each write bounded by [`DEFAULT_TIMEOUT`].
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> InfluxBuilder {
        InfluxBuilder {
            url: url.into(),
            database: database.into(),
            interval: DEFAULT_INTERVAL,
            histogram_cap: DEFAULT_HISTOGRAM_CAP,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How many values of each histogram to keep between two flushes (at least
    /// [`MIN_HISTOGRAM_CAP`]; default [`DEFAULT_HISTOGRAM_CAP`]). Beyond it, values still
    /// count in the summary's count, sum, min and max, but the percentiles come from the
    /// kept ones: see the [module docs](self).
    pub fn histogram_cap(mut self, cap: usize) -> InfluxBuilder {
        self.histogram_cap = cap.max(MIN_HISTOGRAM_CAP);
        self
    }

    /// How often to flush.
    pub fn interval(mut self, interval: Duration) -> InfluxBuilder {
        self.interval = interval;
        self
    }

    /// How long one write may take.
    pub fn timeout(mut self, timeout: Duration) -> InfluxBuilder {
        self.timeout = timeout;
        self
    }

    /// Spawns the flush task on the current tokio runtime. InfluxDB need not be up yet.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the URL is not an `http://host[:port]` URL.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn build(self) -> io::Result<(PushRecorder, PushHandle)> {
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let base: Uri = self
            .url
            .parse()
            .map_err(|err| invalid(format!("InfluxDB URL {:?}: {err}", self.url)))?;
        if base.scheme_str() != Some("http") || base.authority().is_none() {
            return Err(invalid(format!(
                "InfluxDB URL {:?}: expected http://host[:port]",
                self.url
            )));
        }
        let mut query = String::from("db=");
        query.extend(percent_encoding::utf8_percent_encode(
            &self.database,
            percent_encoding::NON_ALPHANUMERIC,
        ));
        query.push_str("&precision=ms");
        let write_uri = Uri::builder()
            .scheme("http")
            .authority(base.authority().cloned().expect("checked above"))
            .path_and_query(format!("/write?{query}"))
            .build()
            .map_err(|err| invalid(format!("InfluxDB URL {:?}: {err}", self.url)))?;
        let backend = Influx {
            client: Client::builder(TokioExecutor::new()).build_http(),
            write_uri,
            timeout: self.timeout,
        };
        Ok(push::start(backend, self.interval, self.histogram_cap))
    }
}

struct Influx {
    client: Client<HttpConnector, Full<Bytes>>,
    write_uri: Uri,
    timeout: Duration,
}

impl Backend for Influx {
    const NAME: &'static str = "influx";

    async fn send(&mut self, snapshot: Snapshot, now: SystemTime) -> Result<(), Failure> {
        let millis = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let (body, points) = encode(&snapshot, millis);
        tokio::time::timeout(self.timeout, self.write(body))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.timeout)))
            .map_err(|error| Failure {
                lost: points,
                error: format!("POST {}: {error}", self.write_uri),
            })
    }
}

impl Influx {
    async fn write(&self, body: String) -> Result<(), String> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.write_uri.clone())
            .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| err.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|err| error_chain(&err))?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(());
        }
        let body = Limited::new(response.into_body(), ERROR_BODY_LIMIT)
            .collect()
            .await
            .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
            .unwrap_or_default();
        Err(format!("{status}: {}", body.trim()))
    }
}

/// An error with its sources (hyper's client error alone says only "client error").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        let _ = write!(text, ": {err}");
        source = err.source();
    }
    text
}

/// The snapshot as line protocol, and how many points it holds.
fn encode(snapshot: &Snapshot, millis: u128) -> (String, u64) {
    let mut out = String::new();
    let mut points = 0;
    for (key, delta) in &snapshot.counters {
        series(&mut out, key);
        let _ = writeln!(out, " count={delta}i {millis}");
        points += 1;
    }
    for (key, value) in snapshot.gauges.iter().filter(|(_, v)| v.is_finite()) {
        series(&mut out, key);
        let _ = writeln!(out, " value={value} {millis}");
        points += 1;
    }
    for histogram in &snapshot.histograms {
        let Some(summary) = Summary::of_histogram(histogram) else {
            continue;
        };
        series(&mut out, &histogram.key);
        let _ = write!(out, " count={}i", summary.count);
        for (name, value) in summary.fields() {
            let _ = write!(out, ",{name}={value}");
        }
        let _ = writeln!(out, " {millis}");
        points += 1;
    }
    (out, points)
}

/// Writes the measurement and the tags, escaped.
fn series(out: &mut String, key: &Key) {
    escape(out, key.name(), &[',', ' ']);
    let mut tags: Vec<(&str, &str)> = push::labels(key).filter(|(_, v)| !v.is_empty()).collect();
    tags.sort_unstable();
    for (name, value) in tags {
        out.push(',');
        escape(out, name, &[',', '=', ' ']);
        out.push('=');
        escape(out, value, &[',', '=', ' ']);
    }
}

/// Appends `text` with a backslash before each of `special`; line breaks (which end a line
/// whatever the escaping) become spaces, escaped too.
fn escape(out: &mut String, text: &str, special: &[char]) {
    for c in text.chars() {
        let c = if c == '\n' || c == '\r' { ' ' } else { c };
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::{HistogramValues, OverCap};

    #[test]
    fn points_are_escaped_and_tags_sorted() {
        let snapshot = Snapshot {
            counters: vec![(
                Key::from_parts(
                    "kit requests",
                    vec![
                        metrics::Label::new("z", "a,b=c d"),
                        metrics::Label::new("a", "1"),
                        metrics::Label::new("empty", ""),
                    ],
                ),
                3,
            )],
            gauges: vec![
                (Key::from_name("g"), 2.0),
                (Key::from_name("nan"), f64::NAN),
            ],
            histograms: vec![HistogramValues {
                key: Key::from_name("h"),
                values: vec![1.0, 3.0],
                over: OverCap::NONE,
                seconds: false,
            }],
            over_cap: 0,
        };
        let (text, points) = encode(&snapshot, 5);
        assert_eq!(
            text,
            "kit\\ requests,a=1,z=a\\,b\\=c\\ d count=3i 5\n\
             g value=2 5\n\
             h count=2i,sum=4,min=1,max=3,p50=1,p90=3,p95=3,p99=3 5\n"
        );
        assert_eq!(points, 3);
    }

    #[test]
    fn a_summary_over_the_cap_keeps_count_sum_min_and_max_exact() {
        let snapshot = Snapshot {
            counters: vec![],
            gauges: vec![],
            histograms: vec![HistogramValues {
                key: Key::from_name("h"),
                values: vec![4.0, 1.0, 3.0, 2.0],
                over: OverCap {
                    count: 2,
                    sum: 10.5,
                    min: 0.5,
                    max: 10.0,
                },
                seconds: false,
            }],
            over_cap: 2,
        };
        let (text, points) = encode(&snapshot, 5);
        // Percentiles from the kept four; the rest over all six.
        assert_eq!(
            text,
            "h count=6i,sum=20.5,min=0.5,max=10,p50=2,p90=4,p95=4,p99=4 5\n"
        );
        assert_eq!(points, 1);
    }
}
