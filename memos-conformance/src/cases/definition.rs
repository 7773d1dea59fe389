//! What a case is, and the `case!` macro that declares one. Its own module so that the case
//! modules never import their parent.

use std::future::Future;
use std::pin::Pin;

use crate::context::{CaseResult, Ctx};

/// The future of a running case.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = CaseResult> + Send + 'a>>;

/// One case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Stable name, `<group>.<what is checked>`.
    pub name: &'static str,
    /// The endpoint or theme.
    pub group: &'static str,
    /// One line: what the case checks.
    pub purpose: &'static str,
    /// The case itself.
    pub(crate) run: for<'a> fn(&'a mut Ctx) -> CaseFuture<'a>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("purpose", &self.purpose)
            .finish()
    }
}

/// Declares a case from an `async fn(&mut Ctx) -> CaseResult`.
macro_rules! case {
    // A case named `what` run by a function of another name (two groups of one module
    // each have a case of that name).
    ($group:literal, $what:ident = $func:ident, $purpose:literal) => {
        $crate::cases::Case {
            name: concat!($group, ".", stringify!($what)),
            group: $group,
            purpose: $purpose,
            run: |ctx| Box::pin($func(ctx)),
        }
    };
    ($group:literal, $func:ident, $purpose:literal) => {
        $crate::cases::Case {
            name: concat!($group, ".", stringify!($func)),
            group: $group,
            purpose: $purpose,
            run: |ctx| Box::pin($func(ctx)),
        }
    };
}
pub(crate) use case;
