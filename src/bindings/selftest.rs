//! Test-only exports of `PVE::RS::Multipath::Selftest` (feature `selftest`),
//! used by `tests/binding.t` to exercise the binding layer itself.

use anyhow::{bail, Error};
use serde_json::Value;

use crate::export;
use crate::perl::lenient::{Bool, Int};
use crate::perl::Export;

fn echo(value: Value) -> Result<Value, Error> {
    Ok(value)
}

fn echo_list(values: Vec<Value>) -> Result<Vec<Value>, Error> {
    Ok(values)
}

fn fail(message: String) -> Result<(), Error> {
    bail!("{message}");
}

fn panic(message: String) -> Result<(), Error> {
    panic!("{message}");
}

fn add(a: Int, b: Option<Int>) -> Result<i64, Error> {
    a.0.checked_add(b.map_or(0, |b| b.0))
        .ok_or_else(|| anyhow::format_err!("integer overflow"))
}

fn truth(flag: Bool) -> Result<bool, Error> {
    Ok(!flag.0)
}

pub const EXPORTS: &[Export] = &[
    export!(
        /// `$value` back, after the round trip through Rust.
        echo(value: Value)
    ),
    export!(
        /// `$values` back; dies unless it is an array reference.
        echo_list(values: Vec<Value>)
    ),
    export!(
        /// Dies with `$message`.
        fail(message: String)
    ),
    export!(
        /// Panics with `$message`.
        panic(message: String)
    ),
    export!(
        /// `$a + $b` of two integers (numeric strings too).
        add(a: Int, b: Option<Int>)
    ),
    export!(
        /// The negation of `$flag`, read with Perl truth.
        truth(flag: Bool)
    ),
];
