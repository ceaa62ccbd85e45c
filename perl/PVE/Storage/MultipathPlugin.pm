package PVE::Storage::MultipathPlugin;

# Storage type 'multipath': the allow-listed LUNs that have a map on this
# node, as raw volumes named by WWID at their stable path
# /dev/disk/by-id/dm-uuid-mpath-<wwid>. Meant as the `base` of a shared LVM
# storage; volumes are never created or freed here.

use strict;
use warnings;

use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;

use base qw(PVE::Storage::Plugin);

# A LUN is the same on every node: migrating a disk on it moves nothing.
push @PVE::Storage::Plugin::SHARED_STORAGE, 'multipath'
    if !grep { $_ eq 'multipath' } @PVE::Storage::Plugin::SHARED_STORAGE;

sub api { return 15 }

sub type { return 'multipath' }

sub plugindata {
    return { content => [{ images => 1, none => 1 }, { images => 1 }] };
}

sub properties { return {} }

sub options {
    return {
        nodes => { optional => 1 },
        shared => { optional => 1 },
        disable => { optional => 1 },
        content => { optional => 1 },
    };
}

my $WWID_RE = qr/[a-zA-Z0-9][a-zA-Z0-9._:-]*/;

sub parse_volname {
    my ($class, $volname) = @_;
    return ('images', $volname, undef, undef, undef, undef, 'raw') if $volname =~ m/^$WWID_RE$/;
    die "unable to parse multipath volume name '$volname'\n";
}

sub filesystem_path {
    my ($class, $scfg, $volname, $snapname) = @_;
    die "snapshots are not supported on multipath LUNs\n" if defined($snapname);
    my ($vtype, $wwid) = $class->parse_volname($volname);
    my $path = "/dev/disk/by-id/dm-uuid-mpath-$wwid";
    return wantarray ? ($path, undef, $vtype) : $path;
}

sub path {
    my ($class, $scfg, $volname, $storeid, $snapname) = @_;
    return $class->filesystem_path($scfg, $volname, $snapname);
}

for my $unsupported (qw(create_base clone_image alloc_image free_image volume_resize)) {
    no strict 'refs';
    *{$unsupported} = sub { die "$unsupported is not supported on multipath LUNs\n" };
}

# The allow-listed WWIDs with a map on this node.
sub list_images {
    my ($class, $storeid, $scfg, $vmid, $vollist) = @_;
    return [] if defined($vmid);
    my $allowed = { map { $_ => 1 }
            PVE::Multipath::Config::wwid_list(PVE::Multipath::ClusterConfig::read_config(),)->@* };
    my $wanted = $vollist ? { map { $_ => 1 } $vollist->@* } : undef;
    my $images = [];
    for my $map (PVE::Multipath::get_maps()->@*) {
        my $wwid = $map->{wwid} // next;
        next if !$allowed->{$wwid};
        my $volid = "$storeid:$wwid";
        next if $wanted && !$wanted->{$volid};
        push $images->@*, { volid => $volid, format => 'raw', size => $map->{size} // 0 };
    }
    return $images;
}

sub list_volumes {
    my ($class, $storeid, $scfg, $vmid, $content_types) = @_;
    my $volumes = $class->list_images($storeid, $scfg, $vmid);
    $_->{content} = 'images' for $volumes->@*;
    return $volumes;
}

sub status {
    my ($class, $storeid, $scfg, $cache) = @_;
    my $active = PVE::Multipath::is_running() ? 1 : 0;
    return (0, 0, 0, $active);
}

sub check_connection {
    my ($class, $storeid, $scfg) = @_;
    return PVE::Multipath::is_running() ? 1 : 0;
}

sub activate_storage {
    my ($class, $storeid, $scfg, $cache) = @_;
    PVE::Multipath::assert_supported();
    die "multipathd is not running\n" if !PVE::Multipath::is_running();
    return 1;
}

# Wait for the map: after a login or rescan it may take multipathd a moment.
sub activate_volume {
    my ($class, $storeid, $scfg, $volname, $snapname, $cache) = @_;
    my (undef, $wwid) = $class->parse_volname($volname);
    PVE::Multipath::wait_for_map($wwid, 10)
        or die "no multipath map for WWID '$wwid' on this node\n";
    return 1;
}

sub deactivate_volume { return 1 }

sub volume_has_feature { return undef }

sub volume_export_formats { return () }

sub volume_import_formats { return () }

1;
