#!/usr/bin/perl

# The multipath storage through the REAL pve-storage (PVE::Storage and its
# plugin base, the real cfs, the calls qemu-server makes), run under the
# real-PVE harness (../shared/tools/real-pve, see its README):
#
#   PVE_UPSTREAM_SRC=/work/pve-upstream PVE_MULTIPATH_DIR=$PWD PVE_PATCHED_SRC=DIR \
#       ../shared/tools/real-pve/run prove tests/real-pve/storage-guest-disks.pl
#
# PVE_PATCHED_SRC is what the harness's apply-patches makes: pve-cluster
# must know multipath.cfg, and the patched pve-storage registers the plugin
# and has the LVM on_add_hook for a multipath base. With an unpatched
# pve-storage (PVE_STORAGE_SRC) the plugin is registered after the fact, as
# a third-party plugin, and the hook is skipped.
#
# The node has three maps: an allow-listed free LUN, an allow-listed LUN
# under the LVM storage 'vmdata', and the node's own boot LUN, which is not
# allow-listed. What qemu-server asks before a guest uses a volume
# (check_volume_access and parse_volname on attach, qemu_blockdev_options on
# start) and what pvesm/the API do (vdisk_alloc, vdisk_free, vdisk_list)
# refuse the base and the boot LUN; what the LVM plugin does with its base
# (path, activate_volumes, on_add_hook) keeps working.

use strict;
use warnings;
no warnings 'once';

use File::Path qw(make_path);
use JSON qw(decode_json encode_json);
use Test::More;

use PVE::RPCEnvironment;
use PVE::Storage;
use PVE::Tools qw(file_get_contents file_set_contents);

my $ROOT = $ENV{PVE_MULTIPATH_DIR} // die "PVE_MULTIPATH_DIR not set\n";
my $tmp = $ENV{REAL_PVE_TMP} // die "run me under the real-PVE harness's 'run'\n";
my $FREE = '35000c50015ea71ac';
my $BASE = '3600a098038314b2d4a5d4e6f2f6b4d31';
my $BOOT = '3600508b1001c3a8f1e5e5c2a7a2e0b01';

my $patched = eval { PVE::Storage::Plugin->lookup('multipath') };
if (!$patched) {
    require PVE::Storage::MultipathPlugin;
    PVE::Storage::MultipathPlugin->register();
    PVE::Storage::Plugin->init();
}
is(PVE::Storage::Plugin->lookup('multipath'), 'PVE::Storage::MultipathPlugin', 'plugin registered')
    or BAIL_OUT('no multipath plugin');

require PVE::Multipath;
$PVE::Multipath::STATE_DIR = "$tmp/state";
$PVE::Multipath::MULTIPATH = "$ROOT/tests/bin/multipath";
$PVE::Multipath::MULTIPATHD = "$ROOT/tests/bin/multipathd";
$PVE::Multipath::SYSFS = "$tmp/sys";
$PVE::Multipath::PROC_MOUNTS = "$tmp/mounts";
file_set_contents("$tmp/mounts", '');

my $capture = decode_json(file_get_contents("$ROOT/fixtures/maps/scsi-01-optimal.json"));
my ($template) = $capture->{maps}->@*;
my @maps;
for my $lun ([$FREE, 0], [$BASE, 1], [$BOOT, 2]) {
    my ($wwid, $n) = $lun->@*;
    push @maps, { $template->%*, uuid => $wwid, name => "mpath$n", sysfs => "dm-$n" };
    make_path("$tmp/sys/block/dm-$n/holders");
    file_set_contents("$tmp/sys/block/dm-$n/size", "2048\n");
}
file_set_contents("$tmp/maps.json", encode_json({ $capture->%*, maps => \@maps }));
$ENV{MULTIPATHD_STANDIN_MAPS} = "$tmp/maps.json";

file_set_contents('/etc/pve/multipath.cfg', "wwid: $FREE\n\nwwid: $BASE\n\n");
file_set_contents('/etc/pve/storage.cfg',
    "multipath: san\n\tcontent images\n\nlvm: vmdata\n\tbase san:$BASE\n\tvgname vmdata\n\n");
my $cfg = PVE::Storage::config();

my $rpcenv = PVE::RPCEnvironment->init('cli');
$rpcenv->set_user('root@pam');

my $NOT_LISTED =
    qr/^WWID '\Q$BOOT\E' is not allow-listed in the cluster's multipath configuration\n/;
my $CONSUMED =
    qr/^WWID '\Q$BASE\E' is the base of storage 'vmdata' and cannot be used as a guest disk\n/;
# refused by the plugin, or already by PVE's parse_volume_id
my $ODD_OURS = qr/unable to parse multipath volume name - invalid WWID '[^\n]*': value [^\n]*\n/;
my $ODD_PVES = qr/unable to parse volume ID '.*'\n\z/s;
my $ODD = qr/^(?:$ODD_OURS|$ODD_PVES)/;

