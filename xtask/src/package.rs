//! The workspace files that published crates carry: the specs (in `memos-api` and
//! `memos-conformance`, whose build script and `include_str!` read them) and the LICENSE.
//!
//! The workspace keeps one copy of each at the top level; each package reaches it through a
//! symlink (`<package>/openapi -> ../openapi`, `<package>/LICENSE -> ../LICENSE`), which
//! `cargo package` packs as the file itself. [`check`] finds a package whose file differs
//! from the workspace's (a checkout without symlinks, or a link replaced by a file) and
//! says how to restore the link.

use std::fmt;
use std::path::Path;

use anyhow::Context as _;

use crate::api::{Api, ApiFiles as _};

/// Every published crate (all but xtask); each carries the LICENSE.
pub const PACKAGES: [&str; 7] = [
    "memos-api",
    "memos-cli",
    "memos-codegen",
    "memos-conformance",
    "memos-loader",
    "memos-refserver",
    "memos-text",
];

/// The crates that read the specs at build time, through their own `openapi/`.
pub const SPEC_PACKAGES: [&str; 2] = ["memos-api", "memos-conformance"];

/// The license every package carries.
pub const LICENSE_PATH: &str = "LICENSE";

/// One file a package carries that is not the workspace's.
#[derive(Debug)]
pub struct Mismatch {
    /// The package's file, relative to the workspace root.
    pub path: String,
    /// The workspace file it must be.
    pub source: String,
    /// `true`: the package has no such file; `false`: its bytes differ.
    pub missing: bool,
    /// The shell command that restores the link.
    pub fix: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, source) = (&self.path, &self.source);
        if self.missing {
            writeln!(f, "{path} is missing (the package carries {source} there)")?;
        } else {
            writeln!(f, "{path} differs from {source}")?;
        }
        write!(f, "  fix: {}", self.fix)
    }
}

/// `(package file, workspace file, fix)` of every file a package carries from the workspace.
pub fn carried() -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    for package in SPEC_PACKAGES {
        let fix = format!("rm -rf {package}/openapi && ln -s ../openapi {package}/openapi");
        for api in Api::ALL {
            let spec = api.spec_path();
            files.push((format!("{package}/{spec}"), spec.to_owned(), fix.clone()));
        }
    }
    for package in PACKAGES {
        files.push((
            format!("{package}/{LICENSE_PATH}"),
            LICENSE_PATH.to_owned(),
            format!("rm -f {package}/{LICENSE_PATH} && ln -s ../{LICENSE_PATH} {package}/{LICENSE_PATH}"),
        ));
    }
    files
}

/// Every package file under `root` that is missing or differs from the workspace's. An error
/// means a workspace file itself cannot be read.
pub fn check(root: &Path) -> anyhow::Result<Vec<Mismatch>> {
    let mut mismatches = Vec::new();
    for (path, source, fix) in carried() {
        let wanted = std::fs::read(root.join(&source))
            .with_context(|| format!("cannot read {}", root.join(&source).display()))?;
        let missing = match std::fs::read(root.join(&path)) {
            Ok(bytes) if bytes == wanted => continue,
            Ok(_) => false,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => true,
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("cannot read {}", root.join(&path).display()))
            }
        };
        mismatches.push(Mismatch {
            path,
            source,
            missing,
            fix,
        });
    }
    Ok(mismatches)
}

/// The mismatches as one message, each with its fix.
pub fn report(mismatches: &[Mismatch]) -> String {
    let mut out = format!(
        "{} file(s) a published crate carries are not the workspace's (a package packs what \
         it holds, so each must be a symlink to the workspace file):\n",
        mismatches.len()
    );
    for mismatch in mismatches {
        out.push('\n');
        out.push_str(&mismatch.to_string());
        out.push('\n');
    }
    out
}
