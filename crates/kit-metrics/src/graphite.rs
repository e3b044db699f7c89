//! Graphite's plaintext protocol over TCP (`path value timestamp\n`), to carbon.
//!
//! Each flush (see [`push`] for the model) writes, with the flush's time in
//! Unix seconds:
//!
//! * a counter's increase since the last flush: `name N ts`;
//! * a gauge's value: `name V ts`;
//! * a histogram's [`Summary`] over the interval, one series per
//!   statistic: `name.count`, `name.sum`, `name.min`, `name.max`, `name.p50`, `name.p90`,
//!   `name.p95`, `name.p99`. Count, sum, min and max are over every value of the interval;
//!   beyond [`GraphiteBuilder::histogram_cap`] values are not kept (see [`push`]) and the
//!   percentiles are over the kept ones.
//!
//! Labels are sent as **Graphite 1.1 tags**, `name;key=value;key2=value2`: the label names
//! stay attached to their values (as path segments they would be lost), and carbon stores
//! each tag set as a series of its own (under `_tagged/` in its whisper directory). Carbon
//! older than 1.1 would take the whole `name;…` string as a plain name. Characters that
//! would break a line or a tag (whitespace, `;`, `~`, `=` in names, `!`/`^` in tag names)
//! are replaced by `_`, and an empty tag value is sent as `_`. Non-finite values are not
//! sent.
//!
//! One TCP connection is kept across flushes. Before each flush the backend checks that
//! carbon has not closed it (carbon never writes, so a readable socket means it went away)
//! and connects again if needed, so a restarted carbon gets the next flush. A flush that
//! cannot be connected or written within [`GraphiteBuilder::timeout`] counts its lines as
//! dropped. What the kernel accepted just before the server died can still be lost without
//! a count: TCP does not tell the writer.
//!
//! Tested against carbon-cache 1.1.7 (Debian `graphite-carbon`), read back from its whisper
//! files.
//!
//! ```no_run
//! # async fn run() {
//! let (recorder, handle) =
//!     kit_metrics::graphite::GraphiteBuilder::new("127.0.0.1:2003".parse().unwrap()).build();
//! metrics::set_global_recorder(recorder).expect("no recorder yet");
//! // ... serve ...
//! handle.flush_and_stop().await;
//! # }
//! ```

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::Key;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::push::{
    self, Backend, DEFAULT_HISTOGRAM_CAP, DEFAULT_INTERVAL, Failure, MIN_HISTOGRAM_CAP, PushHandle,
    PushRecorder, Snapshot, Summary,
};

/// How long a connection or a flush's write may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a Graphite [`PushRecorder`] and its [`PushHandle`].
#[derive(Debug, Clone)]
pub struct GraphiteBuilder {
    addr: SocketAddr,
    interval: Duration,
    histogram_cap: usize,
    timeout: Duration,
}

impl GraphiteBuilder {
    /// Sends to carbon's plaintext (line) receiver at `addr`, flushing every
    /// [`DEFAULT_INTERVAL`], waiting at most [`DEFAULT_TIMEOUT`] to connect or write.
    pub fn new(addr: SocketAddr) -> GraphiteBuilder {
        GraphiteBuilder {
            addr,
            interval: DEFAULT_INTERVAL,
            histogram_cap: DEFAULT_HISTOGRAM_CAP,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How many values of each histogram to keep between two flushes (at least
    /// [`MIN_HISTOGRAM_CAP`]; default [`DEFAULT_HISTOGRAM_CAP`]). Beyond it, values still
    /// count in the summary's count, sum, min and max, but the percentiles come from the
    /// kept ones: see the [module docs](self).
    pub fn histogram_cap(mut self, cap: usize) -> GraphiteBuilder {
        self.histogram_cap = cap.max(MIN_HISTOGRAM_CAP);
        self
    }

    /// How often to flush. Carbon keeps one point per series and storage step, the last one
    /// written: an interval shorter than the step overwrites points.
    pub fn interval(mut self, interval: Duration) -> GraphiteBuilder {
        self.interval = interval;
        self
    }

    /// How long connecting, or writing one flush, may take.
    pub fn timeout(mut self, timeout: Duration) -> GraphiteBuilder {
        self.timeout = timeout;
        self
    }

    /// Spawns the flush task on the current tokio runtime. It connects at the first flush:
    /// carbon need not be up yet.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn build(self) -> (PushRecorder, PushHandle) {
        let backend = Graphite {
            addr: self.addr,
            timeout: self.timeout,
            stream: None,
        };
        push::start(backend, self.interval, self.histogram_cap)
    }
}

struct Graphite {
    addr: SocketAddr,
    timeout: Duration,
    stream: Option<TcpStream>,
}

impl Backend for Graphite {
    const NAME: &'static str = "graphite";

    async fn send(&mut self, snapshot: Snapshot, now: SystemTime) -> Result<(), Failure> {
        let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (text, lines) = encode(&snapshot, seconds);
        self.write(text.as_bytes()).await.map_err(|err| {
            self.stream = None;
            Failure {
                lost: lines,
                error: format!("carbon at {}: {err}", self.addr),
            }
        })
    }
}

impl Graphite {
    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.stream.as_ref().is_some_and(closed_by_peer) {
            self.stream = None;
        }
        let timeout = self.timeout;
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let connect = tokio::time::timeout(timeout, TcpStream::connect(self.addr));
                let stream = connect.await.map_err(|_| timed_out("connect", timeout))??;
                self.stream.insert(stream)
            }
        };
        tokio::time::timeout(timeout, stream.write_all(bytes))
            .await
            .map_err(|_| timed_out("write", timeout))?
    }
}

