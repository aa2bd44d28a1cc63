//! The `mailroom` binary: parses the command line and hands over to library code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = webmail::cli::Cli::parse();
    match webmail::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailroom: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
