//! `faceid`: command line over the FaceID core (face tools, device simulator).
//! This file only dispatches; each command family lives in its own module.
use clap::{Parser, Subcommand};

mod client;
mod face;

#[derive(Parser)]
#[command(
    name = "faceid",
    version,
    about = "FaceID command line: face tools and device simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Face engine tools: detect, embed, verify, liveness, identify, eval.
    Face(face::FaceArgs),
    /// Device simulator: a real client (session, outbox, recorder, sync) over the core.
    Client(client::ClientArgs),
}

fn main() -> std::process::ExitCode {
    // Before anything else runs code compiled for x86-64-v3 (see .cargo/config.toml).
    if let Err(e) = faceid_face::cpu::check() {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FACEID_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Face(args) => face::run(args),
        Command::Client(args) => client::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
