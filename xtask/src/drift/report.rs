//! The result of one comparison: the findings and the allow-list's verdict on each.
//!
//! Its own module so that `render` depends on it and not on the module that runs the
//! comparison.

use super::allowlist::AllowList;
use super::finding::Finding;
use crate::api::Api;

/// The result of one comparison.
#[derive(Debug)]
pub struct Report {
    /// The API whose spec was compared.
    pub api: Api,
    /// Where the server's document came from (a file path or a URL).
    pub source: String,
    pub findings: Vec<Finding>,
    /// For each finding, the 1-based number of the allow-list entry that allows it.
    pub allowed_by: Vec<Option<usize>>,
    pub allow_list: AllowList,
    /// Stale allow-list entries.
    pub problems: Vec<String>,
}

impl Report {
    /// The findings no allow-list entry covers.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .zip(&self.allowed_by)
            .filter(|(_, allowed)| allowed.is_none())
            .map(|(finding, _)| finding)
    }

    /// True when every finding is allow-listed and the allow-list has nothing stale.
    pub fn ok(&self) -> bool {
        self.failures().next().is_none() && self.problems.is_empty()
    }
}
