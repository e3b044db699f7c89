//! notesvc-cli on plain axum + tonic's clients: calls notesvc from the command line.

use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};
use notesvc_plain::client::{Client, ClientError};
use notesvc_plain::pb::Note;

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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), ClientError> {
    let client = match (&args.http_addr, &args.grpc_addr) {
        (Some(addr), _) => Client::http(addr),
        (_, Some(addr)) => Client::grpc(addr)?,
        (None, None) => unreachable!("clap requires one address"),
    };
    match args.command {
        Command::Create { title, body } => print(&client.create_note(title, body).await?),
        Command::Get { id } => print(&client.get_note(id).await?),
        Command::List => {
            let mut after = None;
            loop {
                let page = client.list_notes(after, None).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                page.iter().for_each(print);
            }
        }
        Command::Delete { id } => client.delete_note(id).await?,
    }
    Ok(())
}

fn print(note: &Note) {
    println!("{}", serde_json::to_string(note).expect("a note is JSON"));
}
