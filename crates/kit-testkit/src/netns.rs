//! Tests that need a machine of their own: the test runs again, in a new network and mount
//! namespace that it sets up first.
//!
//! Some behaviour can only be seen through the machine's own configuration: a resolver that
//! reads `/etc/resolv.conf` (which names no port, so its server must be on port 53), a
//! client that reads `/etc/hosts`, a server on a privileged port. Changing these for real
//! would disturb the machine and every other test. A [`Namespace`] gives the test a private
//! copy instead:
//!
//! - The **outer run** (the test as the harness started it) runs the test binary again under
//!   `unshare --mount --net --pid --fork --kill-child --propagation private` (util-linux),
//!   with the test's exact name (`--exact NAME --nocapture`, which libtest takes and so does
//!   every binary nextest runs) and the environment variable [`ENV`] set to that name. Before the test binary starts, a
//!   shell in the new namespaces brings the loopback interface up (`ip link set lo up`,
//!   iproute2) and bind-mounts each [file](Namespace::file) over its path. The outer run
//!   then waits for the inner one and passes only if it exited successfully *and* printed
//!   the line `kit-testkit netns: passed NAME`, so an inner run that ran no test (a wrong
//!   name) fails too.
//! - The **inner run** sees [`ENV`] naming its test and runs the body, on a current-thread
//!   tokio runtime, then prints that line.
//!
//! The test binary is the first process of a new PID namespace too: when it ends, however
//! it ends (a panic, or killed by the outer run at its timeout), the kernel ends every
//! process it started inside, so no server outlives the test.
//!
//! The new network namespace has only its own loopback interface: nothing inside reaches
//! the machine's network or its servers, and servers inside may take any port (53 among
//! them) without meeting the machine's. Private propagation keeps the bind mounts inside
//! the new mount namespace: the machine's files are not touched and are back as they were
//! when the inner run ends.
//!
//! Creating namespaces needs root (`CAP_SYS_ADMIN`), as tests run in CI here. Without it, or
//! without `unshare`, `ip` or `mount`, the test fails with what to install or how to run it;
//! it never skips.
//!
//! ```no_run
//! use kit_testkit::netns::Namespace;
//!
//! #[test]
//! fn sees_the_private_hosts_file() {
//!     Namespace::new("sees_the_private_hosts_file")
//!         .file("/etc/hosts", "127.0.0.9 db.test\n")
//!         .run(|| async {
//!             let hosts = std::fs::read_to_string("/etc/hosts").unwrap();
//!             assert_eq!(hosts, "127.0.0.9 db.test\n");
//!         });
//! }
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Process, TempDir, require_binary, temp_dir};

/// The environment variable that marks the inner run: it holds the name of the test to run
/// inside.
pub const ENV: &str = "KIT_TESTKIT_NETNS";

/// What the inner run prints, followed by the test's name, when its body has returned.
const PASSED: &str = "kit-testkit netns: passed ";
/// What the shell inside the new namespaces prints first: without it, `unshare` failed.
const ENTERED: &str = "kit-testkit netns: entered";

