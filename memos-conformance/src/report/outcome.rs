//! The result of a case and the one table that spells it, for every place it appears:
//! the JSON report (and its JSON Schema), the text table, the snapshot's verdict and
//! JUnit.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};

/// The result of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation and every check held.
    Pass,
    /// Something did not hold; fails the run.
    Fail,
    /// Failed as the known-defect list says this server version does; does not fail the run.
    KnownDefect,
    /// Listed as a known defect but passed: the list can shrink. Does not fail the run.
    DefectFixed,
    /// A security finding; does not fail the run.
    Warning,
    /// Needs something the run was not given (a flag, a directory).
    Skipped,
    /// Does not apply to this server (e.g. auth probes on a server without auth).
    NotApplicable,
    /// The run stopped before it got to the case (its time limit, Ctrl-C, a server that
    /// stopped answering, storage that is not the run's own). The case itself neither
    /// passed nor failed, but the stop fails the run.
    NotRun,
}

/// How JUnit shows an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JunitKind {
    /// A passing `<testcase>`.
    Success,
    /// A `<testcase>` with `<failure>`.
    Failure,
    /// A `<testcase>` with `<skipped>`: it neither passed nor failed the run.
    Skipped,
}

/// Every spelling of one outcome.
struct Spelling {
    outcome: Outcome,
    /// The value in the JSON report.
    json: &'static str,
    /// The word in the text table (and in JUnit's skip messages).
    label: &'static str,
    /// The snapshot's verdict: what the case concluded before the known-defect list
    /// was applied, so the two defect outcomes read as what actually happened.
    verdict: &'static str,
    junit: JunitKind,
    /// The description in the report's JSON Schema.
    doc: &'static str,
}

/// The table. The order is the JSON Schema's.
const SPELLINGS: [Spelling; 8] = [
    Spelling {
        outcome: Outcome::Pass,
        json: "pass",
        label: "pass",
        verdict: "pass",
        junit: JunitKind::Success,
        doc: "Every expectation and every check held.",
    },
    Spelling {
        outcome: Outcome::Fail,
        json: "fail",
        label: "FAIL",
        verdict: "fail",
        junit: JunitKind::Failure,
        doc: "Something did not hold; fails the run.",
    },
    Spelling {
        outcome: Outcome::KnownDefect,
        json: "known_defect",
        label: "known defect",
        verdict: "fail",
        junit: JunitKind::Skipped,
        doc:
            "Failed as the known-defect list says this server version does; does not fail the run.",
    },
    Spelling {
        outcome: Outcome::DefectFixed,
        json: "defect_fixed",
        label: "defect fixed",
        verdict: "pass",
        junit: JunitKind::Success,
        doc: "Listed as a known defect but passed: the list can shrink. Does not fail the run.",
    },
    Spelling {
        outcome: Outcome::Warning,
        json: "warning",
        label: "WARNING",
        verdict: "warning",
        junit: JunitKind::Success,
        doc: "A security finding; does not fail the run.",
    },
    Spelling {
        outcome: Outcome::Skipped,
        json: "skipped",
        label: "skipped",
        verdict: "skipped",
        junit: JunitKind::Skipped,
        doc: "Needs something the run was not given (a flag, a directory).",
    },
    Spelling {
        outcome: Outcome::NotApplicable,
        json: "not_applicable",
        label: "n/a",
        verdict: "not applicable",
        junit: JunitKind::Skipped,
        doc: "Does not apply to this server (e.g. auth probes on a server without auth).",
    },
    Spelling {
        outcome: Outcome::NotRun,
        json: "not_run",
        label: "not run",
        // Never written: a case the run did not get to has no snapshot.
        verdict: "not run",
        // Skipped, not failed: the case did not fail, the run stopped; the exit code
        // and the summary say the run failed.
        junit: JunitKind::Skipped,
        doc: "The run stopped before it got to the case (its time limit, Ctrl-C, a server that \
              stopped answering, storage that is not the run's own); the stop fails the run.",
    },
];

impl Outcome {
    fn spelling(self) -> &'static Spelling {
        // Every outcome has a row (the test below checks it); the first row is only a
        // fallback the compiler asks for.
        SPELLINGS
            .iter()
            .find(|s| s.outcome == self)
            .unwrap_or(&SPELLINGS[0])
    }

    /// The label in the text table.
    pub fn label(self) -> &'static str {
        self.spelling().label
    }

    /// The value in the JSON report.
    pub fn json_name(self) -> &'static str {
        self.spelling().json
    }

    /// The verdict written into the case's snapshot.
    pub(crate) fn verdict(self) -> &'static str {
        self.spelling().verdict
    }

    /// How JUnit shows it.
    pub(crate) fn junit(self) -> JunitKind {
        self.spelling().junit
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.json_name())
    }
}

impl JsonSchema for Outcome {
    fn schema_name() -> Cow<'static, str> {
        "Outcome".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Outcome").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let one_of: Vec<serde_json::Value> = SPELLINGS
            .iter()
            .map(|s| serde_json::json!({ "const": s.json, "description": s.doc, "type": "string" }))
            .collect();
        json_schema!({ "description": "The result of a case.", "oneOf": one_of })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_exactly_one_row() {
        use Outcome::*;
        for outcome in [
            Pass,
            Fail,
            KnownDefect,
            DefectFixed,
            Warning,
            Skipped,
            NotApplicable,
            NotRun,
        ] {
            // Exhaustive on purpose: a new outcome does not compile until it is listed here.
            match outcome {
                Pass | Fail | KnownDefect | DefectFixed | Warning | Skipped | NotApplicable
                | NotRun => {}
            }
            let rows = SPELLINGS.iter().filter(|s| s.outcome == outcome).count();
            assert_eq!(rows, 1, "{outcome:?}");
        }
    }

    #[test]
    fn the_json_spelling_is_the_tables() {
        assert_eq!(
            serde_json::to_value(Outcome::NotApplicable).expect("json"),
            "not_applicable"
        );
        assert_eq!(Outcome::NotApplicable.label(), "n/a");
        assert_eq!(Outcome::NotApplicable.verdict(), "not applicable");
    }

    #[test]
    fn a_case_not_run_has_its_own_spelling_and_is_skipped_in_junit() {
        assert_eq!(
            serde_json::to_value(Outcome::NotRun).expect("json"),
            "not_run"
        );
        assert_eq!(Outcome::NotRun.label(), "not run");
        assert_eq!(Outcome::NotRun.junit(), JunitKind::Skipped);
        let schema = serde_json::to_value(schemars::schema_for!(Outcome)).expect("schema");
        let consts: Vec<&str> = schema["oneOf"]
            .as_array()
            .expect("oneOf")
            .iter()
            .filter_map(|v| v["const"].as_str())
            .collect();
        assert!(consts.contains(&"not_run"), "{consts:?}");
    }
}
