//! Child processes whose output is captured line by line.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::pin;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::{PortWaitError, poll_port, poll_port_async, warn_if_on_runtime};

/// Longest time between two checks of whether the process is still running
/// while waiting for output.
const POLL: Duration = Duration::from_millis(50);

/// How long to wait for the last output after the process has exited (or has
/// closed its output), before reporting on what was captured.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// What [`Process::wait_for_line_matching`] waits for, for messages.
const MATCHING: &str = "a line matching the predicate";

/// A signal [`Process::signal`] can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// `SIGTERM`: ask the process to shut down.
    Term,
    /// `SIGINT`: what Ctrl-C sends; most servers shut down gracefully.
    Int,
    /// `SIGKILL`: stop the process at once; it cannot be caught.
    Kill,
    /// `SIGSTOP`: freeze the process (it cannot be caught): its sockets stay open and the
    /// kernel still accepts connections into their backlogs, but nothing answers, as with
    /// a server that hangs.
    Stop,
    /// `SIGCONT`: let a frozen process run again.
    Cont,
}

impl Signal {
    /// The name `kill -s` takes.
    fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Int => "INT",
            Signal::Kill => "KILL",
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
        }
    }
}

/// Configures a [`Process`] before it is started; see [`Process::builder`].
#[derive(Debug)]
pub struct ProcessBuilder {
    command: Command,
    name: String,
}

impl ProcessBuilder {
    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets an environment variable for the process (the rest of the test's
    /// environment is inherited).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Sets the working directory of the process.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Sets the label used in panic messages; defaults to the program's file
    /// name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Starts the process with standard input closed and standard output and
    /// error captured.
    ///
    /// # Panics
    ///
    /// If the process cannot be started, with its name and command line.
    pub fn spawn(mut self) -> Process {
        let name = self.name;
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| {
                let hint = if err.kind() == ErrorKind::NotFound {
                    " (check the program with kit_testkit::require_binary first)"
                } else {
                    ""
                };
                panic!(
                    "failed to start `{name}` ({}): {err}{hint}",
                    command_line(&self.command)
                )
            });
        let pid = child.id();
        let log = Arc::new(Log {
            state: Mutex::new(LogState {
                lines: Vec::new(),
                open_streams: 2,
            }),
            changed: Condvar::new(),
            changed_async: Notify::new(),
        });

        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for (stream, label) in [(stdout, "stdout"), (stderr, "stderr")] {
            let Some(stream) = stream else {
                log.stream_closed();
                continue;
            };
            let reader_log = Arc::clone(&log);
            let started = thread::Builder::new()
                .name(format!("{name}-{label}"))
                .spawn(move || read_lines(stream, &reader_log));
            if let Err(err) = started {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cannot start a thread to read the {label} of `{name}` (pid {pid}): {err}");
            }
        }

        Process {
            name,
            pid,
            child: Mutex::new(child),
            log,
        }
    }
}

/// A running child process started by a test, with its output captured.
///
/// Standard output and standard error are read by background threads into
/// one list of lines, in the order they were read (the relative order of lines
/// from the two streams is only as good as the timing of their writes).
///
/// Dropping a `Process` that is still running kills it with `SIGKILL` and
/// reaps it.
///
/// Signals and the kill on drop reach this one process only, not processes
/// it started. Start servers directly, or make a wrapper script `exec` the
/// server (`sh -c '...; exec server'`): a child of a killed wrapper would
/// outlive the test.
#[derive(Debug)]
pub struct Process {
    name: String,
    pid: u32,
    child: Mutex<Child>,
    log: Arc<Log>,
}

