//! A real etcd v3 server for tests: Debian's `etcd-server` (the `etcd` binary), one member
//! on loopback ports, its data in a temp dir.
//!
//! The server listens for clients on two ports: [`Etcd::client_addr`], the one the code
//! under test is given, and [`Etcd::admin_addr`], the one [`Etcd::etcdctl`] uses. That lets
//! a test change the store while the code under test cannot reach it
//! ([`Etcd::start_admin_only`]): what a client misses during an outage.
//!
//! Stopping and starting again keeps the ports and the data dir, as a restarted server
//! would; [`Etcd::wipe`] removes the data, as a server replaced by a fresh one would.
//!
//! In **TLS mode** ([`Etcd::new_tls`]) both client ports speak only TLS and require a client
//! certificate signed by the test's own CA: [`Certificates`] makes that CA, a server
//! certificate for `127.0.0.1` and `localhost`, and a client certificate, and [`Etcd::tls`]
//! hands them to the test. `etcdctl` presents the client certificate.
//!
//! The waits here are async (tests that use etcd run its clients on a tokio runtime, which
//! must keep running while the server starts); every one is bounded.
//!
//! ```no_run
//! # async fn demo() {
//! let mut etcd = kit_testkit::etcd::Etcd::started().await;
//! etcd.etcdctl(["put", "/services/demo/127.0.0.1:1", "127.0.0.1:1"]).await;
//! etcd.stop().await;
//! etcd.start().await; // same ports, same data
//! assert!(etcd.etcdctl(["get", "--print-value-only", "/services/demo/127.0.0.1:1"]).await.contains("127.0.0.1:1"));
//! # }
//! ```

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::tls::Certificates;
use crate::{Process, Signal, TempDir, free_addr, require_binary, temp_dir};

/// How long the server may take to start serving clients (a loaded 2-CPU machine included).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server may take to exit after `SIGTERM`, and an `etcdctl` command to finish.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// What the server prints once it serves client requests: etcd 3.4 writes it (with
/// `--logger zap`) after the member has joined its cluster and become ready; "securely"
/// instead of "insecurely" in TLS mode.
const READY_LINE: &str = "serving client traffic";

/// The member's name, and the cluster's initial configuration's.
const MEMBER: &str = "kit";

/// One etcd server (a single-member cluster) on loopback ports, with its data in a temp
/// dir; killed when dropped.
#[derive(Debug)]
pub struct Etcd {
    etcd: PathBuf,
    etcdctl: PathBuf,
    client_addr: SocketAddr,
    admin_addr: SocketAddr,
    peer_addr: SocketAddr,
    dir: TempDir,
    process: Option<Process>,
    /// The root password, once auth is enabled.
    root_password: Option<String>,
    /// In TLS mode: the certificates, and where their files are.
    tls: Option<(Certificates, TlsFiles)>,
}

/// Where a TLS etcd's certificates are, as files for `etcd` and `etcdctl`.
#[derive(Debug)]
struct TlsFiles {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl TlsFiles {
    fn write(certificates: &Certificates, dir: &Path) -> TlsFiles {
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem)
                .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
            path
        };
        TlsFiles {
            ca: write("ca.pem", &certificates.ca),
            server_cert: write("server.pem", &certificates.server_cert),
            server_key: write("server-key.pem", &certificates.server_key),
            client_cert: write("client.pem", &certificates.client_cert),
            client_key: write("client-key.pem", &certificates.client_key),
        }
    }
}

