//! The `hashbridge` command. Argument parsing and output live here; the work is done by
//! the library crates.

/// Prints a line to standard output like `println!`, but exits with status 141 (as a
/// process killed by SIGPIPE would) when the reader has gone, such as `| head -1`,
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(141);
        }
    }};
}

mod anchoring;
mod bench;
mod client;
mod commands;
mod demo;
mod output;
mod processes;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            std::process::ExitCode::from(2)
        }
    }
}

/// Joins an error and its causes with ": ", skipping a cause whose text the message
/// before it already contains (many library errors print their source themselves).
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
