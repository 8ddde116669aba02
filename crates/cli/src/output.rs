//! Human-readable or JSON output, chosen with `--output`.

use clap::ValueEnum;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Lines for a person to read.
    #[default]
    Text,
    /// One JSON document on standard output, for scripts.
    Json,
    /// Nothing; used when one command runs another inside its own output.
    #[value(skip)]
    Silent,
}

/// Prints `value` as pretty JSON, or calls `text` to print it for a person.
pub fn emit<T: Serialize>(format: OutputFormat, value: &T, text: impl FnOnce(&T)) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => out!("{}", serde_json::to_string_pretty(value)?),
        OutputFormat::Text => text(value),
        OutputFormat::Silent => {}
    }
    Ok(())
}