impl Etcd {
    /// A server not started yet: ports and a data dir chosen, the binaries found. A test of
    /// a registry that is down at first gives [`client_addr`](Etcd::client_addr) to the code
    /// under test, then calls [`start`](Etcd::start).
    ///
    /// # Panics
    ///
    /// When `etcd` (Debian's `etcd-server`) or `etcdctl` (`etcd-client`) is not installed,
    /// with the command that installs it.
    pub fn new() -> Etcd {
        Etcd {
            etcd: require_binary("etcd", "apt-get install -y etcd-server"),
            etcdctl: require_binary("etcdctl", "apt-get install -y etcd-client"),
            client_addr: free_addr(),
            admin_addr: free_addr(),
            peer_addr: free_addr(),
            dir: temp_dir("kit-etcd-"),
            process: None,
            root_password: None,
            tls: None,
        }
    }

    /// A server in TLS mode, not started yet: as [`Etcd::new`], with [`Certificates`] of its
    /// own. Its client ports speak only TLS (`https://`) and require a client certificate
    /// signed by its CA, such as [`Certificates::client_cert`] (see [`tls`](Etcd::tls)).
    ///
    /// # Panics
    ///
    /// As [`Etcd::new`], or when the certificate files cannot be written.
    pub fn new_tls() -> Etcd {
        let mut etcd = Etcd::new();
        let certificates = Certificates::generate();
        let files = TlsFiles::write(&certificates, etcd.dir.path());
        etcd.tls = Some((certificates, files));
        etcd
    }

    /// A server, started: [`Etcd::new`], then [`start`](Etcd::start).
    pub async fn started() -> Etcd {
        let mut etcd = Etcd::new();
        etcd.start().await;
        etcd
    }

    /// A server in TLS mode, started: [`Etcd::new_tls`], then [`start`](Etcd::start).
    pub async fn started_tls() -> Etcd {
        let mut etcd = Etcd::new_tls();
        etcd.start().await;
        etcd
    }

    /// Starts the server on its ports and data dir, and waits until it serves clients.
    ///
    /// # Panics
    ///
    /// When it is already running, or does not get ready within 30 s (with its output).
    pub async fn start(&mut self) {
        self.spawn(&[self.client_addr, self.admin_addr]).await;
    }

    /// Starts the server with only the admin port open: [`etcdctl`](Etcd::etcdctl) reaches
    /// it, the code under test (given [`client_addr`](Etcd::client_addr)) does not. Stop it
    /// and [`start`](Etcd::start) it again to let clients back.
    ///
    /// # Panics
    ///
    /// As [`start`](Etcd::start).
    pub async fn start_admin_only(&mut self) {
        self.spawn(&[self.admin_addr]).await;
    }

