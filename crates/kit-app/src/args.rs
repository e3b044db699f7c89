//! Go-style command lines: `-http-addr :8081` as well as `--http-addr :8081`.

use std::ffi::OsString;

/// Parses the process's command line into `T`, accepting Go-style single-dash long flags
/// (see [`go_style_args`]); on a usage error, or for `--help` and `--version`, prints and
/// exits as clap does (status 2 for errors).
///
/// ```no_run
/// use clap::Parser;
///
/// /// Says hello.
/// #[derive(Parser)]
/// struct Args {
///     /// Whom to greet.
///     #[arg(long, default_value = "world")]
///     name: String,
/// }
///
/// // `hello -name kit` and `hello --name kit` both work.
/// let args: Args = kit_app::parse();
/// println!("hello, {}", args.name);
/// ```
pub fn parse<T: clap::Parser>() -> T {
    T::parse_from(go_style_args(std::env::args_os()))
}

/// Rewrites Go-style single-dash long flags (`-http-addr`, `-http-addr=:8081`) as
/// double-dash ones, so scripts written for Go kit's binaries keep working with a
/// conventional parser. Single-letter flags (`-h`), negative numbers (`-5`) and everything
/// after `--` are left alone.
///
/// ```
/// let args = kit_app::go_style_args(["addcli", "-http-addr=:8081", "-h", "-5"].map(Into::into));
/// assert_eq!(args, ["addcli", "--http-addr=:8081", "-h", "-5"]);
/// ```
pub fn go_style_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest = false;
    for arg in args {
        let rewritten = match arg.to_str() {
            Some("--") => {
                rest = true;
                None
            }
            Some(s) if !rest && is_go_long_flag(s) => Some(OsString::from(format!("-{s}"))),
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

fn is_go_long_flag(arg: &str) -> bool {
    let Some(name) = arg.strip_prefix('-') else {
        return false;
    };
    let name = name.split('=').next().unwrap_or_default();
    name.len() > 1
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        go_style_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn go_flags_become_long_flags() {
        assert_eq!(
            rewrite(&[
                "addcli",
                "-http-addr",
                ":8081",
                "-method=concat",
                "--grpc-addr",
                "x",
                "-h",
                "-5",
                "7"
            ]),
            [
                "addcli",
                "--http-addr",
                ":8081",
                "--method=concat",
                "--grpc-addr",
                "x",
                "-h",
                "-5",
                "7"
            ]
        );
    }

    #[test]
    fn arguments_after_a_double_dash_are_left_alone() {
        assert_eq!(
            rewrite(&["addcli", "--", "-abc", "-x"]),
            ["addcli", "--", "-abc", "-x"]
        );
    }

    #[test]
    fn only_flag_shaped_arguments_are_rewritten() {
        assert_eq!(
            rewrite(&["svc", "-1s", "-a_b", "-", "-x=y", "-é"]),
            ["svc", "-1s", "-a_b", "-", "-x=y", "-é"]
        );
    }
}
