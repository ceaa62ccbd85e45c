//! The functions each `PVE::RS::Multipath::*` Perl package exports.
//!
//! One submodule per package, each defining its exports, documented with
//! `///`, in an [`exports!`](crate::exports) block; the boot symbols are
//! declared here. See [`crate::perl`] for how to add an export.

mod config;
mod import;
mod maps;
mod notify;
mod overrides;
#[cfg(feature = "selftest")]
mod selftest;
mod status;

use anyhow::Error;

use crate::exports;
use crate::perl_package;

exports! {
    const ROOT_EXPORTS;

    /// `version() -> 'x.y.z'`: the library's version.
    fn version() -> Result<&'static str, Error> {
        Ok(env!("CARGO_PKG_VERSION"))
    }
}

perl_package!(
    boot_PVE__RS__Multipath,
    "PVE::RS::Multipath",
    &[ROOT_EXPORTS]
);
perl_package!(
    boot_PVE__RS__Multipath__Config,
    "PVE::RS::Multipath::Config",
    &[config::EXPORTS, overrides::EXPORTS, import::EXPORTS]
);
perl_package!(
    boot_PVE__RS__Multipath__Maps,
    "PVE::RS::Multipath::Maps",
    &[maps::EXPORTS]
);
perl_package!(
    boot_PVE__RS__Multipath__Status,
    "PVE::RS::Multipath::Status",
    &[status::EXPORTS]
);
perl_package!(
    boot_PVE__RS__Multipath__Notify,
    "PVE::RS::Multipath::Notify",
    &[notify::EXPORTS]
);
#[cfg(feature = "selftest")]
perl_package!(
    boot_PVE__RS__Multipath__Selftest,
    "PVE::RS::Multipath::Selftest",
    &[selftest::EXPORTS]
);