/// How long the inner run may take unless [`Namespace::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Sets up the namespaces, then runs the test binary: `$1` the binary, `$2` the test,
/// `$3` `ip`, `$4` `mount`, then pairs of a file and the path to mount it over.
const SCRIPT: &str = r#"set -e
echo "kit-testkit netns: entered"
exe=$1 test=$2 ip=$3 mount=$4
shift 4
"$ip" link set lo up
while [ $# -gt 0 ]; do
    "$mount" --bind "$1" "$2"
    shift 2
done
exec "$exe" --exact "$test" --nocapture
"#;

/// A test run again in new network and mount namespaces: see the [module](self).
#[derive(Debug)]
pub struct Namespace {
    test: String,
    files: Vec<(PathBuf, String)>,
    timeout: Duration,
}

impl Namespace {
    /// The test named `test`, exactly as the test harness names it: its module path inside
    /// the test binary (`system::resolves_through_resolv_conf`), without the crate's name.
    pub fn new(test: impl Into<String>) -> Namespace {
        Namespace {
            test: test.into(),
            files: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Inside, `path` (which must exist on the machine) reads `contents`: a file holding
    /// them is bind-mounted over it.
    pub fn file(mut self, path: impl Into<PathBuf>, contents: impl Into<String>) -> Namespace {
        self.files.push((path.into(), contents.into()));
        self
    }

    /// How long the inner run may take ([`DEFAULT_TIMEOUT`] otherwise).
    pub fn timeout(mut self, timeout: Duration) -> Namespace {
        self.timeout = timeout;
        self
    }

    /// In the outer run, runs the test again inside the namespaces and checks that it
    /// passed; in the inner run, runs `body` on a current-thread tokio runtime (time and I/O
    /// enabled).
    ///
    /// # Panics
    ///
    /// In the outer run: when `unshare`, `ip` or `mount` is missing (with the package to
    /// install), when the namespaces cannot be created (with how to get the permission),
    /// or when the inner run fails, times out or does not report that the test passed
    /// (with its output). In the inner run: when `body` panics.
    pub fn run<F>(self, body: impl FnOnce() -> F)
    where
        F: Future<Output = ()>,
    {
        if std::env::var(ENV).is_ok_and(|test| test == self.test) {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|err| panic!("cannot build a tokio runtime: {err}"))
                .block_on(body());
            println!("{PASSED}{}", self.test);
        } else {
            self.run_outside();
        }
    }

    /// The outer run.
    fn run_outside(self) {
        let unshare = require_binary("unshare", "apt-get install -y util-linux");
        let ip = require_binary("ip", "apt-get install -y iproute2");
        let mount = require_binary("mount", "apt-get install -y mount");
        let exe = std::env::current_exe()
            .unwrap_or_else(|err| panic!("cannot find the test binary to run again: {err}"));
        // Kept until the inner run has ended: the files mounted inside live here.
        let dir: TempDir = temp_dir("kit-netns-");
        let mut mounts = Vec::new();
        for (index, (path, contents)) in self.files.iter().enumerate() {
            let source = dir.path().join(format!("file-{index}"));
            std::fs::write(&source, contents)
                .unwrap_or_else(|err| panic!("cannot write {}: {err}", source.display()));
            mounts.push(source.into_os_string());
            mounts.push(path.clone().into_os_string());
        }
        let mut inner = Process::builder(&unshare)
            .name(format!("{} (in new namespaces)", self.test))
            .env(ENV, &self.test)
            .args(["--mount", "--net", "--pid", "--fork", "--kill-child"])
            .args(["--propagation", "private", "--"])
            .args(["sh", "-c", SCRIPT, "sh"])
            .arg(&exe)
            .arg(&self.test)
            .arg(&ip)
            .arg(&mount)
            .args(mounts)
            .spawn();
        let status = inner.wait_timeout(self.timeout);
        let output = inner.output();
        let test = &self.test;
        let Some(status) = status else {
            panic!(
                "{test} did not finish within {:?} in its namespaces; its output:\n{output}",
                self.timeout
            );
        };
        if !output.lines().any(|line| line == ENTERED) {
            panic!(
                "cannot create the namespaces for {test} (`unshare --mount --net --pid` \
                 {status}): the test needs root or CAP_SYS_ADMIN (run it as root, or in \
                 a container started with --privileged or --cap-add SYS_ADMIN); unshare said:\n\
                 {output}"
            );
        }
        let passed = format!("{PASSED}{test}");
        if !status.success() || !output.lines().any(|line| line == passed) {
            panic!(
                "{test} failed in its namespaces ({status}; the line {passed:?} is {}); its \
                 output:\n{output}",
                if output.lines().any(|line| line == passed) {
                    "there"
                } else {
                    "missing"
                }
            );
        }
    }
}
