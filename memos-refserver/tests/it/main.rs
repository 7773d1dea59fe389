//! Integration tests of memos-refserver, in one binary.

mod installer;
