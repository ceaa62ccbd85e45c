//! The binding layer: a small, self-contained stand-in for `perlmod`.
//!
//! Every `unsafe` line of the crate lives below this module. The rest of the
//! crate exports plain Rust functions; this module reads their arguments
//! straight from Perl data into their types (`de.rs`), builds their results
//! as Perl data (`ser.rs`), turns errors into Perl exceptions and keeps Rust
//! panics from unwinding into the interpreter.
//!
//! # Adding an export
//!
//! Write the function, documented, inside the [`exports!`](crate::exports)
//! block of its package's file in `src/bindings/`; its arguments implement
//! [`serde::Deserialize`] (owned, or borrowing a big text for the call as
//! [`Text`]) and its result is `Result<T, anyhow::Error>` with `T:`
//! [`serde::Serialize`]:
//!
//! ```ignore
//! exports! {
//!     pub const EXPORTS;
//!
//!     /// `parse_wwids($text) -> [ $wwid, ... ]`: the WWIDs listed in a
//!     /// wwids file's text.
//!     fn parse_wwids(text: String) -> Result<Vec<String>, Error> {
//!         Ok(crate::wwids::parse(&text)?.listed)
//!     }
//! }
//! ```
//!
//! The block defines the functions as written and the package's table
//! `EXPORTS` of them, which `perl_package!` in `src/bindings/mod.rs` boots;
//! Perl then calls `PVE::RS::Multipath::Config::parse_wwids($text)`. The
//! definition is the one place the signature is written, and its `///` is
//! what documents the export (every export has one: what it takes, what it
//! returns and when it dies). Helpers and argument types stay outside the
//! block. (rustfmt leaves the inside of a macro call alone: keep to its
//! style by hand.)
//!
//! Trailing `Option<T>` arguments may be omitted by the caller; any other
//! missing or surplus argument, or one of the wrong shape, is a clear
//! exception naming the function, the argument and the place inside it:
//! `aggregate_status: argument 'options' at {'now'}: expected an integer,
//! got a hash reference` (see `de.rs`; quoted input is cut to 80
//! characters by [`crate::text::quote_input`]).
//!
//! # Data mapping
//!
//! | Perl                              | what a Rust type is given (serde) |
//! |-----------------------------------|-----------------------------------|
//! | `undef`                           | unit / `None`                     |
//! | integer (IV/UV)                   | `i64` / `u64`                     |
//! | floating point (NV)               | `f64`                             |
//! | string (character or byte string) | `str` (lent to [`Text`] when big) |
//! | hash ref / array ref              | map / sequence                    |
//! | `JSON::PP::Boolean`               | bool (bools go back as `1`/`0`)   |
//!
//! A string with `SvUTF8` set is taken as characters. A byte string (raw file
//! or command output, as PVE reads it) is decoded as UTF-8 when it is valid
//! UTF-8 and as Latin-1 otherwise, which is what those bytes mean to Perl.
//! A scalar that is both string and number is taken as a string (as
//! `JSON::XS` does); functions that want a number accept numeric strings.
//! Inf and NaN are refused. A blessed hash or array is read as its data;
//! overloading is never invoked, code, glob and other references are
//! refused.
//!
//! # Hostile data
//!
//! Tied and other magical values are read through FETCH & co., but under
//! `G_EVAL` in the C glue: a FETCH that dies never unwinds over Rust frames,
//! its exception is rethrown unchanged once they are gone (`convert.rs`). One
//! call reads at most 2**22 values, 2**18 of them magical, 256 levels deep,
//! so a tied array claiming 2**31-1 elements or a 100,000-deep nest is a
//! clear exception, not an abort, a hang or a stack overflow. A panic is
//! caught and becomes `internal error in <export>: ...`. An `exit` inside a
//! FETCH still ends the process (perl rethrows it past `G_EVAL`), skipping
//! the Rust frames; nothing is left to leak then.

mod convert;
mod de;
mod error;
mod ffi;
pub mod lenient;
mod ser;
mod xsub;

use std::cell::Cell;

use anyhow::{format_err, Error};
use serde::de::Deserialize;

pub use de::Text;
pub use ffi::{Cv, Interpreter};
pub use xsub::boot_package;

/// One exported Perl sub, as [`exports!`](crate::exports) builds it from the definition.
pub struct Export {
    /// The sub's name inside its package.
    pub name: &'static str,
    /// The parameter names, in order.
    pub params: &'static [&'static str],
    /// The `///` documentation on the definition.
    pub doc: &'static str,
    /// The adapter around the plain Rust function.
    pub call: fn(ArgValues<'_>, &mut Output) -> Result<(), Error>,
}

/// Where an export's result goes: serialized straight into Perl data.
pub struct Output {
    perl: *mut Interpreter,
    result: Option<ser::SvBox>,
}

impl Output {
    /// # Safety
    ///
    /// `perl` must be the running interpreter.
    unsafe fn new(perl: *mut Interpreter) -> Self {
        Self { perl, result: None }
    }

    pub fn set<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        // SAFETY: self.perl is the running interpreter (Output::new); both
        // live only for this call, on its thread.
        let statics = unsafe { ser::Statics::new(self.perl) };
        // SAFETY: as above.
        let to_perl = unsafe { ser::ToPerl::new(self.perl, &statics) };
        self.result = Some(value.serialize(to_perl)?);
        Ok(())
    }
}