/// Whether carbon closed the connection (or reset it): it never sends anything, so a
/// readable socket means end of stream or an error.
fn closed_by_peer(stream: &TcpStream) -> bool {
    match stream.try_read(&mut [0; 64]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(err) => err.kind() != io::ErrorKind::WouldBlock,
    }
}

fn timed_out(what: &str, timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} took longer than {timeout:?}"),
    )
}

/// The snapshot's lines, and how many there are.
fn encode(snapshot: &Snapshot, seconds: u64) -> (String, u64) {
    let mut out = String::new();
    let mut lines = 0;
    let mut line = |out: &mut String, key: &Key, suffix: &str, value: &dyn std::fmt::Display| {
        path(out, key, suffix);
        let _ = writeln!(out, " {value} {seconds}");
        lines += 1;
    };
    for (key, delta) in &snapshot.counters {
        line(&mut out, key, "", delta);
    }
    for (key, value) in snapshot.gauges.iter().filter(|(_, v)| v.is_finite()) {
        line(&mut out, key, "", value);
    }
    for histogram in &snapshot.histograms {
        let Some(summary) = Summary::of_histogram(histogram) else {
            continue;
        };
        line(&mut out, &histogram.key, ".count", &summary.count);
        for (name, value) in summary.fields() {
            let suffix = format!(".{name}");
            line(&mut out, &histogram.key, &suffix, &value);
        }
    }
    (out, lines)
}

/// Writes `name` + `suffix` and the labels as tags.
fn path(out: &mut String, key: &Key, suffix: &str) {
    let name_char = |c: char| !matches!(c, ';' | '~' | '=') && !c.is_whitespace();
    push::push_sanitised(out, key.name(), name_char);
    out.push_str(suffix);
    for (name, value) in push::labels(key) {
        out.push(';');
        push::push_sanitised(out, name, |c| !matches!(c, '!' | '^') && name_char(c));
        out.push('=');
        if value.is_empty() {
            out.push('_');
        } else {
            push::push_sanitised(out, value, |c| c != ';' && !c.is_whitespace());
            // A value may not start with `~`.
            if value.starts_with('~') {
                let start = out.len() - value.len();
                out.replace_range(start..start + 1, "_");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::{HistogramValues, OverCap};

    #[test]
    fn labels_become_tags_and_histograms_a_summary() {
        let key = |name: &'static str, labels: Vec<metrics::Label>| Key::from_parts(name, labels);
        let snapshot = Snapshot {
            counters: vec![(
                key(
                    "kit.requests",
                    vec![
                        metrics::Label::new("method", "sum"),
                        metrics::Label::new("odd name", "~a;b"),
                    ],
                ),
                3,
            )],
            gauges: vec![(key("kit.in_flight", vec![]), 2.0)],
            histograms: vec![HistogramValues {
                key: key("kit.lat", vec![metrics::Label::new("empty", "")]),
                values: vec![0.5, 1.5],
                over: OverCap::NONE,
                seconds: true,
            }],
            over_cap: 0,
        };
        let (text, lines) = encode(&snapshot, 1000);
        assert_eq!(
            text,
            "kit.requests;method=sum;odd_name=_a_b 3 1000\n\
             kit.in_flight 2 1000\n\
             kit.lat.count;empty=_ 2 1000\n\
             kit.lat.sum;empty=_ 2 1000\n\
             kit.lat.min;empty=_ 0.5 1000\n\
             kit.lat.max;empty=_ 1.5 1000\n\
             kit.lat.p50;empty=_ 0.5 1000\n\
             kit.lat.p90;empty=_ 1.5 1000\n\
             kit.lat.p95;empty=_ 1.5 1000\n\
             kit.lat.p99;empty=_ 1.5 1000\n"
        );
        assert_eq!(lines, 10);
    }
}
