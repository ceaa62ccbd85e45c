#!/usr/bin/perl

# PVE::Storage::MultipathPlugin on the storage stand-ins: every entry point
# that takes a volume hands out only allow-listed LUNs, a LUN that is the
# base of an LVM storage is no guest disk (but stays reachable for the LVM
# plugin's own path/activation), and odd names are refused with a clear,
# short message. The node has three maps: an allow-listed free LUN, an
# allow-listed LUN under the LVM storage 'vmdata', and its own boot LUN,
# which is not allow-listed.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON qw(decode_json encode_json);
use Test::More;

use PVE::Multipath::TestEnv;
use PVE::Cluster;
use PVE::Storage;
use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::Multipath;
use PVE::Multipath::Config;
use PVE::Storage::MultipathPlugin;

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $FREE = '35000c50015ea71ac';
my $BASE = '3600a098038314b2d4a5d4e6f2f6b4d31';
my $BOOT = '3600508b1001c3a8f1e5e5c2a7a2e0b01';
my $PLUGIN = 'PVE::Storage::MultipathPlugin';

my $tmp = tempdir(CLEANUP => 1);
my $pve = PVE::Multipath::TestEnv::cfs_dir();
$PVE::Multipath::STATE_DIR = "$tmp/state";
$PVE::Multipath::MULTIPATH = "$ROOT/tests/bin/multipath";
$PVE::Multipath::MULTIPATHD = "$ROOT/tests/bin/multipathd";
$PVE::Multipath::SYSFS = "$tmp/sys";
$PVE::Multipath::PROC_MOUNTS = "$tmp/mounts";
file_set_contents("$tmp/mounts", '');

# the real capture's map, three times with the WWIDs above
my $capture = decode_json(file_get_contents("$ROOT/fixtures/maps/scsi-01-optimal.json"));
my ($template) = $capture->{maps}->@*;
my @maps;
for my $lun ([$FREE, 0], [$BASE, 1], [$BOOT, 2]) {
    my ($wwid, $n) = $lun->@*;
    push @maps, { $template->%*, uuid => $wwid, name => "mpath$n", sysfs => "dm-$n" };
    make_path("$tmp/sys/block/dm-$n/holders");
    file_set_contents("$tmp/sys/block/dm-$n/size", 2048 * ($n + 1) . "\n");
}
file_set_contents("$tmp/maps.json", encode_json({ $capture->%*, maps => \@maps }));
$ENV{MULTIPATHD_STANDIN_MAPS} = "$tmp/maps.json";

file_set_contents("$pve/multipath.cfg", "wwid: $FREE\n\nwwid: $BASE\n\talias vmdata-lun\n\n");
file_set_contents("$pve/storage.cfg",
    "multipath: san\n\nlvm: vmdata\n\tbase san:$BASE\n\tvgname vmdata\n\tshared 1\n\n");
my $scfg = PVE::Storage::config()->{ids}->{san};

my $NOT_LISTED =
    qr/^WWID '\Q$BOOT\E' is not allow-listed in the cluster's multipath configuration\n\z/;
my $CONSUMED =
    qr/^WWID '\Q$BASE\E' is the base of storage 'vmdata' and cannot be used as a guest disk\n\z/;
my $ODD = qr/^unable to parse multipath volume name - invalid WWID '[^\n]*': value [^\n]*\n\z/;

# the entry points that take a volume, each as a call on a volume name
my %entry = (
    parse_volname => sub { [$PLUGIN->parse_volname($_[0])] },
    path => sub { scalar($PLUGIN->path($scfg, $_[0], 'san')) },
    filesystem_path => sub { scalar($PLUGIN->filesystem_path($scfg, $_[0])) },
    activate_volume => sub { $PLUGIN->activate_volume('san', $scfg, $_[0]) },
    deactivate_volume => sub { $PLUGIN->deactivate_volume('san', $scfg, $_[0]) },
    volume_size_info => sub { [$PLUGIN->volume_size_info($scfg, 'san', $_[0], 5)] },
    volume_has_feature => sub { $PLUGIN->volume_has_feature($scfg, 'copy', 'san', $_[0]) },
    alloc_image => sub { $PLUGIN->alloc_image('san', $scfg, 100, 'raw', $_[0], 1024) },
    free_image => sub { $PLUGIN->free_image('san', $scfg, $_[0]) },
    create_base => sub { $PLUGIN->create_base('san', $scfg, $_[0]) },
    clone_image => sub { $PLUGIN->clone_image($scfg, 'san', $_[0], 100) },
    volume_resize => sub { $PLUGIN->volume_resize($scfg, 'san', $_[0], 1024) },
);

my $by_id = "/dev/disk/by-id/dm-uuid-mpath";
my $UNSUPPORTED = qr/^(?:multipath LUNs are not (?:allocated|freed)|\w+ is not supported)/;

