//! `faceid`: command line over the FaceID core (face tools, device simulator).
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "faceid",
    version,
    about = "FaceID command line: face tools and device simulator"
)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
