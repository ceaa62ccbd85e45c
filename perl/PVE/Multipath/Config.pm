package PVE::Multipath::Config;

# The cluster-wide multipath configuration (/etc/pve/multipath.cfg, a
# SectionConfig with one 'defaults' section and one 'wwid' section per
# allow-listed LUN), the admin's override text, the node-local drop-ins
# rendered from both and the /etc/multipath/wwids allow-list.
#
# All of it is pure and lives in the Rust library (PVE::RS::Multipath::Config);
# this module keeps the series' Perl API over it. No PVE::Cluster here, so it
# stays usable on a node whose pve-cluster does not observe the file yet.

use strict;
use warnings;

use PVE::Exception qw(raise_param_exc);

use PVE::RS::Multipath::Config;

# The library dies with { property => message } for bad parameters (see
# src/perl/error.rs); here that becomes PVE's parameter exception, so the
# API reports it per parameter and every other caller reads it as text.
my sub params_checked {
    my ($code, @param) = @_;
    my $result = eval { $code->(@param) };
    if (my $err = $@) {
        raise_param_exc($err) if ref($err) eq 'HASH';
        die $err;
    }
    return $result;
}

# Parse multipath.cfg exactly like PVE::SectionConfig: never dies; prints its
# warnings; problems with a key are also listed in $cfg->{errors}.
sub parse_config {
    my ($class, $filename, $raw) = @_;

    # one character per byte, so the Rust side reads the file's bytes
    utf8::upgrade(my $bytes = $raw // '');
    my $cfg = PVE::RS::Multipath::Config::parse_section_config($filename, $bytes);
    warn "$_\n" for (delete($cfg->{warnings}) // [])->@*;
    return $cfg;
}

# Dies on an invalid configuration instead of writing it.
sub write_config {
    my ($class, $filename, $cfg) = @_;
    return PVE::RS::Multipath::Config::write_section_config($filename, $cfg);
}

# Apply an API update to one section (see the Rust update_section): only
# settable keys, no key both set and deleted, digest checked, aliases unique.
# Bad parameters raise a parameter exception (raise_param_exc).
sub update_section {
    my ($cfg, $type, $id, $params, $delete, $digest) = @_;
    return params_checked(\&PVE::RS::Multipath::Config::update_section,
        $cfg, $type, $id, $params, $delete, $digest,);
}

sub remove_section {
    my ($cfg, $id, $digest) = @_;
    return PVE::RS::Multipath::Config::remove_section($cfg, $id, $digest);
}

# PVE::Tools::assert_if_modified, the one digest check of every write: dies
# with pve-common's message when the client's $digest (if any) is not the
# $current one.
sub assert_if_modified {
    my ($digest, $current) = @_;
    return PVE::RS::Multipath::Config::assert_if_modified($digest, $current);
}

sub managed_defaults { return PVE::RS::Multipath::Config::managed_defaults(); }

sub defaults_api_schema { return PVE::RS::Multipath::Config::defaults_api_schema(); }

sub wwid_api_schema { return PVE::RS::Multipath::Config::wwid_api_schema(); }

sub effective_defaults {
    my ($cfg) = @_;
    return PVE::RS::Multipath::Config::effective_defaults($cfg);
}

sub wwid_list {
    my ($cfg) = @_;
    return PVE::RS::Multipath::Config::wwid_list($cfg);
}

sub aliases {
    my ($cfg) = @_;
    return PVE::RS::Multipath::Config::aliases($cfg);
}

sub wwid_opts {
    my ($cfg) = @_;
    return PVE::RS::Multipath::Config::wwid_opts($cfg);
}

# { wwid => n }: the paths each node should have, per WWID or from defaults.
sub paths_expected {
    my ($cfg) = @_;
    return PVE::RS::Multipath::Config::paths_expected($cfg);
}

# The series' guard: validate the admin's override text against the
# multipath.conf grammar and the keyword tables of every known multipath-tools
# release; dies naming each line. A device section without vendor or product
# only warns (see lint_overrides).
sub check_overrides {
    my ($text) = @_;
    return PVE::RS::Multipath::Config::check_overrides($text // '');
}

# The strict check for a text about to be stored: for every multipath-tools
# release the cluster runs ({ node => version or undef }, as the node rows of
# the status matrix carry it; every known release where no node reports one),
# and a device section without vendor or product is refused too. A refusal
# names the line, the release and the nodes that run it.
sub check_overrides_in_cluster {
    my ($text, $versions) = @_;
    return PVE::RS::Multipath::Config::check_overrides_in_cluster($text // '', $versions // {});
}

sub parse_overrides {
    my ($filename, $raw) = @_;
    return $raw // '';
}

sub write_overrides {
    my ($filename, $text) = @_;
    return PVE::RS::Multipath::Config::normalize_overrides($text // '');
}

sub generate_managed_conf {
    my ($defaults) = @_;
    return PVE::RS::Multipath::Config::generate_managed_conf($defaults);
}

sub build_multipaths_block {
    my ($wwid_opts) = @_;
    return PVE::RS::Multipath::Config::build_multipaths_block($wwid_opts);
}

# { 'pve-defaults.conf' => $text, ... }: every node-local drop-in, undef for
# one that must not exist (all of them when the cluster config is empty).
sub render_node_files {
    my ($cfg, $overrides) = @_;
    return PVE::RS::Multipath::Config::render_node_files($cfg, $overrides);
}

# A WWID parameter of the API: the rule of check_wwid as far as
# PVE::JSONSchema can say it (its anchored pattern lets a trailing newline
# through, which check_wwid refuses).
sub wwid_schema {
    my ($description) = @_;
    return PVE::RS::Multipath::Config::wwid_schema($description);
}

# The WWID itself if $text is one (the rule of the section ids), else dies.
sub check_wwid {
    my ($text) = @_;
    return PVE::RS::Multipath::Config::check_wwid($text);
}

sub parse_wwids {
    my ($text) = @_;
    return PVE::RS::Multipath::Config::parse_wwids($text);
}

sub format_wwids {
    my ($wwids) = @_;
    return PVE::RS::Multipath::Config::format_wwids($wwids);
}

# { add => [...], remove => [...], keep => [{ wwid, reason }] }; only WWIDs in
# $added_by_pve are ever planned for removal.
sub plan_wwids {
    my ($desired, $current_text, $added_by_pve) = @_;
    return PVE::RS::Multipath::Config::plan_wwids($desired, $current_text, $added_by_pve);
}

# A node's own setup ({ files => [{ name, text }], wwids, bindings, maps =>
# [{ wwid, local }] }) as a proposed cluster config: { proposal => { defaults,
# wwids, overrides }, report => [{ file, line, text, reason }], changes,
# differences } (the differences against $cfg and $overrides when given).
sub import_propose {
    my ($setup, $use_bindings, $cfg, $overrides) = @_;
    return PVE::RS::Multipath::Config::import_propose($setup, $use_bindings, $cfg, $overrides);
}

# { config => $cfg, overrides => $text }: the chosen $parts ({ wwids => [..],
# defaults => 0|1, overrides => 0|1 }, all by default) of a proposal merged
# in; dies listing every conflict with an existing entry unless $overwrite.
sub import_apply {
    my ($cfg, $overrides, $proposal, $parts, $overwrite, $digest) = @_;
    return PVE::RS::Multipath::Config::import_apply($cfg, $overrides, $proposal, $parts,
        $overwrite, $digest,);
}

# [ message ]: where the node's own files ([{ name, text }]) contradict the
# cluster config, each naming the file and line; with the node's block
# devices ([{ dev, wwid, vendor?, product?, properties?, sysfs_path?,
# nvme_transport? }]) its devnode, device, property and protocol blacklist
# entries are judged too.
sub import_conflicts {
    my ($files, $cfg, $devices) = @_;
    return PVE::RS::Multipath::Config::import_conflicts($files, $cfg, $devices);
}

1;
