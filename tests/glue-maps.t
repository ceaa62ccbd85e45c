#!/usr/bin/perl

# PVE::Multipath's multipathd and sysfs glue on real captures: get_maps with
# a fake sysfs tree (size, holders, mounts, per-path transport), and the
# checks on multipathd's output, whose exit code says nothing.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Test::More;

use PVE::Multipath;
use PVE::Tools qw(file_set_contents);

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $tmp = tempdir(CLEANUP => 1);

$PVE::Multipath::MULTIPATH = "$ROOT/tests/bin/multipath";
$PVE::Multipath::MULTIPATHD = "$ROOT/tests/bin/multipathd";
$PVE::Multipath::SYSFS = "$tmp/sys";
$PVE::Multipath::PROC_MOUNTS = "$tmp/mounts";

make_path(
    "$tmp/sys/block/dm-0/holders",
    "$tmp/sys/devices/platform/host6/session1/target6:0:0/6:0:0:1/block/sda",
    "$tmp/sys/devices/pci0000:00/0000:00:02.0/virtio1/host0/target0:0:0/0:0:0:0/block/sdb"
);
file_set_contents("$tmp/sys/block/dm-0/size", "67108864\n");
symlink("../devices/platform/host6/session1/target6:0:0/6:0:0:1/block/sda", "$tmp/sys/block/sda");
symlink("../devices/pci0000:00/0000:00:02.0/virtio1/host0/target0:0:0/0:0:0:0/block/sdb",
    "$tmp/sys/block/sdb");
file_set_contents("$tmp/mounts", "/dev/vda / ext4 rw 0 0\n");

ok(PVE::Multipath::is_supported(), 'supported with both commands present');
ok(PVE::Multipath::is_running(), 'running: show daemon answers with a pid');
is(PVE::Multipath::HEALTH_DEGRADED, 'degraded', 'health constants come from the library');

my @cases = (
    {
        what => 'optimal capture',
        capture => 'scsi-01-optimal.json',
        health => 'optimal',
        'paths-total' => 2,
    },
    {
        what => 'one path offline',
        capture => 'scsi-02-one-path-offline.json',
        health => 'degraded',
        'paths-total' => 2,
    },
    {
        what => 'one path removed',
        capture => 'scsi-04-one-path-removed.json',
        health => 'optimal',
        'paths-total' => 1,
    },
);

for my $case (@cases) {
    local $ENV{MULTIPATHD_STANDIN_MAPS} = "$ROOT/fixtures/maps/$case->{capture}";
    my ($map) = PVE::Multipath::get_maps()->@*;
    is($map->{health}, $case->{health}, "$case->{what}: health");
    is($map->{'paths-total'}, $case->{'paths-total'}, "$case->{what}: paths");
    is($map->{size}, 67108864 * 512, "$case->{what}: size from sysfs sectors");
    is($map->{path}, '/dev/disk/by-id/dm-uuid-mpath-35000c50015ea71ac',
        "$case->{what}: by-id path");
    is($map->{used}, 0, "$case->{what}: no holders, not mounted: not in use");
}

{
    local $ENV{MULTIPATHD_STANDIN_MAPS} = "$ROOT/fixtures/maps/scsi-01-optimal.json";
    my ($map) = PVE::Multipath::get_maps()->@*;
    my %transport =
        map { $_->{dev} => $_->{transport} } map { $_->{paths}->@* } $map->{'path-groups'}->@*;
    is($transport{sda}, 'iscsi', 'a path below an iSCSI session is iscsi');
    is($transport{sdb}, undef, 'a virtio path has no known transport');
    is($map->{transport}, 'iscsi', 'map transport when the known ones agree');

    make_path("$tmp/sys/block/dm-0/holders/dm-3");
    ($map) = PVE::Multipath::get_maps()->@*;
    is_deeply($map->{holders}, ['dm-3'], 'holders listed');
    is($map->{used}, 1, 'a map with holders is in use');
    rmdir("$tmp/sys/block/dm-0/holders/dm-3");

    file_set_contents("$tmp/mounts", "/dev/mapper/labmp0 /mnt/data xfs rw 0 0\n");
    ($map) = PVE::Multipath::get_maps()->@*;
    is($map->{mountpoint}, '/mnt/data', 'a mounted map is found by its mapper name');
    is($map->{used}, 1, 'a mounted map is in use');
    file_set_contents("$tmp/mounts", "");

    is(PVE::Multipath::get_map_for_wwid('35000c50015ea71ac')->{name}, 'labmp0', 'map by WWID');
    is(PVE::Multipath::get_map_for_wwid('3600nothere'), undef, 'no map for an unknown WWID');
}

{
    # multipathd answers a command it does not know with its help, exit 0
    local $ENV{MULTIPATHD_STANDIN_MAPS} = "$tmp/help";
    file_set_contents("$tmp/help", "show paths json\n: Missing argument\nmultipathd [options]\n");
    eval { PVE::Multipath::get_maps() };
    like(
        $@,
        qr/^multipathd: unexpected reply to 'show maps json': show paths json\n/,
        'a non-JSON reply is an error, whatever the exit code'
    );
}

{
    # the installed version, from dpkg: epoch and Debian revision off, asked once
    local $PVE::Multipath::DPKG_QUERY = "$tmp/dpkg-query";
    file_set_contents("$tmp/dpkg-query", "#!/bin/sh\nprintf '1:0.11.1-2+b1'\n");
    chmod(0755, "$tmp/dpkg-query");
    is(PVE::Multipath::multipath_tools_version(), '0.11.1', 'multipath-tools version from dpkg');
    file_set_contents("$tmp/dpkg-query", "#!/bin/sh\nprintf '0.9.4-3'\n");
    is(PVE::Multipath::multipath_tools_version(),
        '0.11.1', 'asked once while multipath is unchanged');
    local $PVE::Multipath::MULTIPATH = "$tmp/none";
    is(PVE::Multipath::multipath_tools_version(), undef, 'none without multipath');
}

{
    local $PVE::Multipath::MULTIPATHD = "$tmp/none";
    ok(!PVE::Multipath::is_supported(), 'not supported without multipathd');
    ok(!PVE::Multipath::is_running(), 'and not running');
    eval { PVE::Multipath::get_maps() };
    like($@, qr/please install 'multipath-tools'/, 'get_maps says what is missing');
}

done_testing();
