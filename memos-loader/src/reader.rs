//! The one interface of the format readers (messages, content, documents), apart from the
//! source that drives them, so that neither imports the other.

use crate::error::LoadError;
use crate::item::Parsed;

/// Reads one file's records and invalid records, in order.
pub(crate) trait ParsedReader: Send {
    fn next_parsed(&mut self) -> Result<Option<Parsed>, LoadError>;
}
