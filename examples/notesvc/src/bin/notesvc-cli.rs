//! notesvc-cli: calls notesvc from the command line, over HTTP/JSON or gRPC.
//!
//! `notesvc-cli (--http-addr A | --grpc-addr A) (create TITLE [BODY] | get ID | list |
//! delete ID)` prints each note it gets as one line of JSON (`list` pages through every
//! note); on error it prints `error: <message>` on standard error and exits 1. Usage errors
//! exit 2.

use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};
use kit::{Context, Error};
use notesvc::{Note, Notes, notes};

/// Calls notesvc over one transport: give exactly one address.
#[derive(Debug, Parser)]
#[command(name = "notesvc-cli", version)]
#[command(group(ArgGroup::new("transport").required(true).multiple(false)))]
struct Args {
    /// notesvc's HTTP/JSON listener: HOST:PORT or http://HOST:PORT.
    #[arg(long, value_name = "ADDR", group = "transport")]
    http_addr: Option<String>,
    /// notesvc's gRPC listener: HOST:PORT or http://HOST:PORT.
    #[arg(long, value_name = "ADDR", group = "transport")]
    grpc_addr: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a note and prints it.
    Create {
        /// Its title.
        title: String,
        /// Its text.
        #[arg(default_value = "")]
        body: String,
    },
    /// Prints the note ID.
    Get {
        /// The note's id.
        id: u64,
    },
    /// Prints every note, one per line, in the order of their ids.
    List,
    /// Deletes the note ID.
    Delete {
        /// The note's id.
        id: u64,
    },
}

fn main() -> ExitCode {
    kit_app::run_client(run(kit_app::parse()))
}

async fn run(args: Args) -> Result<(), Error> {
    let service = match (&args.http_addr, &args.grpc_addr) {
        (Some(addr), _) => notes::http::client(addr)?,
        (_, Some(addr)) => notes::grpc::connect_lazy(addr)?,
        (None, None) => unreachable!("clap requires one address"),
    };
    let ctx = Context::background();
    match args.command {
        Command::Create { title, body } => print(&service.create_note(&ctx, title, body).await?),
        Command::Get { id } => print(&service.get_note(&ctx, id).await?),
        Command::List => {
            let mut after = None;
            loop {
                let page = service.list_notes(&ctx, after, None).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                page.iter().for_each(print);
            }
        }
        Command::Delete { id } => service.delete_note(&ctx, id).await?,
    }
    Ok(())
}

fn print(note: &Note) {
    println!("{}", serde_json::to_string(note).expect("a note is JSON"));
}
