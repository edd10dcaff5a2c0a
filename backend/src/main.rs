//! `faceid-server`: the FaceID backend binary.
use clap::Parser;

#[derive(Parser)]
#[command(name = "faceid-server", version, about = "FaceID backend server")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
