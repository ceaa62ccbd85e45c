package PVE::Storage;

# Test stand-in for pve-storage's PVE::Storage: the storage configuration
# read from storage.cfg in the cluster directory (PVE::Cluster::base_dir)
# as the real one reads it (a SectionConfig: sections end at an empty line,
# comments skipped; `nodes` and `content` become hashes, flags numbers; the
# type's default content; `shared` for the types in @SHARED_STORAGE; the
# `local` dir storage added), with `ids`, `order` and `digest`;
# storage_config, parse_volume_id, APIVER/APIAGE (checked against a
# registered plugin's api()). Option values are not
# checked against the plugins' schemas. Like pve-storage with the
# pve-multipath patch, it loads and registers PVE::Storage::MultipathPlugin.

use strict;
use warnings;

use Digest::SHA qw(sha1_hex);

use PVE::Cluster;
use PVE::Tools qw(file_get_contents);

use PVE::Storage::Plugin;
use PVE::Storage::MultipathPlugin;

use constant APIVER => 15;
use constant APIAGE => 6;

my $plugins = {};

# with the real loader's API version checks of a plugin
sub register_plugin {
    my ($plugin) = @_;
    my $version = $plugin->api();
    die "implements an API version newer than current ($version > " . APIVER . ")\n"
        if $version > APIVER;
    die "API version too old, please update the plugin ($version < " . (APIVER - APIAGE) . ")\n"
        if $version < APIVER - APIAGE;
    $plugins->{ $plugin->type() } = $plugin;
}

sub plugin_for {
    my ($type) = @_;
    return $plugins->{$type};
}

register_plugin('PVE::Storage::MultipathPlugin');

my sub parse_sections {
    my ($raw) = @_;
    my ($ids, $order, $pri) = ({}, {}, 1);
    my @lines = grep { !m/^\s*#/ } split(/\n/, $raw);
    while (@lines) {
        my $line = shift(@lines);
        next if !$line;
        my ($type, $id) = $line =~ m/^(\S+):\s*(\S+)\s*$/ or next;
        my $section = { type => $type };
        while ($line = shift(@lines)) {
            my ($key, $value) = $line =~ m/^\s+(\S+)(?:\s+(.*\S))?\s*$/ or next;
            $section->{$key} = $value // 1;
        }
        $ids->{$id} = $section;
        $order->{$id} = $pri++;
    }
    return ($ids, $order);
}

sub config {
    my $path = PVE::Cluster::base_dir() . "/storage.cfg";
    my $raw = -e $path ? file_get_contents($path) : '';
    my ($ids, $order) = parse_sections($raw);
    my $local = $ids->{local};
    if (!$local || $local->{type} ne 'dir' || ($local->{path} && $local->{path} ne '/var/lib/vz')) {
        $ids->{local} = {
            type => 'dir',
            priority => 0,
            path => '/var/lib/vz',
            'prune-backups' => 'keep-all=1',
            content => { map { $_ => 1 } qw(backup images iso rootdir snippets vztmpl) },
        };
    }
    delete $ids->{local}->{nodes};
    for my $section (values $ids->%*) {
        for my $key (grep { defined($section->{$_}) } qw(nodes content)) {
            $section->{$key} = { map { $_ => 1 } split(/[,;\s]+/, $section->{$key}) }
                if !ref($section->{$key});
        }
        $section->{$_} += 0 for grep { defined($section->{$_}) } qw(disable shared);
        $section->{content} //= PVE::Storage::Plugin->default_content($section->{type});
        delete $section->{content} if !defined($section->{content});
        $section->{shared} = 1
            if grep { $_ eq $section->{type} } @PVE::Storage::Plugin::SHARED_STORAGE;
    }
    return { ids => $ids, order => $order, digest => sha1_hex($raw) };
}

sub storage_config {
    my ($cfg, $storeid, $noerr) = @_;
    die "no storage ID specified\n" if !$storeid;
    my $scfg = $cfg->{ids}->{$storeid};
    die "storage '$storeid' does not exist\n" if !$scfg && !$noerr;
    return $scfg;
}

sub parse_volume_id {
    my ($volid, $noerr) = @_;
    return PVE::Storage::Plugin::parse_volume_id($volid, $noerr);
}

1;
