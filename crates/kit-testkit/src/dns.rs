//! A real DNS server for tests: [unbound](https://nlnetlabs.nl/projects/unbound/) on a
//! free loopback port (or a given one), answering from records the test gives it and changes while it runs.
//!
//! The server is authoritative for nothing and recurses to nobody: it answers from its
//! local data only, and refuses every name outside it, so a test never sends a query off
//! the machine. Put records under `test.`, the top-level name reserved for testing
//! (RFC 6761), which the server holds as a static local zone: a name there with no records
//! is answered `NXDOMAIN`, and such negative answers may be cached for [`NEGATIVE_TTL`]
//! seconds only (the zone's SOA says so; unbound's built-in `test.` zone says 3 hours), so
//! that a resolver polling a name that was briefly absent sees it come back soon.
//!
//! Records are written in zone-file syntax, one per string, with the owner name fully
//! qualified (`"_http._tcp.svc.test. 60 IN SRV 0 0 8080 a.svc.test."`). They are changed
//! live with `unbound-control` over a Unix socket in the server's temp dir: [`Unbound::add`]
//! and [`Unbound::remove`] take effect for the next query, because unbound answers local
//! data without caching it.
//!
//! Tested with unbound 1.17.1 (Debian 12). It runs unprivileged or as root without touching
//! the system's configuration: its config file, PID file and control socket live in the
//! temp dir, it stays in the foreground, does not change user or root directory, and logs
//! to standard error.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use kit_testkit::dns::Unbound;
//!
//! let dns = Unbound::start(&["_http._tcp.svc.test. 60 IN SRV 0 0 8080 127.0.0.1."]).await;
//! dns.add("_http._tcp.svc.test. 60 IN SRV 0 0 8081 127.0.0.1.").await;
//! // Query dns.addr(): both records are there.
//! dns.remove("_http._tcp.svc.test.").await;
//! // Now the name is gone (NXDOMAIN).
//! # }
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Process, Signal, TempDir, free_addr, require_binary, temp_dir};

/// How to install the server and its control tool.
const INSTALL: &str = "apt-get install -y unbound";

/// How long the server may take to start, and a control command to finish.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to stop on `SIGTERM`.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long (seconds) a negative answer of the `test.` zone may be cached: the TTL and
/// minimum of its SOA record.
pub const NEGATIVE_TTL: u32 = 1;

/// A running unbound server on a loopback port, stopped (by PID) when dropped.
#[derive(Debug)]
pub struct Unbound {
    process: Process,
    addr: SocketAddr,
    server: PathBuf,
    control: PathBuf,
    config: PathBuf,
    // Last, so that it is deleted after the process is gone.
    _dir: TempDir,
}

impl Unbound {
    /// Starts unbound on a free port of 127.0.0.1 (UDP and TCP), serving `records`, and
    /// waits until it answers.
    ///
    /// # Panics
    ///
    /// If `unbound` or `unbound-control` is not installed (with the command that installs
    /// them), if a record contains a double quote, or if the server does not start within
    /// 30 s (with its output).
    pub async fn start(records: &[&str]) -> Unbound {
        Unbound::start_at(free_addr(), records).await
    }

    /// Starts unbound on `addr` (UDP and TCP), serving `records`, and waits until it
    /// answers: for a test that cannot name a port, such as one of the system's resolver,
    /// which asks port 53 (in a network namespace of its own: see
    /// [`netns`](crate::netns)).
    ///
    /// # Panics
    ///
    /// As [`start`](Unbound::start) does, and when `addr` is taken.
    pub async fn start_at(addr: SocketAddr, records: &[&str]) -> Unbound {
        let server = require_binary("unbound", INSTALL);
        let control = require_binary("unbound-control", INSTALL);
        let dir = temp_dir("kit-unbound-");
        let config = dir.path().join("unbound.conf");
        std::fs::write(&config, config_text(&dir, addr, records))
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", config.display()));
        let process = spawn(&server, &config, addr).await;
        Unbound {
            process,
            addr,
            server,
            control,
            config,
            _dir: dir,
        }
    }

    /// The address it answers on, UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds `record` (`unbound-control local_data`). A record of a name and type that
    /// already has records joins them.
    ///
    /// # Panics
    ///
    /// If unbound refuses the record or the control command fails.
    pub async fn add(&self, record: &str) {
        self.control(&["local_data", record]).await;
    }

