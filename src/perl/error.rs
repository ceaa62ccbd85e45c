//! The shape of an export's exception.
//!
//! ```perl
//! my $cfg = eval { PVE::RS::Multipath::Config::update_section($cfg, 'wwid', $id, $set) };
//! if (my $err = $@) {
//!     raise_param_exc($err) if ref($err) eq 'HASH';    # { alias => "alias 'x' is ..." }
//!     die $err;                                         # "detected modified configuration ...\n"
//! }
//! ```
//!
//! An export whose error is a [`ParamErrors`] dies with the hash
//! `{ property => message }`, the way perlmod's `serialize_error` dies with
//! the serialized error; PVE's API hands it to `raise_param_exc` as it is,
//! without parsing a message. Every other error is a message ending in
//! "\n". This is the one place that decides it; each export's `///` says
//! when it dies with a hash.

use anyhow::Error;

use super::Output;
use crate::schema::ParamErrors;

/// The exception for `err`: a new Perl value the caller owns, or the message.
pub(super) fn exception(err: Error, output: &mut Output) -> Result<*mut super::ffi::Sv, String> {
    let Some(errors) = err.downcast_ref::<ParamErrors>() else {
        return Err(format!("{err:#}"));
    };
    match output.set(errors) {
        Ok(()) => output
            .result
            .take()
            .map(|value| value.into_raw())
            .ok_or_else(|| format!("{err:#}")),
        Err(_) => Err(format!("{err:#}")),
    }
}
