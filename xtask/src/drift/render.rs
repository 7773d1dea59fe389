//! Prints a drift report as an aligned table or as JSON.

use crate::api::ApiFiles;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use memos_text::one_line;
use serde_json::json;

use super::finding::{Class, Finding};
use super::report::Report;

/// Characters of a SPEC or SERVER cell; `--format json` has the whole text.
const MAX_CELL: usize = 48;

/// The table. Unless `verbose`, allow-listed documentation findings are folded into one row
/// per allow-list entry and kind (there are dozens: every summary differs, for a start).
pub fn render_table(report: &Report, verbose: bool) -> String {
    let mut rows: Vec<[String; 7]> = Vec::new();
    let mut folded: BTreeMap<(usize, String), Vec<&Finding>> = BTreeMap::new();
    let mut order: Vec<(u8, usize)> = Vec::new();
    for (index, (finding, allowed)) in report.findings.iter().zip(&report.allowed_by).enumerate() {
        match allowed {
            Some(entry) if !verbose && finding.class == Class::Documentation => folded
                .entry((*entry, finding.kind.name()))
                .or_default()
                .push(finding),
            Some(_) => order.push((1 + finding.class as u8, index)),
            None => order.push((0, index)),
        }
    }
    // Failures first, then allowed breaking, additive, documentation; stable otherwise.
    order.sort_by_key(|(rank, _)| *rank);
    for (_, index) in order {
        let finding = &report.findings[index];
        let result = match report.allowed_by[index] {
            Some(entry) => format!("allowed #{entry}"),
            None => "FAIL".to_owned(),
        };
        rows.push([
            result,
            finding.class.as_str().to_owned(),
            finding.kind.name(),
            finding.operation(),
            finding.place(),
            one_line(&finding.spec, MAX_CELL),
            one_line(&finding.server, MAX_CELL),
        ]);
    }
    for ((entry, kind), findings) in &folded {
        let operations: std::collections::BTreeSet<String> =
            findings.iter().map(|finding| finding.operation()).collect();
        let operation = match operations.len() {
            1 => operations.into_iter().next().unwrap_or_default(),
            n => format!("{n} operations"),
        };
        rows.push([
            format!("allowed #{entry}"),
            Class::Documentation.as_str().to_owned(),
            kind.clone(),
            operation,
            format!("{} finding(s)", findings.len()),
            String::new(),
            String::new(),
        ]);
    }

    let spec_path = report.api.spec_path();
    let allowlist_path = report.allow_list.path;
    let mut out = format!("drift: {} against {spec_path}\n\n", report.source);
    if rows.is_empty() {
        out.push_str("no differences\n");
    } else {
        let header = [
            "RESULT",
            "CLASS",
            "KIND",
            "OPERATION",
            "WHERE",
            "SPEC",
            "SERVER",
        ];
        let mut widths = header.map(|title| title.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let _ = writeln!(out, "{}", line(&header.map(str::to_owned)));
        let _ = writeln!(out, "{}", line(&widths.map(|width| "-".repeat(width))));
        for row in &rows {
            let _ = writeln!(out, "{}", line(row));
        }
    }

    let mut used: Vec<usize> = report.allowed_by.iter().flatten().copied().collect();
    used.sort_unstable();
    used.dedup();
    if !used.is_empty() {
        let _ = writeln!(out, "\nallowed by {allowlist_path}:");
        for number in used {
            if let Some(entry) = report.allow_list.entries.get(number - 1) {
                let reason = entry
                    .reason
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let _ = writeln!(out, "  #{number}: {reason}");
            }
        }
    }
    if !report.problems.is_empty() {
        let _ = writeln!(out, "\nstale allow-list entries:");
        for problem in &report.problems {
            let _ = writeln!(out, "  {problem}");
        }
    }

    let count = |class: Class| report.findings.iter().filter(|f| f.class == class).count();
    let failures = report.failures().count();
    let _ = writeln!(
        out,
        "\n{} finding(s): {} breaking, {} additive, {} documentation; {} allow-listed, {} not",
        report.findings.len(),
        count(Class::Breaking),
        count(Class::Additive),
        count(Class::Documentation),
        report.findings.len() - failures,
        failures,
    );
    if report.ok() {
        out.push_str("drift: ok\n");
    } else {
        let _ = writeln!(
            out,
            "drift: FAILED. Fix {spec_path} if the server is right, or, if the difference is \
             deliberate and documented, add an entry naming it to {allowlist_path}"
        );
    }
    out
}

/// The whole report as JSON (every finding, none folded).
pub fn render_json(report: &Report) -> String {
    let findings: Vec<_> = report
        .findings
        .iter()
        .zip(&report.allowed_by)
        .map(|(finding, allowed)| {
            let mut value = serde_json::to_value(finding).unwrap_or_default();
            value["allowed_by"] = json!(allowed);
            value["reason"] = json!(allowed
                .and_then(|number| report.allow_list.entries.get(number - 1))
                .map(|entry| entry
                    .reason
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")));
            value
        })
        .collect();
    let value = json!({
        "ok": report.ok(),
        "source": report.source,
        "spec": report.api.spec_path(),
        "allow_list": report.allow_list.path,
        "findings": findings,
        "allow_list_problems": report.problems,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
