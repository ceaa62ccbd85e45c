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

# pmxcfs serves, caches and locks only the files it observes, and the real
# cfs_register_file dies for any other. A pve-cluster older than
# pve-multipath does not observe ours; loading must not fail then (this
# module is loaded with PVE::Storage, and that with every PVE tool), so the
# refusal is kept and every access to the files names the fix instead.
my $unobserved;

my $registrations = [
    [
        $CONFIG_FILE,
        sub { PVE::Multipath::Config->parse_config(@_) },
        sub { PVE::Multipath::Config->write_config(@_) },
    ],
    [
        $OVERRIDES_FILE, \&PVE::Multipath::Config::parse_overrides,
        \&PVE::Multipath::Config::write_overrides,
    ],
];
for my $file ($registrations->@*) {
    eval { cfs_register_file($file->@*) };
    my $err = $@;
    next if !$err || $err =~ m/already registered/;    # loaded twice: the first one holds
    $unobserved //= $file->[0];
}

# Whether this node's pve-cluster observes the multipath files.
sub is_observed {
    return defined($unobserved) ? 0 : 1;
}

my sub assert_observed {
    die "pve-cluster on this node does not know the multipath configuration ('$unobserved' is"
        . " not observed by pmxcfs) - please update pve-cluster and libpve-cluster-perl\n"
        if defined($unobserved);
}

sub read_config {
    assert_observed();
    return cfs_read_file($CONFIG_FILE);
}

# Refuses an invalid configuration (the Rust writer validates everything).
sub write_config {
    my ($cfg) = @_;
    assert_observed();
    cfs_write_file($CONFIG_FILE, $cfg);
    return;
}

sub read_overrides {
    assert_observed();
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
    assert_observed();
    cfs_write_file($OVERRIDES_FILE, $text);
    return;
}

my sub locked {
    my ($filename, $code, @param) = @_;
    assert_observed();
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