# [entry point, volume name, expected result or error pattern]
my @cases = (
    # the normal path: an allow-listed LUN nobody consumes
    [parse_volname => $FREE, ['images', $FREE, undef, undef, undef, undef, 'raw']],
    [path => $FREE, "$by_id-$FREE"],
    [filesystem_path => $FREE, "$by_id-$FREE"],
    [activate_volume => $FREE, 1],
    [deactivate_volume => $FREE, 1],
    [volume_size_info => $FREE, [1048576, 'raw', 1048576, undef]],
    [volume_has_feature => $FREE, undef],
    [alloc_image => $FREE, $UNSUPPORTED],
    [free_image => $FREE, $UNSUPPORTED],
    [volume_resize => $FREE, $UNSUPPORTED],
    # the LVM storage's base: still there for the LVM plugin, no guest disk
    [path => $BASE, "$by_id-$BASE"],
    [activate_volume => $BASE, 1],
    [deactivate_volume => $BASE, 1],
    (
        map { [$_ => $BASE, $CONSUMED] }
            qw(parse_volname volume_size_info volume_has_feature alloc_image free_image
            create_base clone_image volume_resize)
    ),
    # a map this node has that the cluster did not allow-list
    (map { [$_ => $BOOT, $NOT_LISTED] } sort keys %entry),
    # odd names: one rule (no `$` that lets a trailing newline through)
    (
        map {
            my $name = $_;
            map { [$_ => $name, $ODD] } sort keys %entry
        } (
            "$FREE\n", "$FREE\n\n", "\n$FREE", "$FREE\0",
            "$FREE/../x", '../etc/passwd', '', '-f',
            "$FREE ", "3600\x{e9}", $FREE . ('0' x 200)
        )
    ),
    (
        map { [$_ => undef, qr/^multipath volume name missing\n\z/] }
        grep { $_ ne 'alloc_image' } sort keys %entry
    ),
    [alloc_image => undef, $UNSUPPORTED],    # a new disk, which a LUN never is
);

for my $case (@cases) {
    my ($entry, $volname, $expected) = $case->@*;
    my $name =
        defined($volname)
        ? $volname =~ s/([^\x21-\x7e])/sprintf('\\x{%x}', ord($1))/ger
        : 'undef';
    $name = substr($name, 0, 40) . '...' if length($name) > 40;
    my $result = eval { $entry{$entry}->($volname) };
    my $err = $@;
    if (ref($expected) eq 'Regexp') {
        like($err, $expected, "$entry($name) is refused");
        cmp_ok(length($err), '<', 200, "$entry($name): the message stays short");
    } else {
        is($err, '', "$entry($name) works");
        is_deeply($result, $expected, "$entry($name) result");
    }
}

# the message for an odd name shows where it is odd
eval { $PLUGIN->parse_volname("$FREE\n") };
like($@, qr/'\Q$FREE\E\\n'/, 'a trailing newline is shown escaped');

# what the storage offers
my $listed = $PLUGIN->list_images('san', $scfg);
is_deeply([map { $_->{volid} } $listed->@*],
    ["san:$FREE"], 'list_images offers only the allow-listed LUN nobody consumes');
is_deeply(
    [map { $_->{volid} } $PLUGIN->list_images('san', $scfg, undef, ["san:$BASE", "san:$BOOT"])->@*],
    [],
    'not even when asked for the others by name',
);
is_deeply($PLUGIN->list_images('san', $scfg, 100), [], 'no LUN belongs to a guest');
is_deeply(
    [
        map { [$_->{volid}, $_->{content}] }
            $PLUGIN->list_volumes('san', $scfg, undef, ['images'])->@*
    ],
    [["san:$FREE", 'images']],
    'list_volumes likewise',
);

# once the LVM storage is gone, its LUN is a guest disk candidate again
file_set_contents("$pve/storage.cfg", "multipath: san\n\n");
is_deeply(
    [map { $_->{volid} } $PLUGIN->list_images('san', $scfg)->@*],
    ["san:$FREE", "san:$BASE"],
    'an unconsumed LUN is offered'
);
is(($PLUGIN->parse_volname($BASE))[1], $BASE, 'and parses');

# the consumers lookup is the one the API's used-by shows
file_set_contents("$pve/storage.cfg",
          "multipath: san\n\nmultipath: san2\n\nlvm: vmdata\n\tbase san2:$BASE\n\tvgname vg1\n\n"
        . "lvm: local-lvm\n\tvgname pve\n\n"
        . "iscsi: tgt\n\tportal 192.0.2.1\n\ttarget iqn.2000-01.test:t\n\n"
        . "lvm: oniscsi\n\tbase tgt:0.0.1.scsi-3600b\n\tvgname vg2\n\n");
is_deeply(
    PVE::Storage::MultipathPlugin::consumers(PVE::Storage::config()),
    { $BASE => 'vmdata' },
    'consumers: LVM bases on any multipath storage, keyed by WWID',
);
eval { $PLUGIN->parse_volname($BASE) };
like($@, $CONSUMED, 'a LUN consumed through another multipath storage is no guest disk either');

# the one WWID rule: the API's parameter schema says what check_wwid does,
# except the trailing newline PVE::JSONSchema's anchored pattern lets through
my $schema = PVE::Multipath::Config::wwid_schema('x');
my @rule_disagree;
my @texts = ($FREE, 'eui.0025385b71b0e3c4', '3' x 122, '3' x 123, '-f', 'a b', '', "a\0", "\x{e9}");
for my $text (@texts) {
    my $by_schema = length($text) <= $schema->{maxLength} && $text =~ m/^(?:$schema->{pattern})$/;
    my $by_rule = eval { PVE::Multipath::Config::check_wwid($text) } ? 1 : 0;
    push @rule_disagree, $text if !!$by_schema != !!$by_rule;
}
is_deeply(\@rule_disagree, [], 'the API schema of a WWID and check_wwid agree');

done_testing();
