//! The real StatsD daemon (Etsy's, the npm package `statsd`, run with node) on free loopback
//! ports, for tests of StatsD clients.
//!
//! Each [`Statsd`] has a configuration of its own in a [`temp_dir`]: UDP and management
//! ports on 127.0.0.1, a flush interval of an hour (the daemon resets counters and timers at
//! every flush, so the management view holds everything the test sent), config reloading
//! off, and one flush backend written here that appends each flush as a JSON line to a file.
//! The daemon flushes a last time when it gets `SIGTERM`: [`Statsd::stop`] sends it and
//! returns that flush, what the daemon aggregated over the whole test.
//!
//! The daemon is `stats.js` of the npm package, found through `KIT_STATSD_JS`, else at
//! `$XDG_CACHE_HOME/kit/statsd/node_modules/statsd/stats.js` (`~/.cache` without
//! `XDG_CACHE_HOME`), where `scripts/test` installs the pinned version ([`INSTALL_HINT`]).
//! Tested with statsd 0.9.0 on node 20.
//!
//! What the daemon does with lines, worth knowing when reading its flush: counters are
//! summed, timers keep every value (`timers`) and their statistics (`timer_data`: `count`,
//! `sum`, `lower`, `upper`, `mean`, `median`, the percentiles 50 and 90), gauges keep the last
//! value (a leading sign makes it a change), DogStatsD tags `|#k:v` are folded into the name
//! as `name;k=v`, and any line it cannot parse adds one to `statsd.bad_lines_seen`.
//!
//! ```no_run
//! # async fn run() {
//! let statsd = kit_testkit::statsd::Statsd::start().await;
//! // ... a client sends to statsd.addr() ...
//! statsd.wait_for_lines(3).await;
//! let flush = statsd.stop().await;
//! assert_eq!(flush["counters"]["statsd.bad_lines_seen"], 0);
//! # }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Process, Signal, TempDir, free_addr, require_binary, temp_dir};

/// How `scripts/test` installs the daemon (node itself: `apt-get install -y nodejs npm`).
pub const INSTALL_HINT: &str = "npm install --prefix ~/.cache/kit/statsd --no-audit --no-fund \
                                --omit=optional statsd@0.9.0 (what scripts/test's install does)";

/// How long a start may take.
const START_TIME: Duration = Duration::from_secs(30);

/// How long the daemon may take to flush and exit after `SIGTERM`.
const STOP_TIME: Duration = Duration::from_secs(15);

/// How long [`Statsd::wait_for_lines`] waits.
const ARRIVAL_TIME: Duration = Duration::from_secs(30);

/// The flush backend: appends every flush as one JSON line to `config.jsonBackend.path`.
/// Synchronous, so that the flush the daemon makes while exiting is written.
const JSON_BACKEND: &str = r#"// Written by kit_testkit::statsd: each flush as one JSON line.
const fs = require('fs');
exports.init = function (startupTime, config, events) {
  const path = config.jsonBackend.path;
  events.on('flush', function (timestamp, metrics) {
    const line = JSON.stringify({
      timestamp: timestamp,
      counters: metrics.counters,
      gauges: metrics.gauges,
      timers: metrics.timers,
      timer_data: metrics.timer_data,
    });
    fs.appendFileSync(path, line + '\n');
  });
  return true;
};
"#;

/// A StatsD daemon for a test: see the [module docs](self). Dropping it kills the daemon.
#[derive(Debug)]
pub struct Statsd {
    addr: SocketAddr,
    mgmt: SocketAddr,
    dir: TempDir,
    process: Process,
}

