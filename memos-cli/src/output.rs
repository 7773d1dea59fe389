//! Printing results: tables for people, JSON for scripts.

use std::io::{IsTerminal, Write};

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(err) => eprintln!("memos: cannot encode the result as JSON: {err}"),
    }
    let _ = std::io::stdout().flush();
}

/// A table with box drawing on a terminal and plain ASCII otherwise.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    if std::io::stdout().is_terminal() {
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.load_preset(presets::ASCII_BORDERS_ONLY_CONDENSED);
    }
    table.set_header(header.to_vec());
    table
}
