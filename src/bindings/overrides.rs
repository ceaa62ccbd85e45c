//! Exports of `PVE::RS::Multipath::Config (the override grammar)`.

#[allow(unused_imports)]
use anyhow::Error;

#[allow(unused_imports)]
use crate::export;
use crate::perl::Export;

pub const EXPORTS: &[Export] = &[];