impl Statsd {
    /// Starts a daemon and waits until its management port answers `health` with `up`.
    ///
    /// # Panics
    ///
    /// When node or the daemon is not installed (with how to install them), or it exits or
    /// does not answer within 30 seconds (with its output).
    pub async fn start() -> Statsd {
        let node = require_binary("node", "apt-get install -y nodejs npm");
        let stats_js = stats_js();
        let addr = free_addr();
        let mgmt = free_addr();
        let dir = temp_dir("kit-statsd-");
        let backend = dir.path().join("json-backend.js");
        let flushes = dir.path().join("flushes.jsonl");
        write(&backend, JSON_BACKEND);
        let config = format!(
            "{{\n  address: \"127.0.0.1\",\n  port: {port},\n  mgmt_address: \"127.0.0.1\",\n  \
             mgmt_port: {mgmt_port},\n  flushInterval: 3600000,\n  percentThreshold: [50, 90],\n  \
             backends: [{backend:?}],\n  jsonBackend: {{ path: {flushes:?} }},\n  \
             automaticConfigReload: false\n}}\n",
            port = addr.port(),
            mgmt_port = mgmt.port(),
            backend = backend.display().to_string(),
            flushes = flushes.display().to_string(),
        );
        let config_path = dir.path().join("config.js");
        write(&config_path, &config);
        let process = Process::builder(node)
            .name(format!("statsd {addr}"))
            .current_dir(dir.path())
            .arg(stats_js)
            .arg(&config_path)
            .spawn();
        let deadline = Instant::now() + START_TIME;
        loop {
            // Panics with the output if the daemon exits first.
            let remaining = deadline.saturating_duration_since(Instant::now());
            process.wait_for_port_async(mgmt, remaining).await;
            let answer = command(mgmt, "health").await;
            if answer.as_deref().is_ok_and(|a| a.trim() == "health: up") {
                break;
            }
            if Instant::now() >= deadline {
                panic!(
                    "statsd did not answer `health` within {START_TIME:?} (last: {answer:?})\n{}",
                    process.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Statsd {
            addr,
            mgmt,
            dir,
            process,
        }
    }

    /// The UDP address clients send to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends a management command (`counters`, `timers`, `gauges`, `stats`, …) and returns
    /// the answer, up to its `END` line. The answers are node's `util.inspect` text, not
    /// JSON: good for eyes and for [`wait_for_lines`](Statsd::wait_for_lines); tests assert
    /// on [`stop`](Statsd::stop)'s JSON.
    ///
    /// # Panics
    ///
    /// When the daemon does not answer within five seconds.
    pub async fn management(&self, cmd: &str) -> String {
        command(self.mgmt, cmd)
            .await
            .unwrap_or_else(|err| panic!("statsd management command {cmd:?}: {err}"))
    }

    /// Waits until the daemon has taken `lines` metric lines (its `statsd.metrics_received`
    /// counter), polling, bounded.
    ///
    /// # Panics
    ///
    /// After 30 seconds, with the last count and `bad_lines_seen`.
    pub async fn wait_for_lines(&self, lines: u64) {
        let deadline = Instant::now() + ARRIVAL_TIME;
        loop {
            let counters = self.management("counters").await;
            let received = inspect_number(&counters, "statsd.metrics_received").unwrap_or(0);
            if received >= lines {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "statsd took {received} of {lines} lines within {ARRIVAL_TIME:?}; its counters:\n{counters}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the daemon with `SIGTERM`, which makes it flush a last time, and returns that
    /// flush: `{"counters": {..}, "gauges": {..}, "timers": {..}, "timer_data": {..}}`.
    ///
    /// # Panics
    ///
    /// When it does not exit within 15 seconds or wrote no flush.
    pub async fn stop(mut self) -> serde_json::Value {
        self.process.signal(Signal::Term);
        if self.process.wait_timeout_async(STOP_TIME).await.is_none() {
            panic!(
                "statsd still runs {STOP_TIME:?} after SIGTERM\n{}",
                self.process.output()
            );
        }
        let path = self.dir.path().join("flushes.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let last = text.lines().last().unwrap_or_else(|| {
            panic!(
                "statsd wrote no flush to {}\n{}",
                path.display(),
                self.process.output()
            )
        });
        serde_json::from_str(last)
            .unwrap_or_else(|err| panic!("statsd's flush is not JSON ({err}): {last}"))
    }
}

/// Where the daemon's `stats.js` is.
fn stats_js() -> PathBuf {
    let path = match std::env::var_os("KIT_STATSD_JS") {
        Some(path) => PathBuf::from(path),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
                .unwrap_or_default();
            cache.join("kit/statsd/node_modules/statsd/stats.js")
        }
    };
    if !path.is_file() {
        panic!(
            "the StatsD daemon is not installed (no {}; KIT_STATSD_JS names another): install it with `{INSTALL_HINT}`",
            path.display()
        );
    }
    path
}

fn write(path: &std::path::Path, text: &str) {
    std::fs::write(path, text)
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
}

/// The number after `name:` (quoted or not) in node's inspect text, whose entries are
/// separated by commas and may share a line.
fn inspect_number(text: &str, name: &str) -> Option<u64> {
    text.split([',', '\n']).find_map(|entry| {
        let (key, value) = entry.rsplit_once(':')?;
        let key = key.trim_matches(|c: char| c == '\'' || c == '{' || c.is_whitespace());
        let value = value.trim_matches(|c: char| c == '}' || c.is_whitespace());
        (key == name).then(|| value.parse().ok())?
    })
}

/// One management exchange: `cmd`, then the answer up to `END` (or the one-line answers of
/// `health` and errors).
async fn command(mgmt: SocketAddr, cmd: &str) -> std::io::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(mgmt).await?;
        stream.write_all(format!("{cmd}\n").as_bytes()).await?;
        let mut answer = Vec::new();
        let mut buf = [0; 8192];
        loop {
            let n = stream.read(&mut buf).await?;
            answer.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&answer);
            if n == 0
                || text.ends_with("END\n\n")
                || (text.ends_with('\n')
                    && (text.starts_with("health") || text.starts_with("ERROR")))
            {
                return Ok(text.into_owned());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer to {cmd:?} within 5s"),
            ))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_read_from_inspect_text() {
        let text = "{\n  'statsd.bad_lines_seen': 0,\n  'statsd.metrics_received': 7,\n  foo: 5\n}\nEND\n\n";
        assert_eq!(
            super::inspect_number(text, "statsd.metrics_received"),
            Some(7)
        );
        assert_eq!(super::inspect_number(text, "foo"), Some(5));
        let short = "{ 'statsd.bad_lines_seen': 0, 'statsd.metrics_received': 2 }\nEND\n\n";
        assert_eq!(
            super::inspect_number(short, "statsd.metrics_received"),
            Some(2)
        );
    }
}