impl Process {
    /// Starts configuring a process running `program` (a path, or a name
    /// looked up on `PATH`; see [`require_binary`](crate::require_binary)).
    pub fn builder(program: impl AsRef<OsStr>) -> ProcessBuilder {
        let program = program.as_ref();
        let name = Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy()
            .into_owned();
        ProcessBuilder {
            command: Command::new(program),
            name,
        }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Every line captured so far, each followed by `\n`.
    pub fn output(&self) -> String {
        let state = self.log.lock();
        let mut out = String::new();
        for line in &state.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Waits until a captured line contains `needle` and returns that line
    /// (without its line ending). Lines captured before the call count too.
    ///
    /// This blocks the calling thread: on a thread that runs an async runtime
    /// (the body of a `#[tokio::test]`, for one) the runtime's other tasks
    /// stall until it returns, and a wait for something one of them must do
    /// times out. Use [`wait_for_line_async`](Process::wait_for_line_async)
    /// there.
    ///
    /// # Panics
    ///
    /// When `timeout` passes first, or when the process exits (or closes its
    /// output) without printing such a line; the message has the process's
    /// name, its exit status and everything it printed.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> String {
        warn_if_on_runtime("Process::wait_for_line", "Process::wait_for_line_async");
        self.wait_for(LineWait::new(
            format!("a line containing {needle:?}"),
            |line: &str| line.contains(needle),
            timeout,
        ))
    }

    /// [`wait_for_line`](Process::wait_for_line) for async code: waits without
    /// blocking the thread, so the runtime's other tasks keep running.
    ///
    /// # Panics
    ///
    /// As [`wait_for_line`](Process::wait_for_line) does.
    pub async fn wait_for_line_async(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_async(LineWait::new(
            format!("a line containing {needle:?}"),
            |line: &str| line.contains(needle),
            timeout,
        ))
        .await
    }

    /// Waits until a captured line satisfies `pred` and returns that line;
    /// panics like [`wait_for_line`](Process::wait_for_line).
    ///
    /// This blocks the calling thread; on an async runtime use
    /// [`wait_for_line_matching_async`](Process::wait_for_line_matching_async).
    pub fn wait_for_line_matching(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        warn_if_on_runtime(
            "Process::wait_for_line_matching",
            "Process::wait_for_line_matching_async",
        );
        self.wait_for(LineWait::new(MATCHING.to_owned(), pred, timeout))
    }

    /// [`wait_for_line_matching`](Process::wait_for_line_matching) for async
    /// code: waits without blocking the thread.
    ///
    /// # Panics
    ///
    /// As [`wait_for_line`](Process::wait_for_line) does.
    pub async fn wait_for_line_matching_async(
        &self,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> String {
        self.wait_for_async(LineWait::new(MATCHING.to_owned(), pred, timeout))
            .await
    }

    /// Waits until a TCP connection to `addr` succeeds.
    ///
    /// This blocks the calling thread; on an async runtime use
    /// [`wait_for_port_async`](Process::wait_for_port_async).
    ///
    /// # Panics
    ///
    /// When `timeout` passes first or the process exits, with the process's
    /// output.
    pub fn wait_for_port(&self, addr: SocketAddr, timeout: Duration) {
        warn_if_on_runtime("Process::wait_for_port", "Process::wait_for_port_async");
        let mut exit = None;
        let result = poll_port(addr, timeout, || {
            exit = self.try_status();
            exit.is_none()
        });
        match result {
            Ok(()) => {}
            Err(PortWaitError::Stopped) => {
                self.drain(Instant::now() + DRAIN_GRACE);
                self.fail(self.exited_before_accepting(exit, addr));
            }
            Err(PortWaitError::TimedOut(err)) => {
                self.fail(self.port_timed_out(timeout, addr, &err))
            }
        }
    }

    /// [`wait_for_port`](Process::wait_for_port) for async code: connects and
    /// waits without blocking the thread.
    ///
    /// # Panics
    ///
    /// As [`wait_for_port`](Process::wait_for_port) does.
    pub async fn wait_for_port_async(&self, addr: SocketAddr, timeout: Duration) {
        let mut exit = None;
        let result = poll_port_async(addr, timeout, || {
            exit = self.try_status();
            exit.is_none()
        })
        .await;
        match result {
            Ok(()) => {}
            Err(PortWaitError::Stopped) => {
                self.drain_async(Instant::now() + DRAIN_GRACE).await;
                self.fail(self.exited_before_accepting(exit, addr));
            }
            Err(PortWaitError::TimedOut(err)) => {
                self.fail(self.port_timed_out(timeout, addr, &err))
            }
        }
    }

    /// Sends `sig` to the process, by its PID.
    ///
    /// Does nothing if the process has already exited and been reaped (by
    /// [`wait_timeout`](Process::wait_timeout) or an earlier wait), because
    /// its PID may then belong to another process.
    ///
    /// # Panics
    ///
    /// If the signal cannot be sent.
    pub fn signal(&self, sig: Signal) {
        let mut child = self.lock_child();
        // While the child is not reaped its PID cannot be reused, and holding
        // the lock keeps anyone else from reaping it until the signal is sent.
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let result = match sig {
            Signal::Kill => child.kill().map_err(|err| err.to_string()),
            Signal::Term | Signal::Int | Signal::Stop | Signal::Cont => send_signal(self.pid, sig),
        };
        drop(child);
        if let Err(err) = result {
            panic!("cannot send SIG{} to {}: {err}", sig.name(), self.label());
        }
    }

    /// Waits up to `timeout` for the process to exit and returns its exit
    /// status, or `None` if it is still running.
    ///
    /// Once it has exited, waits briefly for the rest of its output, so that
    /// [`output`](Process::output) is complete afterwards.
    ///
    /// This blocks the calling thread; on an async runtime use
    /// [`wait_timeout_async`](Process::wait_timeout_async).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        warn_if_on_runtime("Process::wait_timeout", "Process::wait_timeout_async");
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_status() {
                self.drain(Instant::now() + DRAIN_GRACE);
                return Some(status);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return None;
            }
            thread::sleep(pause.min(remaining));
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    /// [`wait_timeout`](Process::wait_timeout) for async code: waits without
    /// blocking the thread.
    pub async fn wait_timeout_async(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_status() {
                self.drain_async(Instant::now() + DRAIN_GRACE).await;
                return Some(status);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return None;
            }
            tokio::time::sleep(pause.min(remaining)).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    fn wait_for(&self, mut wait: LineWait<impl Fn(&str) -> bool>) -> String {
        let mut state = self.log.lock();
        loop {
            match wait.turn(self, &state) {
                Turn::Found(line) => return line,
                Turn::Failed(headline) => {
                    drop(state);
                    self.fail(headline);
                }
                Turn::SleepUntil(wake) => {
                    let sleep = wake.saturating_duration_since(Instant::now());
                    state = self
                        .log
                        .changed
                        .wait_timeout(state, sleep)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }

    async fn wait_for_async(&self, mut wait: LineWait<impl Fn(&str) -> bool>) -> String {
        loop {
            // Registered before looking, so that a line arriving in between
            // still wakes this wait.
            let mut changed = pin!(self.log.changed_async.notified());
            changed.as_mut().enable();
            let turn = wait.turn(self, &self.log.lock());
            match turn {
                Turn::Found(line) => return line,
                Turn::Failed(headline) => self.fail(headline),
                Turn::SleepUntil(wake) => {
                    let wake = tokio::time::Instant::from_std(wake);
                    let _ = tokio::time::timeout_at(wake, changed).await;
                }
            }
        }
    }

    /// The exit status if the process has exited (reaping it).
    fn try_status(&self) -> Option<ExitStatus> {
        let mut child = self.lock_child();
        match child.try_wait() {
            Ok(status) => status,
            Err(err) => {
                drop(child);
                panic!("cannot check whether {} has exited: {err}", self.label())
            }
        }
    }

    /// Waits until both output streams are closed or `until` passes.
    fn drain(&self, until: Instant) {
        let mut state = self.log.lock();
        while state.open_streams > 0 {
            let remaining = until.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return;
            }
            state = self
                .log
                .changed
                .wait_timeout(state, remaining)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// [`drain`](Process::drain) without blocking the thread.
    async fn drain_async(&self, until: Instant) {
        loop {
            let mut changed = pin!(self.log.changed_async.notified());
            changed.as_mut().enable();
            if self.log.lock().open_streams == 0 || Instant::now() >= until {
                return;
            }
            let until = tokio::time::Instant::from_std(until);
            let _ = tokio::time::timeout_at(until, changed).await;
        }
    }

    fn exited_before_accepting(&self, exit: Option<ExitStatus>, addr: SocketAddr) -> String {
        format!(
            "{} exited ({}) before accepting TCP connections on {addr}",
            self.label(),
            describe(exit)
        )
    }

    fn port_timed_out(&self, timeout: Duration, addr: SocketAddr, err: &std::io::Error) -> String {
        format!(
            "timed out after {timeout:?} waiting for {} to accept TCP connections on {addr} \
             (last error: {err})",
            self.label()
        )
    }

    fn lock_child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn label(&self) -> String {
        format!("`{}` (pid {})", self.name, self.pid)
    }

    /// Panics with `headline` followed by the captured output.
    fn fail(&self, headline: String) -> ! {
        let output = self.output();
        let mut message = headline;
        if output.is_empty() {
            let _ = write!(message, "\n----- no output from {} -----", self.label());
        } else {
            let _ = write!(
                message,
                "\n----- output of {} -----\n{output}----- end of output -----",
                self.label()
            );
        }
        panic!("{message}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !matches!(child.try_wait(), Ok(Some(_))) {
            // Still running (or unknown): SIGKILL cannot be ignored, so the
            // wait that reaps it is short.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Output captured from a process, shared with its reader threads.
#[derive(Debug)]
struct Log {
    state: Mutex<LogState>,
    /// Notified on every new line and on every closed stream.
    changed: Condvar,
    /// Notified with `changed`, for the async waits.
    changed_async: Notify,
}

#[derive(Debug)]
struct LogState {
    lines: Vec<String>,
    /// Output streams not yet at end of file.
    open_streams: usize,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, line: String) {
        self.lock().lines.push(line);
        self.notify();
    }

    fn stream_closed(&self) {
        let mut state = self.lock();
        state.open_streams = state.open_streams.saturating_sub(1);
        drop(state);
        self.notify();
    }

    fn notify(&self) {
        self.changed.notify_all();
        self.changed_async.notify_waiters();
    }
}

/// A wait for a line, shared by the blocking and the async waits: each turn
/// looks at the captured lines and at the process, and says whether the wait is
/// over or until when to sleep (woken early by new output).
struct LineWait<P> {
    /// What is awaited, for messages.
    what: String,
    pred: P,
    timeout: Duration,
    deadline: Instant,
    exit: Option<ExitStatus>,
    /// Set once the process has exited or closed its output: from then on
    /// we only wait (briefly) for the output still in the pipes.
    drain_until: Option<Instant>,
    /// Lines already looked at.
    scanned: usize,
}

/// What a [`LineWait`] found on its turn.
enum Turn {
    Found(String),
    /// The wait failed; the message's headline.
    Failed(String),
    SleepUntil(Instant),
}

impl<P: Fn(&str) -> bool> LineWait<P> {
    fn new(what: String, pred: P, timeout: Duration) -> Self {
        LineWait {
            what,
            pred,
            timeout,
            deadline: Instant::now() + timeout,
            exit: None,
            drain_until: None,
            scanned: 0,
        }
    }

    fn turn(&mut self, process: &Process, state: &LogState) -> Turn {
        if let Some(line) = state.lines[self.scanned..]
            .iter()
            .find(|line| (self.pred)(line))
        {
            return Turn::Found(line.clone());
        }
        self.scanned = state.lines.len();

        if self.exit.is_none() {
            self.exit = process.try_status();
        }
        let finished = self.exit.is_some() || state.open_streams == 0;
        let now = Instant::now();
        if finished && self.drain_until.is_none() {
            self.drain_until = Some(now + DRAIN_GRACE);
        }
        let drained = state.open_streams == 0 && self.exit.is_some();
        if drained || self.drain_until.is_some_and(|until| now >= until) {
            let why = match self.exit {
                Some(status) => format!("exited ({status})"),
                None => "closed its output but is still running".to_owned(),
            };
            return Turn::Failed(format!(
                "{} {why} before printing {}",
                process.label(),
                self.what
            ));
        }
        if now >= self.deadline {
            return Turn::Failed(format!(
                "timed out after {:?} waiting for {} to print {}",
                self.timeout,
                process.label(),
                self.what
            ));
        }

        let mut wake = self.deadline.min(now + POLL);
        if let Some(until) = self.drain_until {
            wake = wake.min(until);
        }
        Turn::SleepUntil(wake)
    }
}

/// Reads `stream` until end of file, storing each line (a last line without
/// a newline included) with invalid UTF-8 replaced.
fn read_lines(stream: Box<dyn Read + Send>, log: &Log) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                log.push(String::from_utf8_lossy(&buf).into_owned());
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    log.stream_closed();
}

/// Sends `sig` to `pid` with the `kill` program, or with the shell's `kill`
/// builtin where no `kill` program is installed.
fn send_signal(pid: u32, sig: Signal) -> Result<(), String> {
    let pid = pid.to_string();
    let output = match Command::new("kill")
        .args(["-s", sig.name(), &pid])
        .stdin(Stdio::null())
        .output()
    {
        Err(err) if err.kind() == ErrorKind::NotFound => Command::new("sh")
            .args(["-c", r#"kill -s "$1" "$2""#, "sh", sig.name(), &pid])
            .stdin(Stdio::null())
            .output(),
        other => other,
    }
    .map_err(|err| format!("cannot run `kill`: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`kill -s {} {pid}` failed ({}): {}",
            sig.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn describe(status: Option<ExitStatus>) -> String {
    match status {
        Some(status) => status.to_string(),
        None => "exit status unknown".to_owned(),
    }
}

/// The command line of `command`, for messages.
fn command_line(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}