    /// Removes every record of `name` (`unbound-control local_data_remove`); the name is
    /// answered `NXDOMAIN` afterwards.
    ///
    /// # Panics
    ///
    /// If the control command fails.
    pub async fn remove(&self, name: &str) {
        self.control(&["local_data_remove", name]).await;
    }

    /// How many queries of `record_type` (`"SRV"`, `"A"`, ...) the server has answered
    /// since it (last) started.
    ///
    /// # Panics
    ///
    /// If the control command fails or its output has no such counter in a form it knows.
    pub async fn queries(&self, record_type: &str) -> u64 {
        let output = self.control(&["stats_noreset"]).await;
        let key = format!("num.query.type.{record_type}=");
        match output.lines().find_map(|line| line.strip_prefix(&key)) {
            // unbound leaves out the counters of types never asked for.
            None => 0,
            Some(count) => count
                .trim()
                .parse()
                .unwrap_or_else(|err| panic!("bad counter {key}{count} from unbound: {err}")),
        }
    }

    /// Stops the server (`SIGTERM`, then waits for it to exit): the port stops answering.
    ///
    /// # Panics
    ///
    /// If it does not exit within 10 s.
    pub async fn stop(&mut self) {
        self.process.signal(Signal::Term);
        if self
            .process
            .wait_timeout_async(STOP_TIMEOUT)
            .await
            .is_none()
        {
            panic!(
                "unbound (pid {}) did not stop within {STOP_TIMEOUT:?} of SIGTERM",
                self.process.pid()
            );
        }
    }

    /// Starts the server again, after [`stop`](Unbound::stop), on the same port and with
    /// the records it was first started with (changes made since are lost, as with a real
    /// restart of unbound).
    ///
    /// # Panics
    ///
    /// As [`start`](Unbound::start) does.
    pub async fn restart(&mut self) {
        self.process = spawn(&self.server, &self.config, self.addr).await;
    }

    /// Runs `unbound-control` with `args` and returns its output.
    async fn control(&self, args: &[&str]) -> String {
        let mut command = Process::builder(&self.control)
            .name("unbound-control")
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .spawn();
        let status = command.wait_timeout_async(CONTROL_TIMEOUT).await;
        let output = command.output();
        match status {
            Some(status) if status.success() => output,
            Some(status) => panic!(
                "`unbound-control {}` failed ({status}):\n{output}",
                args.join(" ")
            ),
            None => panic!(
                "`unbound-control {}` did not finish within {CONTROL_TIMEOUT:?}:\n{output}",
                args.join(" ")
            ),
        }
    }
}

/// Starts unbound with `config` and waits until it serves on `addr`.
async fn spawn(server: &Path, config: &Path, addr: SocketAddr) -> Process {
    let process = Process::builder(server)
        .name("unbound")
        .arg("-d")
        .arg("-c")
        .arg(config)
        .spawn();
    process
        .wait_for_line_async("start of service", START_TIMEOUT)
        .await;
    process.wait_for_port_async(addr, START_TIMEOUT).await;
    process
}

/// The configuration: loopback only, local data only, everything in `dir`.
fn config_text(dir: &TempDir, addr: SocketAddr, records: &[&str]) -> String {
    let dir = dir.path().display();
    let mut text = format!(
        r#"server:
  interface: {ip}
  port: {port}
  do-ip6: no
  num-threads: 1
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{dir}"
  pidfile: "{dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  extended-statistics: yes
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  local-zone: "." refuse
  local-zone: "test." static
  local-data: "test. {NEGATIVE_TTL} IN SOA localhost. nobody.invalid. 1 3600 1200 604800 {NEGATIVE_TTL}"
"#,
        ip = addr.ip(),
        port = addr.port(),
    );
    for record in records {
        assert!(
            !record.contains('"'),
            "a record for kit_testkit::dns may not contain a double quote: {record}"
        );
        let _ = writeln!(text, "  local-data: \"{record}\"");
    }
    let _ = write!(
        text,
        r#"remote-control:
  control-enable: yes
  control-interface: "{dir}/control.sock"
"#
    );
    text
}