    async fn spawn(&mut self, client_addrs: &[SocketAddr]) {
        assert!(self.process.is_none(), "etcd is already running");
        let client_urls = client_addrs
            .iter()
            .map(|addr| self.url(*addr))
            .collect::<Vec<_>>()
            .join(",");
        let peer_url = format!("http://{}", self.peer_addr);
        let mut builder = Process::builder(&self.etcd);
        if let Some((_, files)) = &self.tls {
            builder = builder
                .arg("--cert-file")
                .arg(&files.server_cert)
                .arg("--key-file")
                .arg(&files.server_key)
                .arg("--trusted-ca-file")
                .arg(&files.ca)
                .arg("--client-cert-auth");
        }
        let process = builder
            .name("etcd")
            .current_dir(self.dir.path())
            .args(["--name", MEMBER])
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--listen-client-urls", &client_urls])
            .args(["--advertise-client-urls", &client_urls])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("{MEMBER}={peer_url}")])
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .spawn();
        process.wait_for_line_async(READY_LINE, START_TIMEOUT).await;
        self.process = Some(process);
    }

    /// Stops the server gracefully (`SIGTERM`; `SIGKILL` if it is still there after 15 s).
    /// Its ports and data stay for a later [`start`](Etcd::start).
    pub async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.signal(Signal::Term);
            if process.wait_timeout_async(STOP_TIMEOUT).await.is_none() {
                process.signal(Signal::Kill);
            }
        }
    }

    /// Kills the server (`SIGKILL`), as a crash would: nothing is flushed or closed
    /// politely. Its ports and data stay for a later [`start`](Etcd::start).
    pub fn kill(&mut self) {
        // Dropping the process kills and reaps it.
        self.process = None;
    }

    /// Deletes the server's data, as if a fresh server replaced it: its keys, leases, users
    /// and revisions are gone at the next [`start`](Etcd::start), and auth is off.
    ///
    /// # Panics
    ///
    /// While it is running, or if the data cannot be removed.
    pub fn wipe(&mut self) {
        assert!(self.process.is_none(), "stop etcd before wiping its data");
        let data = self.data_dir();
        if data.exists() {
            std::fs::remove_dir_all(&data)
                .unwrap_or_else(|err| panic!("cannot remove {}: {err}", data.display()));
        }
        self.root_password = None;
    }

    /// Where clients of the code under test connect: `127.0.0.1:<port>`.
    pub fn client_addr(&self) -> SocketAddr {
        self.client_addr
    }

    /// The second client port, the test's own (see [`start_admin_only`](Etcd::start_admin_only)).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The URL of the client port: `http://127.0.0.1:<port>`, or `https://...` in TLS mode.
    pub fn client_url(&self) -> String {
        self.url(self.client_addr)
    }

    /// The certificates of a server in TLS mode ([`Etcd::new_tls`]); `None` otherwise.
    pub fn tls(&self) -> Option<&Certificates> {
        self.tls.as_ref().map(|(certificates, _)| certificates)
    }

    fn url(&self, addr: SocketAddr) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{addr}")
    }

    /// Runs `etcdctl` (API v3) with `args` against the admin port, as root once auth is
    /// enabled, with the client certificate in TLS mode, and returns its standard output
    /// and error.
    ///
    /// # Panics
    ///
    /// When it fails or takes longer than 15 s, with its output.
    pub async fn etcdctl<I, A>(&self, args: I) -> String
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        let mut builder = Process::builder(&self.etcdctl)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.url(self.admin_addr)))
            .args(["--dial-timeout=5s", "--command-timeout=10s"]);
        if let Some((_, files)) = &self.tls {
            builder = builder
                .arg("--cacert")
                .arg(&files.ca)
                .arg("--cert")
                .arg(&files.client_cert)
                .arg("--key")
                .arg(&files.client_key);
        }
        if let Some(password) = &self.root_password {
            builder = builder.arg(format!("--user=root:{password}"));
        }
        let mut process = builder.args(args).spawn();
        let status = process.wait_timeout_async(STOP_TIMEOUT).await;
        let output = process.output();
        match status {
            Some(status) if status.success() => output,
            Some(status) => panic!("etcdctl failed ({status}):\n{output}"),
            None => panic!("etcdctl did not finish within {STOP_TIMEOUT:?}:\n{output}"),
        }
    }

    /// Creates the `root` user with `root_password` and enables authentication: from then
    /// on every client must authenticate, and [`etcdctl`](Etcd::etcdctl) does so as root.
    pub async fn enable_auth(&mut self, root_password: &str) {
        self.etcdctl(["user", "add", &format!("root:{root_password}")])
            .await;
        self.etcdctl(["auth", "enable"]).await;
        self.root_password = Some(root_password.to_owned());
    }

    /// Adds a user `name` with `password` that may read and write the keys under `prefix`
    /// (with auth enabled, a registry's clients need such a user, or root).
    pub async fn add_user(&self, name: &str, password: &str, prefix: &str) {
        let role = format!("{name}-role");
        self.etcdctl(["role", "add", &role]).await;
        self.etcdctl([
            "role",
            "grant-permission",
            "--prefix=true",
            &role,
            "readwrite",
            prefix,
        ])
        .await;
        self.etcdctl(["user", "add", &format!("{name}:{password}")])
            .await;
        self.etcdctl(["user", "grant-role", name, &role]).await;
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Default for Etcd {
    fn default() -> Self {
        Etcd::new()
    }
}
