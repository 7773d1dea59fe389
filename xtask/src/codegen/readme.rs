//! The README's table of operations, generated from the spec so it cannot fall behind it.

use super::spec::Spec;

/// The text between the README markers: a preamble comment and a Markdown table, in the
/// spec's path order. Starts and ends with a newline so the markers sit on their own lines.
pub fn operations_table(spec: &Spec) -> anyhow::Result<String> {
    let api = memos_codegen::parse_spec(&spec.text)
        .map_err(|err| anyhow::anyhow!("cannot parse {}: {err}", spec.path))?;
    let mut out = format!(
        "\n<!-- {} -->\n\n| Method | Path | operationId | Summary |\n|---|---|---|---|\n",
        spec.preamble()
    );
    for (path, item) in api.paths.iter() {
        let Some(item) = item.as_item() else {
            anyhow::bail!(
                "path `{path}` is a $ref; the table needs inline path items (inline it in {})",
                spec.path
            );
        };
        for (method, operation) in item.iter() {
            out.push_str(&format!(
                "| {} | `{}` | `{}` | {} |\n",
                method.to_uppercase(),
                path,
                operation.operation_id.as_deref().unwrap_or("(none)"),
                cell(operation.summary.as_deref().unwrap_or("")),
            ));
        }
    }
    out.push('\n');
    Ok(out)
}

/// A table cell: one line, with `|` escaped so it cannot split the row.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_operations_in_spec_order() {
        let spec = Spec::from_text(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /b:\n    get:\n      \
             operationId: get_b\n      summary: 'B | b'\n      responses: {}\n  /a:\n    post:\n      \
             operationId: post_a\n      responses: {}\n"
                .into(),
        );
        let table = operations_table(&spec).unwrap();
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            rows,
            [
                "| Method | Path | operationId | Summary |",
                "| GET | `/b` | `get_b` | B \\| b |",
                "| POST | `/a` | `post_a` |  |",
            ]
        );
    }
}
