//! Test-only exports of `PVE::RS::Multipath::Selftest` (feature `selftest`),
//! used by `tests/binding.t` to exercise the binding layer itself.

use anyhow::{bail, Error};
use serde_json::Value;

use crate::exports;
use crate::perl::lenient::{Bool, Int};

exports! {
    pub const EXPORTS;

    /// `$value` back, after the round trip through Rust.
    fn echo(value: Value) -> Result<Value, Error> {
        Ok(value)
    }

    /// `$values` back; dies unless it is an array reference.
    fn echo_list(values: Vec<Value>) -> Result<Vec<Value>, Error> {
        Ok(values)
    }

    /// Dies with `$message`.
    fn fail(message: String) -> Result<(), Error> {
        bail!("{message}");
    }

    /// Panics with `$message`.
    fn panic(message: String) -> Result<(), Error> {
        panic!("{message}");
    }

    /// `$a + $b` of two integers (numeric strings too).
    fn add(a: Int, b: Option<Int>) -> Result<i64, Error> {
        a.0.checked_add(b.map_or(0, |b| b.0))
            .ok_or_else(|| anyhow::format_err!("integer overflow"))
    }

    /// The negation of `$flag`, read with Perl truth.
    fn truth(flag: Bool) -> Result<bool, Error> {
        Ok(!flag.0)
    }
}
