//! Class (c): YAML portability. The spec must load to the same document under a YAML 1.2
//! loader (serde_yaml_ng here, most JavaScript tools) and a YAML 1.1 loader (PyYAML, which
//! most Python tools use). Checked on the token stream of `yaml-rust2`'s scanner, so each
//! finding has a line and column:
//!
//! * a plain (unquoted) scalar inside a flow collection (`{...}`, `[...]`) containing one of
//!   `, ? : [ ] { }`: YAML 1.1 ends a flow scalar at each of them, so PyYAML fails
//!   (`Where do I live?}`) or reads something else;
//! * a flow mapping entry without `: value` (`{content: Noted, you live here.}`): a comma
//!   in an unquoted value silently starts a new key, in every YAML version;
//! * a plain scalar that YAML 1.1 and the YAML 1.2 core schema resolve differently: 1.1
//!   booleans (`yes`, `no`, `on`, `off`, `y`, `n`), octal `012` and `0o12`, binary `0b1`,
//!   sexagesimal `1:20`, underscores `1_000`, exponents without a dot or sign (`1e3`),
//!   timestamps (`2026-11-26`), the merge key `<<` and the value key `=`.
//!
//! `cargo xtask lint-external` loads the spec with PyYAML itself and compares the result
//! with serde_yaml_ng's, which covers whatever this list misses.

use std::sync::LazyLock;

use regex::Regex;
use yaml_rust2::scanner::{Marker, Scanner, TScalarStyle, TokenType};

use super::document::LintError;

/// Characters that end a plain scalar in a YAML 1.1 flow collection.
const FLOW_STOPS: [char; 7] = [',', '?', ':', '[', ']', '{', '}'];

pub fn check(text: &str) -> Vec<LintError> {
    let mut errors = Vec::new();
    let mut error = |mark: Marker, message: String| {
        errors.push(LintError {
            location: format!("line {}, column {}", mark.line(), mark.col() + 1),
            message,
        })
    };
    let mut stack: Vec<Flow> = Vec::new();
    let mut tagged = false;
    let mut scanner = Scanner::new(text.chars());
    for token in scanner.by_ref() {
        let mark = token.0;
        match token.1 {
            TokenType::FlowMappingStart | TokenType::FlowSequenceStart => {
                if let Some(top) = stack.last_mut() {
                    top.node(mark);
                }
                stack.push(if matches!(token.1, TokenType::FlowMappingStart) {
                    Flow::mapping()
                } else {
                    Flow::Sequence
                });
                tagged = false;
            }
            TokenType::FlowMappingEnd | TokenType::FlowSequenceEnd => {
                if let Some(top) = stack.pop() {
                    top.finish(&mut error);
                }
            }
            TokenType::FlowEntry => {
                if let Some(top) = stack.last_mut() {
                    std::mem::replace(top, top.next()).finish(&mut error);
                }
            }
            TokenType::Key | TokenType::Value => {
                if let Some(Flow::Mapping { keyed, .. }) = stack.last_mut() {
                    *keyed = true;
                }
            }
            TokenType::Alias(_) => {
                if let Some(top) = stack.last_mut() {
                    top.node(mark);
                }
            }
            TokenType::Tag(..) => tagged = true,
            TokenType::Scalar(style, value) => {
                if let Some(top) = stack.last_mut() {
                    top.node(mark);
                }
                if style == TScalarStyle::Plain {
                    if !stack.is_empty() {
                        if let Some(stop) = value.chars().find(|c| FLOW_STOPS.contains(c)) {
                            error(
                                mark,
                                format!(
                                    "the unquoted `{value}` in a flow collection contains `{stop}`, \
                                     where a YAML 1.1 loader (PyYAML) ends it; quote it"
                                ),
                            );
                        }
                    }
                    // An explicit tag decides the type, not the resolver.
                    if !tagged {
                        let (old, new) = (resolve_1_1(&value), resolve_1_2(&value));
                        if old != new {
                            error(
                                mark,
                                format!(
                                    "the unquoted `{value}` is {} under YAML 1.1 (PyYAML) but {} \
                                     under YAML 1.2; quote it",
                                    old.describe(),
                                    new.describe()
                                ),
                            );
                        }
                    }
                }
                tagged = false;
            }
            _ => {}
        }
    }
    if let Some(err) = scanner.get_error() {
        errors.push(LintError {
            location: "(document)".to_owned(),
            message: format!("a YAML 1.2 scanner (yaml-rust2) cannot read it: {err}"),
        });
    }
    errors
}

/// An open flow collection.
enum Flow {
    Sequence,
    /// The current entry: where its first node is, and whether it has a `:`.
    Mapping {
        first: Option<Marker>,
        keyed: bool,
    },
}

impl Flow {
    fn mapping() -> Flow {
        Flow::Mapping {
            first: None,
            keyed: false,
        }
    }

    fn node(&mut self, mark: Marker) {
        if let Flow::Mapping { first, .. } = self {
            first.get_or_insert(mark);
        }
    }

    /// The same collection, at its next entry.
    fn next(&self) -> Flow {
        match self {
            Flow::Sequence => Flow::Sequence,
            Flow::Mapping { .. } => Flow::mapping(),
        }
    }

