//! Cluster-wide device-mapper multipath for Proxmox VE: the pure logic.
//!
//! Everything here is free of I/O: Perl hands in raw text (file contents,
//! multipathd output, cluster KV values) and gets plain data back. The Perl
//! glue in `perl/` does the system and cluster work.
//!
//! Layout, one module per concern:
//!
//! - [`section_config`]: `multipath.cfg` as Proxmox SectionConfig text.
//! - [`schema`]: the knob table, validation, JSONSchema export.
//! - [`render`]: the node-local `pve-*.conf` drop-ins.
//! - [`import`]: a node's own multipath setup as a cluster config proposal.
//! - [`overrides`]: the multipath.conf grammar for the admin's overrides.
//! - [`wwids`]: the `/etc/multipath/wwids` allow-list and its sync plan.
//! - [`maps`]: normalising `multipathd show maps json`.
//! - [`status`]: per-node broadcast summary and the cluster health matrix.
//! - [`notify`]: the notifications decided from the matrix.
//! - [`perl`]: the binding layer (the only `unsafe` code) and
//!   `bindings`: the functions each Perl package exports.
//! - [`text`]: quoting input in error messages.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod import;
pub mod maps;
pub mod notify;
pub mod overrides;
pub mod render;
pub mod schema;
pub mod section_config;
pub mod status;
pub mod text;
pub mod wwids;

mod bindings;
pub mod perl;