# a guest disk: attach (qemu-server's API), start, allocate, free
my %guest = (
    'check_volume_access (attach)' => sub {
        PVE::Storage::check_volume_access($rpcenv, 'root@pam', $cfg, 100, $_[0]);
        return [(PVE::Storage::parse_volname($cfg, $_[0]))[0]];
    },
    'qemu_blockdev_options (start)' => sub {
        PVE::Storage::qemu_blockdev_options($cfg, $_[0], '10.0', {});
    },
    'vdisk_alloc' => sub {
        my ($storeid, $volname) = PVE::Storage::parse_volume_id($_[0]);
        PVE::Storage::vdisk_alloc($cfg, $storeid, 100, 'raw', $volname, 1024);
    },
    'vdisk_free' => sub { PVE::Storage::vdisk_free($cfg, $_[0]) },
    'volume_size_info' => sub { [PVE::Storage::volume_size_info($cfg, $_[0], 5)] },
);
# the LVM plugin on its base
my %lvm_base = (
    'path' => sub { scalar(PVE::Storage::path($cfg, $_[0])) },
    'activate_volumes' => sub { PVE::Storage::activate_volumes($cfg, [$_[0]]); 'activated' },
);

my @cases = (
    ['check_volume_access (attach)', "san:$FREE", ['images']],
    # past every check to the device node, which this machine does not have
    [
        'qemu_blockdev_options (start)', "san:$FREE",
        qr{^stat for '/dev/disk/by-id/dm-uuid-mpath-$FREE' failed},
    ],
    ['volume_size_info', "san:$FREE", [1048576, 'raw', 1048576, undef]],
    ['vdisk_alloc', "san:$FREE", qr/^multipath LUNs are not allocated/],
    ['vdisk_free', "san:$FREE", qr/^multipath LUNs are not freed/],
    ['path', "san:$FREE", "/dev/disk/by-id/dm-uuid-mpath-$FREE"],
    ['activate_volumes', "san:$FREE", 'activated'],
    (map { [$_, "san:$BASE", $CONSUMED] } sort keys %guest),
    ['path', "san:$BASE", "/dev/disk/by-id/dm-uuid-mpath-$BASE"],
    ['activate_volumes', "san:$BASE", 'activated'],
    (map { [$_, "san:$BOOT", $NOT_LISTED] } sort(keys %guest), sort(keys %lvm_base)),
    (
        map {
            my $volid = $_;
            map { [$_, $volid, $ODD] } sort(keys %guest), sort(keys %lvm_base)
        } ("san:$FREE\n\n", "san:$FREE\0", "san:../../$FREE", "san:-f", "san:$FREE x")
    ),
);
my %entry = (%guest, %lvm_base);
for my $case (@cases) {
    my ($what, $volid, $expected) = $case->@*;
    my $shown = $volid =~ s/([^\x21-\x7e])/sprintf('\\x{%x}', ord($1))/ger;
    my $result = eval { $entry{$what}->($volid) };
    my $err = $@;
    if (ref($expected) eq 'Regexp') {
        # PVE's volume_size_info answers 0 for a volume ID it cannot parse
        if (!$err && $what eq 'volume_size_info' && !PVE::Storage::parse_volume_id($volid, 1)) {
            is_deeply($result, [0], "$what($shown): PVE itself finds no volume");
            next;
        }
        like($err, $expected, "$what($shown) is refused");
    } else {
        is($err, '', "$what($shown) works");
        is_deeply($result, $expected, "$what($shown) result");
    }
}

# a trailing newline: PVE's own parse_volume_id (`$`) drops it before the
# plugin sees the name; either way no path may end in one
my $path = eval { PVE::Storage::path($cfg, "san:$FREE\n") } // '';
unlike($path, qr/\n/, 'no path with a newline for a volume ID with one');

is_deeply(
    [map { $_->{volid} } PVE::Storage::vdisk_list($cfg, 'san')->{san}->@*],
    ["san:$FREE"], 'vdisk_list offers only the allow-listed LUN nobody consumes',
);
is_deeply(
    [map { $_->{volid} } PVE::Storage::volume_list($cfg, 'san', undef, 'images')->@*],
    ["san:$FREE"], 'volume_list likewise',
);

SKIP: {
    skip('unpatched pve-storage: no LVM on_add_hook for a multipath base', 2) if !$patched;
    my @vg;
    no warnings 'redefine';
    local *PVE::Storage::LVMPlugin::lvm_create_volume_group = sub { push @vg, [@_] };
    my $ok = eval { PVE::Storage::LVMPlugin->on_add_hook('vmdata', $cfg->{ids}->{vmdata}); 1 };
    is($@, '', "the patched LVM on_add_hook on its base san:$BASE works");
    is($vg[0]->[0] // '', "/dev/disk/by-id/dm-uuid-mpath-$BASE",
        'and reaches vgcreate on its path');
}

done_testing();