    /// Reports the current entry if it is a key without `: value`.
    fn finish(self, error: &mut impl FnMut(Marker, String)) {
        if let Flow::Mapping {
            first: Some(mark),
            keyed: false,
        } = self
        {
            error(
                mark,
                "a flow mapping entry without `: value` (an unquoted `,` in the value before it \
                 starts a new key); quote the value"
                    .to_owned(),
            );
        }
    }
}

/// What a plain scalar resolves to, as far as a loaded document can tell.
#[derive(Debug, PartialEq)]
enum Resolved {
    Null,
    Bool(bool),
    /// `None` when the value does not fit an i128.
    Int(Option<i128>),
    /// The value in Rust's `Debug` form (so NaN equals NaN).
    Float(String),
    Str,
    /// A YAML 1.1-only kind: timestamp, merge key, value key.
    Other(&'static str),
}

impl Resolved {
    fn describe(&self) -> String {
        match self {
            Resolved::Null => "null".to_owned(),
            Resolved::Bool(b) => format!("the boolean {b}"),
            Resolved::Int(Some(i)) => format!("the integer {i}"),
            Resolved::Int(None) => "an integer".to_owned(),
            Resolved::Float(f) => format!("the number {f}"),
            Resolved::Str => "a string".to_owned(),
            Resolved::Other(kind) => (*kind).to_owned(),
        }
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant pattern")
}

/// PyYAML's implicit resolvers (`yaml/resolver.py`), plus `y`/`n`, which YAML 1.1 itself and
/// other 1.1 loaders read as booleans.
fn resolve_1_1(s: &str) -> Resolved {
    static BOOL: LazyLock<Regex> = LazyLock::new(|| {
        re("^(?:y|Y|n|N|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
    });
    static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
    });
    static INT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        )
    });
    static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$",
        )
    });
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "<<" => return Resolved::Other("a merge key"),
        "=" => return Resolved::Other("a value key"),
        _ => {}
    }
    if BOOL.is_match(s) {
        return Resolved::Bool(matches!(
            s,
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON"
        ));
    }
    if INT.is_match(s) {
        let clean = s.replace('_', "");
        let (negative, digits) = split_sign(&clean);
        let value = if let Some(bin) = digits.strip_prefix("0b") {
            i128::from_str_radix(bin, 2).ok()
        } else if let Some(hex) = digits.strip_prefix("0x") {
            i128::from_str_radix(hex, 16).ok()
        } else if digits.contains(':') {
            digits.split(':').try_fold(0i128, |total, part| {
                total.checked_mul(60)?.checked_add(part.parse().ok()?)
            })
        } else if digits.len() > 1 && digits.starts_with('0') {
            i128::from_str_radix(digits, 8).ok()
        } else {
            digits.parse().ok()
        };
        return Resolved::Int(value.map(|v: i128| if negative { -v } else { v }));
    }
    if FLOAT.is_match(s) {
        let clean = s.replace('_', "");
        let (negative, digits) = split_sign(&clean);
        let value = if digits.contains(':') {
            sexagesimal(digits).unwrap_or(f64::NAN)
        } else {
            float(digits)
        };
        return Resolved::Float(format!("{:?}", if negative { -value } else { value }));
    }
    if TIMESTAMP.is_match(s) {
        return Resolved::Other("a timestamp");
    }
    Resolved::Str
}

/// The YAML 1.2 core schema, which serde_yaml_ng follows.
fn resolve_1_2(s: &str) -> Resolved {
    static INT: LazyLock<Regex> =
        LazyLock::new(|| re(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"));
    static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
    });
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        _ => {}
    }
    if INT.is_match(s) {
        let value = if let Some(oct) = s.strip_prefix("0o") {
            i128::from_str_radix(oct, 8).ok()
        } else if let Some(hex) = s.strip_prefix("0x") {
            i128::from_str_radix(hex, 16).ok()
        } else {
            s.parse().ok()
        };
        return Resolved::Int(value);
    }
    if FLOAT.is_match(s) {
        let (negative, digits) = split_sign(s);
        let value = float(digits);
        return Resolved::Float(format!("{:?}", if negative { -value } else { value }));
    }
    Resolved::Str
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    }
}

/// An unsigned float in either version's spelling (`.inf`, `.nan`, `1.`, `.5e+3`).
fn float(digits: &str) -> f64 {
    match digits.to_ascii_lowercase().as_str() {
        ".inf" => f64::INFINITY,
        ".nan" => f64::NAN,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

/// `1:20:30.5` in base 60.
fn sexagesimal(digits: &str) -> Option<f64> {
    digits.split(':').try_fold(0.0, |total, part| {
        let part: f64 = part.parse().ok()?;
        Some(total * 60.0 + part)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_differences() {
        for same in [
            "alice", "200", "1.5", "true", "null", "~", "-3", "0x1F", "1.0e+3",
        ] {
            assert_eq!(resolve_1_1(same), resolve_1_2(same), "{same}");
        }
        for differs in [
            "yes",
            "off",
            "y",
            "012",
            "0o12",
            "0b1",
            "1:20",
            "1_000",
            "1e3",
            "2026-11-26",
            "<<",
            "09",
        ] {
            assert_ne!(resolve_1_1(differs), resolve_1_2(differs), "{differs}");
        }
    }
}