/// The Perl values passed to one call, with the call's one
/// [`convert::Reader`] (its budgets) and the place for an exception that
/// Perl code run while reading them threw.
pub struct ArgValues<'a> {
    svs: &'a [*mut ffi::Sv],
    reader: convert::Reader,
    died: &'a Cell<Option<*mut ffi::Sv>>,
}

impl<'a> ArgValues<'a> {
    /// # Safety
    ///
    /// `perl` must be the running interpreter and `svs` live SVs of it for
    /// `'a`, which ends with the XSUB call; used on its thread only.
    unsafe fn new(
        perl: *mut Interpreter,
        svs: &'a [*mut ffi::Sv],
        died: &'a Cell<Option<*mut ffi::Sv>>,
    ) -> Self {
        Self {
            svs,
            // SAFETY: the caller's promise.
            reader: unsafe { convert::Reader::new(perl) },
            died,
        }
    }
}

/// The arguments of one call, taken in order by the [`exports!`](crate::exports) adapter.
pub struct Args<'a> {
    function: &'static str,
    names: &'static [&'static str],
    values: ArgValues<'a>,
    next_index: usize,
}

impl<'a> Args<'a> {
    /// `values` are at most as many as `names` (the dispatcher checks).
    pub fn new(
        function: &'static str,
        values: ArgValues<'a>,
        names: &'static [&'static str],
    ) -> Self {
        Self {
            function,
            names,
            values,
            next_index: 0,
        }
    }

    /// Take the next argument, read straight from its Perl value (see
    /// `de.rs`); a missing one reads as `undef`. A [`Text`] inside it may
    /// borrow a big string for the call.
    pub fn take<T: Deserialize<'a>>(&mut self) -> Result<T, Error> {
        let name = self.names[self.next_index];
        let sv = self.values.svs.get(self.next_index).copied();
        self.next_index += 1;
        // SAFETY: the SVs are live for 'a, which ends with the call
        // (ArgValues::new).
        let result = unsafe { de::from_sv::<T>(&mut self.values.reader, sv) };
        result.map_err(|err| {
            if let Some(exception) = err.died() {
                self.values.died.set(Some(exception));
                format_err!("{}: argument '{name}': Perl code died", self.function)
            } else if sv.is_none() {
                format_err!("{}: missing argument '{name}'", self.function)
            } else {
                format_err!(
                    "{}: argument '{name}'{}: {}",
                    self.function,
                    err.path(),
                    err.message()
                )
            }
        })
    }
}

/// Define a package's exports: the documented functions, as written, and a
/// table of their [`Export`] entries under the name the block opens with.
/// See the module documentation.
#[macro_export]
macro_rules! exports {
    (
        $vis:vis const $table:ident;
        $(
            $(#[doc = $doc:literal])+
            fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty $body:block
        )*
    ) => {
        $(
            $(#[doc = $doc])+
            fn $name($($arg: $ty),*) -> $ret $body
        )*

        $vis const $table: &[$crate::perl::Export] = &[$(
            $crate::perl::Export {
                name: stringify!($name),
                params: &[$(stringify!($arg)),*],
                doc: concat!($($doc, "\n"),+),
                call: |values, output| {
                    #[allow(unused_mut, unused_variables)]
                    let mut args = $crate::perl::Args::new(
                        stringify!($name),
                        values,
                        &[$(stringify!($arg)),*],
                    );
                    let result = $name($(args.take::<$ty>()?),*)?;
                    output.set(&result)
                },
            }
        ),*];
    };
}

/// Define the boot symbol of a Perl package (`boot_` plus the package name
/// with `::` as `__`), which registers the package's exports (one or more
/// `EXPORTS` tables) when the package's `.pm` bootstraps it.
#[macro_export]
macro_rules! perl_package {
    ($boot:ident, $package:literal, $exports:expr) => {
        #[no_mangle]
        pub extern "C" fn $boot(perl: *mut $crate::perl::Interpreter, cv: *mut $crate::perl::Cv) {
            const PACKAGE: &str = concat!($package, "\0");
            const EXPORTS: &[&[$crate::perl::Export]] = $exports;
            // SAFETY: perl calls a boot symbol as an XSUB, with its own
            // interpreter and the bootstrap CV.
            unsafe { $crate::perl::boot_package(perl, cv, PACKAGE, EXPORTS) }
        }
    };
}

#[cfg(test)]
mod tests {
    use anyhow::Error;

    crate::exports! {
        const TABLE;

        /// `first($text, $count?)`: one line
        /// and a second.
        fn first(text: String, count: Option<u64>) -> Result<String, Error> {
            Ok(text.repeat(count.unwrap_or(1) as usize))
        }

        /// `second()`.
        fn second() -> Result<(), Error> {
            Ok(())
        }
    }

    #[test]
    fn the_definition_gives_the_entry_its_name_parameters_and_doc() {
        let entries: Vec<_> = TABLE
            .iter()
            .map(|entry| (entry.name, entry.params, entry.doc))
            .collect();
        assert_eq!(
            entries,
            [
                (
                    "first",
                    &["text", "count"][..],
                    " `first($text, $count?)`: one line\n and a second.\n"
                ),
                ("second", &[][..], " `second()`.\n"),
            ]
        );
    }

    #[test]
    fn the_definition_stays_an_ordinary_function() {
        assert_eq!(first("ab".into(), Some(2)).unwrap(), "abab");
        second().unwrap();
    }
}
