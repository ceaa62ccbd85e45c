package PVE::Storage;

# Test stand-in for pve-storage's PVE::Storage: the storage configuration
# (/etc/pve/storage.cfg in the PVE::Cluster stand-in's directory, read as
# the SectionConfig it is), parse_volume_id and the plugin lookup.

use strict;
use warnings;

use PVE::Cluster;
use PVE::Tools qw(file_get_contents);

use PVE::Storage::Plugin;

our $APIVER = 15;
our $APIAGE = 6;

my $plugins = {};

sub register_plugin {
    my ($plugin) = @_;
    $plugins->{ $plugin->type() } = $plugin;
}

sub plugin_for {
    my ($type) = @_;
    return $plugins->{$type} // die "storage type '$type' not registered\n";
}

# { ids => { storeid => { type, key => value, nodes => { node => 1 } } } }
sub config {
    my $path = ($PVE::Cluster::BASE // $ENV{PVE_CLUSTER_STANDIN_DIR}) . "/storage.cfg";
    my $cfg = { ids => {} };
    return $cfg if !-e $path;
    my $section;
    for my $line (split(/\n/, file_get_contents($path))) {
        next if $line =~ m/^\s*#/;
        if ($line =~ m/^(\S+):\s*(\S+)\s*$/) {
            $section = $cfg->{ids}->{$2} = { type => $1 };
        } elsif ($section && $line =~ m/^\s+(\S+)(?:\s+(.*\S))?\s*$/) {
            my ($key, $value) = ($1, $2 // 1);
            $value = { map { $_ => 1 } split(/,/, $value) } if $key eq 'nodes';
            $section->{$key} = $value;
        } elsif ($line =~ m/^\s*$/) {
            undef $section;
        }
    }
    return $cfg;
}

sub storage_config {
    my ($cfg, $storeid, $noerr) = @_;
    my $scfg = $cfg->{ids}->{$storeid};
    die "storage '$storeid' does not exist\n" if !$scfg && !$noerr;
    return $scfg;
}

sub parse_volume_id {
    my ($volid, $noerr) = @_;
    if ($volid =~ m/^([a-z][a-z0-9\-\_\.]*[a-z0-9]):(.+)$/i) {
        return wantarray ? ($1, $2) : $1;
    }
    return undef if $noerr;
    die "unable to parse volume ID '$volid'\n";
}

1;
