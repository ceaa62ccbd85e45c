package PVE::Multipath::ClusterConfig;

# The two cluster-wide files in pmxcfs: /etc/pve/multipath.cfg (parsed by
# PVE::Multipath::Config) and the admin's free-form
# /etc/pve/multipath-overrides.conf. Each has its own lock and digest.

use strict;
use warnings;

use Digest::SHA qw(sha1_hex);

use PVE::Cluster qw(cfs_register_file cfs_read_file cfs_write_file cfs_lock_file);

use PVE::Multipath::Config;

my $CONFIG_FILE = 'multipath.cfg';
my $OVERRIDES_FILE = 'multipath-overrides.conf';

cfs_register_file(
    $CONFIG_FILE,
    sub { PVE::Multipath::Config->parse_config(@_) },
    sub { PVE::Multipath::Config->write_config(@_) },
);
cfs_register_file(
    $OVERRIDES_FILE,
    \&PVE::Multipath::Config::parse_overrides,
    \&PVE::Multipath::Config::write_overrides,
);

sub read_config {
    return cfs_read_file($CONFIG_FILE);
}

# Refuses an invalid configuration (the Rust writer validates everything).
sub write_config {
    my ($cfg) = @_;
    cfs_write_file($CONFIG_FILE, $cfg);
    return;
}

sub read_overrides {
    return cfs_read_file($OVERRIDES_FILE);
}

# The optimistic-locking digest of the overrides, as PVE computes digests.
sub overrides_digest {
    my ($text) = @_;
    return sha1_hex($text // '');
}

# Validated first (the strict check, for the multipath-tools versions the
# nodes run: { node => version }, every known release without it), so a
# broken text never reaches the nodes.
sub write_overrides {
    my ($text, $versions) = @_;
    PVE::Multipath::Config::check_overrides_in_cluster($text, $versions);
    cfs_write_file($OVERRIDES_FILE, $text);
    return;
}

my sub locked {
    my ($filename, $code, @param) = @_;
    my $res = cfs_lock_file($filename, undef, $code, @param);
    die $@ if $@;
    return $res;
}

sub lock_config {
    my ($code, @param) = @_;
    return locked($CONFIG_FILE, $code, @param);
}

sub lock_overrides {
    my ($code, @param) = @_;
    return locked($OVERRIDES_FILE, $code, @param);
}

1;
