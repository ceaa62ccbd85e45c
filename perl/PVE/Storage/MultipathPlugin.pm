package PVE::Storage::MultipathPlugin;

# Storage type 'multipath': the LUNs allow-listed in the cluster's multipath
# configuration that have a map on this node, as raw volumes named by WWID
# at their stable path /dev/disk/by-id/dm-uuid-mpath-<wwid>. Meant as the
# `base` of a shared LVM storage; volumes are never created or freed here.
#
# Every entry point that takes a volume checks it: a WWID by the one rule
# (PVE::Multipath::Config::check_wwid) that is allow-listed in the cluster
# config, so no map outside it (a node's own boot-from-SAN LUN) is ever
# handed out. A LUN that is the base of another storage is no guest disk:
# parse_volname, which Proxmox VE asks before a volume becomes or runs as a
# guest disk (attach, VM start, free), refuses it naming that storage, while
# path and activate_volume, through which the LVM plugin sets up its base,
# keep serving it.

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

# { wwid => storeid } for every LVM storage whose base is a LUN of a
# multipath storage; the API's used-by shows the same.
sub consumers {
    my ($storage_cfg) = @_;
    my $consumers = {};
    my $ids = $storage_cfg->{ids};
    for my $storeid (sort keys $ids->%*) {
        my $scfg = $ids->{$storeid};
        next if ($scfg->{type} // '') ne 'lvm' || !defined($scfg->{base});
        my ($base_id, $wwid) = PVE::Storage::parse_volume_id($scfg->{base}, 1);
        next if !defined($wwid) || ($ids->{$base_id}->{type} // '') ne 'multipath';
        $consumers->{$wwid} = $storeid;
    }
    return $consumers;
}

my sub allow_list {
    my $cfg = PVE::Multipath::ClusterConfig::read_config();
    return { map { $_ => 1 } PVE::Multipath::Config::wwid_list($cfg)->@* };
}

# The WWID a volume name is, if it is allow-listed; dies otherwise.
my sub allowed_wwid {
    my ($volname) = @_;
    die "multipath volume name missing\n" if !defined($volname);
    my $wwid = eval { PVE::Multipath::Config::check_wwid("$volname") };
    die "unable to parse multipath volume name - $@" if $@;
    die "WWID '$wwid' is not allow-listed in the cluster's multipath configuration\n"
        if !allow_list()->{$wwid};
    return $wwid;
}

# The storage config. PVE::Storage loads this plugin, so it cannot be `use`d
# here; it is loaded whenever PVE runs a plugin, but not for a caller that
# loads the plugin alone.
my sub storage_config {
    require PVE::Storage;
    return PVE::Storage::config();
}

# Allow-listed and consumed by no other storage: what may be a guest disk.
my sub guest_disk_wwid {
    my ($volname) = @_;
    my $wwid = allowed_wwid($volname);
    my $consumer = consumers(storage_config())->{$wwid};
    die "WWID '$wwid' is the base of storage '$consumer' and cannot be used as a guest disk\n"
        if defined($consumer);
    return $wwid;
}

sub parse_volname {
    my ($class, $volname) = @_;
    my $wwid = guest_disk_wwid($volname);
    return ('images', $wwid, undef, undef, undef, undef, 'raw');
}

sub filesystem_path {
    my ($class, $scfg, $volname, $snapname) = @_;
    die "snapshots are not supported on multipath LUNs\n" if defined($snapname);
    my $wwid = allowed_wwid($volname);
    my $path = "/dev/disk/by-id/dm-uuid-mpath-$wwid";
    return wantarray ? ($path, undef, 'images') : $path;
}

sub path {
    my ($class, $scfg, $volname, $storeid, $snapname) = @_;
    return $class->filesystem_path($scfg, $volname, $snapname);
}

# Refused for a name that is not a guest disk with that reason first.
sub alloc_image {
    my ($class, $storeid, $scfg, $vmid, $fmt, $name, $size) = @_;
    guest_disk_wwid($name) if defined($name);
    die "multipath LUNs are not allocated - attach an allow-listed LUN as an existing disk\n";
}

sub free_image {
    my ($class, $storeid, $scfg, $volname, $isBase, $format) = @_;
    guest_disk_wwid($volname);
    die "multipath LUNs are not freed - remove the WWID from the multipath allow-list\n";
}

sub create_base {
    my ($class, $storeid, $scfg, $volname) = @_;
    guest_disk_wwid($volname);
    die "create_base is not supported on multipath LUNs\n";
}

sub clone_image {
    my ($class, $scfg, $storeid, $volname, $vmid, $snap) = @_;
    guest_disk_wwid($volname);
    die "clone_image is not supported on multipath LUNs\n";
}

sub volume_resize {
    my ($class, $scfg, $storeid, $volname, $size, $running) = @_;
    guest_disk_wwid($volname);
    die "volume_resize is not supported on multipath LUNs - resize the LUN on the SAN\n";
}

# The allow-listed, unconsumed WWIDs with a map on this node.
sub list_images {
    my ($class, $storeid, $scfg, $vmid, $vollist) = @_;
    return [] if defined($vmid);
    my $allowed = allow_list();
    my $consumed = consumers(storage_config());
    my $wanted = $vollist ? { map { $_ => 1 } $vollist->@* } : undef;
    my $images = [];
    for my $map (PVE::Multipath::get_maps()->@*) {
        my $wwid = $map->{wwid} // next;
        next if !$allowed->{$wwid} || defined($consumed->{$wwid});
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
    my ($class, $storeid, $scfg, $volname, $snapname, $cache, $hints) = @_;
    my $wwid = allowed_wwid($volname);
    PVE::Multipath::wait_for_map($wwid, 10)
        or die "no multipath map for WWID '$wwid' on this node\n";
    return 1;
}

# The map is shared by every guest and storage on the LUN; it stays.
sub deactivate_volume {
    my ($class, $storeid, $scfg, $volname, $snapname, $cache) = @_;
    allowed_wwid($volname);
    return 1;
}

sub volume_size_info {
    my ($class, $scfg, $storeid, $volname, $timeout) = @_;
    my (undef, $wwid) = $class->parse_volname($volname);
    my $map = PVE::Multipath::get_map_for_wwid($wwid)
        or die "no multipath map for WWID '$wwid' on this node\n";
    my $size = $map->{size} // die "size of the multipath map for WWID '$wwid' unknown\n";
    return wantarray ? ($size, 'raw', $size, undef) : $size;
}

sub volume_has_feature {
    my ($class, $scfg, $feature, $storeid, $volname, $snapname, $running, $opts) = @_;
    $class->parse_volname($volname);
    return undef;
}

sub volume_export_formats { return () }

sub volume_import_formats { return () }

1;
