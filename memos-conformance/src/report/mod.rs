//! The report of a run: the model ([`Report`] and the types it holds, serialised as the
//! JSON report, whose JSON Schema is generated from them) and its two other renderings:
//! a text table for people and JUnit XML for CI.

mod junit;
mod model;
mod outcome;
#[cfg(test)]
mod tests_not_run;
mod text;

pub use model::{
    CaseReport, ExchangeSummary, FailedCheck, Finding, Format, Mode, Report, Summary, Target,
};
pub use outcome::Outcome;

impl Report {
    /// Renders the report.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => text::render(self),
            // serde_json leaves DEL, the C1 controls and bidi overrides from the server as
            // they are; the JSON is printed on terminals too.
            Format::Json => {
                let json = serde_json::to_string_pretty(self).unwrap_or_default();
                memos_text::escape_controls_in_json(&json).into_owned() + "\n"
            }
            Format::Junit => junit::render(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_report_has_a_schema() {
        let schema = serde_json::to_value(schemars::schema_for!(Report)).expect("schema");
        let text = schema.to_string();
        for name in [
            "summary",
            "cases",
            "failed_checks",
            "known_defect",
            "body_matches_schema",
            "defect_fixed",
        ] {
            assert!(text.contains(name), "the schema lacks {name}");
        }
    }
}
