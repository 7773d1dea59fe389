//! Printing results: tables and sentences for people, JSON for scripts.
//!
//! Text for people goes out through [`say`], [`warn`] and [`row`] only: they escape the
//! control characters of text that came from a server or a file, so that it cannot drive
//! the terminal (set its title, clear it, hide what follows). JSON goes out through
//! [`print_json`], which escapes the few such characters serde_json leaves as they are.

use std::io::{IsTerminal, Write};

use comfy_table::{presets, ContentArrangement, Table};
use memos_text::{escape_controls, escape_controls_in_json};
use serde::Serialize;

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{}", escape_controls_in_json(&text)),
        Err(err) => warn(&format!("memos: cannot encode the result as JSON: {err}")),
    }
    let _ = std::io::stdout().flush();
}

/// Prints a line for people on stdout.
pub fn say(text: &str) {
    println!("{}", escape_controls(text));
}

/// Prints a line for people on stderr.
pub fn warn(text: &str) {
    eprintln!("{}", escape_controls(text));
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

/// Adds a row of cells, escaped before the table measures them so that columns line up
/// with what is shown.
pub fn row<S: AsRef<str>>(table: &mut Table, cells: impl IntoIterator<Item = S>) {
    table.add_row(
        cells
            .into_iter()
            .map(|cell| escape_controls(cell.as_ref()).into_owned())
            .collect::<Vec<_>>(),
    );
}
