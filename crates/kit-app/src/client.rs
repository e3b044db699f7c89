//! The `main` of a command-line client.

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::process::ExitCode;

/// Runs a command-line client's work on a current-thread runtime and returns the process's
/// exit status: success, or, when `work` fails, `error: <message>` on standard error and
/// status 1, as Go kit's clients do.
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     kit_app::run_client(async {
///         let answer = 6 * 7; // call the service
///         println!("{answer}");
///         Ok::<_, kit::Error>(())
///     })
/// }
/// ```
pub fn run_client<E: Display>(work: impl Future<Output = Result<(), E>>) -> ExitCode {
    run_reported(async { work.await.map_err(|e| e.to_string()) })
}

/// [`run_client`] with request tracing per `flags` (when they name an exporter): the
/// client's calls are spans of service `service_name`, the roots of their traces, exported
/// before the process exits (waiting at most the export timeout). Log lines at `warn` and
/// above (an exporter that cannot reach its collector) go to standard error.
#[cfg(feature = "otel")]
pub fn run_traced_client<E: Display>(
    service_name: &str,
    flags: &crate::TraceFlags,
    work: impl Future<Output = Result<(), E>>,
) -> ExitCode {
    let Some(builder) = flags.builder(service_name) else {
        return run_client(work);
    };
    run_reported(async {
        let traced = builder
            .start()
            .map_err(|e| format!("starting tracing: {e}"))?;
        kit_tracing::try_init_traced(kit_tracing::Format::Logfmt, "warn", &traced)
            .map_err(|e| format!("starting tracing: {e}"))?;
        let result = work.await.map_err(|e| e.to_string());
        // What could not be delivered in time is counted and logged by the exporter.
        let _ = traced.handle().flush_and_stop().await;
        result
    })
}

/// Runs `work` on a current-thread runtime and reports its result as the exit status.
fn run_reported(work: impl Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => Err(format!("starting the runtime: {e}")),
    };
    report(result, &mut std::io::stderr())
}

/// The exit status of `result`, its error written to `stderr`.
fn report(result: Result<(), String>, stderr: &mut impl Write) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Nothing is left to tell if standard error is gone.
            let _ = writeln!(stderr, "error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_printed_and_exits_1() {
        let mut stderr = Vec::new();
        let code = report(Err("can't sum two zeroes".into()), &mut stderr);
        assert_eq!(code, ExitCode::FAILURE);
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            "error: can't sum two zeroes\n"
        );
    }

    #[test]
    fn success_prints_nothing() {
        let mut stderr = Vec::new();
        assert_eq!(report(Ok(()), &mut stderr), ExitCode::SUCCESS);
        assert!(stderr.is_empty());
    }

    #[test]
    fn the_work_runs_on_a_runtime_with_timers_and_io() {
        let code = run_client(async {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            Ok::<_, std::io::Error>(())
        });
        assert_eq!(code, ExitCode::SUCCESS);
    }
}
