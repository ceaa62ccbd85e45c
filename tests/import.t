#!/usr/bin/perl

# Importing a node's own multipath setup: GET /nodes/{node}/disks/multipath/import
# reads the node's files and live maps (test copies, stand-in multipathd and a
# fake sysfs) and POST /cluster/multipath/import merges the proposal into a
# directory-backed pmxcfs.

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
use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::API2::Disks::Multipath;
use PVE::API2::Multipath;
use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Generator;
use PVE::Multipath::Import;
use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Status;

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $SAN = '35000c50015ea71ac';    # the WWID of the real capture, on iSCSI
my $BOOT = '35000c50015ea71ff';    # the same capture as a local disk
my $OTHER = '3600a098038314b2d4a5d4e6f2f6b4d31';    # multipaths entry, no map

my $tmp = tempdir(CLEANUP => 1);
my %dir = map { $_ => "$tmp/$_" } qw(conf.d state);
make_path(values %dir);
$dir{pve} = PVE::Multipath::TestEnv::cfs_dir();
$PVE::Multipath::STATE_DIR = $dir{state};
$PVE::Multipath::MULTIPATH = "$ROOT/tests/bin/multipath";
$PVE::Multipath::MULTIPATHD = "$ROOT/tests/bin/multipathd";
$PVE::Multipath::SYSFS = "$tmp/sys";
$PVE::Multipath::PROC_MOUNTS = "$tmp/mounts";
$PVE::Multipath::WWIDS_FILE = "$tmp/wwids";
$PVE::Multipath::Generator::CONF_D_DIR = $dir{'conf.d'};
$PVE::Multipath::Import::MULTIPATH_CONF = "$tmp/multipath.conf";
$PVE::Multipath::Import::BINDINGS_FILE = "$tmp/bindings";

# Two live maps: the capture's map below an iSCSI session, and a copy of it
# whose only path is a virtio disk (a local disk).
make_path(
    "$tmp/sys/block",
    "$tmp/sys/devices/platform/host6/session1/target6:0:0/6:0:0:1/block/sda",
    "$tmp/sys/devices/pci0000:00/0000:00:02.0/virtio1/host0/target0:0:0/0:0:0:0/block/vdb"
);
symlink("../devices/platform/host6/session1/target6:0:0/6:0:0:1/block/sda", "$tmp/sys/block/sda");
symlink("../devices/pci0000:00/0000:00:02.0/virtio1/host0/target0:0:0/0:0:0:0/block/vdb",
    "$tmp/sys/block/vdb");
file_set_contents("$tmp/mounts", "/dev/vda / ext4 rw 0 0\n");
my $capture = decode_json(file_get_contents("$ROOT/fixtures/maps/scsi-01-optimal.json"));
my $local = decode_json(encode_json($capture->{maps}->[0]));
$local->{uuid} = $BOOT;
$local->{name} = 'bootmp';
# a local disk multipath took: one path
$local->{path_groups} = [$local->{path_groups}->[0]];
$local->{path_groups}->[0]->{paths} =
    [{ $local->{path_groups}->[0]->{paths}->[0]->%*, dev => 'vdb' }];
$local->{paths} = 1;
push $capture->{maps}->@*, $local;
file_set_contents("$tmp/maps.json", encode_json($capture));
$ENV{MULTIPATHD_STANDIN_MAPS} = "$tmp/maps.json";

file_set_contents("$tmp/wwids", "# Valid WWIDs:\n/$SAN/\n/$BOOT/\n");
file_set_contents("$tmp/bindings", "mpatha $SAN\n");
file_set_contents("$tmp/multipath.conf", <<"EOC");
defaults {
	user_friendly_names yes
	find_multipaths yes
	checker_timeout 30
}
devices {
	device {
		vendor "NETAPP"
		product "LUN.*"
		no_path_retry queue
	}
}
multipaths {
	multipath {
		wwid $OTHER
		alias vmstore-a
		flush_on_last_del yes
	}
}
EOC
file_set_contents("$dir{'conf.d'}/local.conf", "defaults {\n\tpolling_interval 10\n}\n");
file_set_contents("$dir{'conf.d'}/pve-defaults.conf", "defaults {\n\tpolling_interval 99\n}\n");

my sub propose {
    my ($param) = @_;
    return PVE::Multipath::TestEnv::api_call('PVE::API2::Disks::Multipath', 'GET', 'import',
        { node => 'n1', ($param // {})->%* });
}

my sub import_proposal {
    my ($param) = @_;
    return PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'POST', 'import', $param);
}

my sub read_cfg { return PVE::Multipath::ClusterConfig::read_config() }

my $first = propose();
is_deeply(
    $first->{proposal},
    {
        defaults => {
            'find-multipaths' => 'yes',
            'user-friendly-names' => 'yes',
            'polling-interval' => 10,
        },
        wwids => { $SAN => {}, $OTHER => { alias => 'vmstore-a' } },
        overrides => "devices {\n\tdevice {\n\t\tvendor \"NETAPP\"\n\t\tproduct \"LUN.*\"\n"
            . "\t\tno_path_retry queue\n\t}\n}\ndefaults {\n\tchecker_timeout 30\n}\n",
    },
    'the proposal: knobs, the allow-listed SAN map, the multipaths alias, the overrides',
);

my @reported = map { [$_->{file}, $_->{line}, $_->{text}] } $first->{report}->@*;
is_deeply(
    \@reported,
    [
        ["$tmp/multipath.conf", 17, 'flush_on_last_del yes'],
        ['multipathd', 0, $BOOT],
        ['/etc/multipath/bindings', 0, "mpatha $SAN"],
    ],
    'the report names what stays behind: the unexpressible keyword, the local disk, bindings',
);
like($first->{report}->[1]->{reason}, qr/local disk/, 'the local map is never proposed');
is_deeply($first->{changes}, [], 'every managed default is set by the node itself');
is_deeply($first->{differences}, [], 'no differences against an empty cluster config');

is(propose({ 'use-bindings' => 1 })->{proposal}->{wwids}->{$SAN}->{alias},
    'mpatha', 'bindings names only when asked');

eval { PVE::Multipath::Config::import_propose({ files => 'x' }, 0) };
like(
    $@,
    qr/^import_propose: argument 'setup' at \{'files'\}: expected an array reference, got the string 'x'\n\z/,
    'a malformed node setup is refused with a clear error'
);

my $proposal_json = encode_json($first->{proposal});
my @steps = (
    [{ proposal => '{', }, qr/proposal: invalid JSON/, 'a broken proposal is refused',],
    [
        { proposal => '{"wwids":{"36aa":{"alias":"a b"}}}' },
        qr/36aa: alias: value does not match the regex pattern/,
        'every value of a proposal is checked against the schema',
    ],
    [
        { proposal => '{"overrides":"devices {\\n"}' },
        qr/unbalanced braces/,
        'an overrides text of a proposal is checked before anything is written',
        sub { ok(!-e "$dir{pve}/multipath.cfg", 'nothing written') },
    ],
    [
        { proposal => $proposal_json, wwids => '36ffff' },
        qr/WWID 36ffff is not part of the proposal/,
        'only WWIDs of the proposal can be chosen',
    ],
    [
        { proposal => $proposal_json, wwids => $SAN, defaults => 0, overrides => 0 },
        undef,
        'import one WWID only',
        sub {
            is_deeply([sort keys read_cfg()->{ids}->%*], [$SAN], 'only the chosen WWID');
            is(PVE::Multipath::ClusterConfig::read_overrides() // '', '', 'no overrides yet');
        },
    ],
    [
        { proposal => $proposal_json, digest => '0' x 40 },
        qr/detected modified configuration/,
        'a stale digest is refused',
    ],
    [
        { proposal => $proposal_json },
        undef,
        'import the rest',
        sub {
            my $cfg = read_cfg();
            is($cfg->{ids}->{$OTHER}->{alias}, 'vmstore-a', 'alias imported');
            is($cfg->{ids}->{defaults}->{'polling-interval'}, 10, 'defaults imported');
            is(
                PVE::Multipath::ClusterConfig::read_overrides(),
                $first->{proposal}->{overrides},
                'overrides imported'
            );
        },
    ],
    [
        { proposal => $proposal_json },
        undef,
        'importing the same proposal again is a no-op',
    ],
);
for my $step (@steps) {
    my ($param, $error, $name, $check) = $step->@*;
    eval { import_proposal($param) };
    if ($error) {
        like($@, $error, $name);
    } else {
        is($@, '', $name);
        $check->() if $check;
    }
}

# A second node: its own alias and tuning for the same LUN.
file_set_contents("$tmp/multipath.conf",
          "defaults {\n\tuser_friendly_names no\n}\n"
        . "multipaths {\n\tmultipath {\n\t\twwid $OTHER\n\t\talias lun-b\n\t}\n}\n");
unlink("$dir{'conf.d'}/local.conf");
my $second = propose();
is_deeply(
    [
        map { "$_->{section} $_->{key}: " . ($_->{node} // '-') . ' vs ' . ($_->{cluster} // '-') }
            $second->{differences}->@*
    ],
    ["defaults user-friendly-names: no vs yes", "$OTHER alias: lun-b vs vmstore-a"],
    'the second node shows where it differs from the cluster config',
);
is_deeply(
    [map { $_->{keyword} } $second->{changes}->@*],
    ['find_multipaths', 'polling_interval'],
    'managed defaults the node does not set are named',
);
my $second_json = encode_json($second->{proposal});
eval { import_proposal({ proposal => $second_json }) };
like(
    $@,
    qr/\Q$OTHER\E: alias is 'vmstore-a' in the cluster config, 'lun-b' on the node/,
    'a conflicting alias is refused',
);
is(read_cfg()->{ids}->{$OTHER}->{alias}, 'vmstore-a', 'nothing written on a conflict');
eval { import_proposal({ proposal => $second_json, overwrite => 1 }) };
is($@, '', 'overwrite replaces');
is(read_cfg()->{ids}->{$OTHER}->{alias}, 'lun-b', 'the alias of the second node');
is(read_cfg()->{ids}->{defaults}->{'user-friendly-names'}, 'no', 'its defaults');

# Coexistence: the Generator compares the node's own files on every pass.
my @log;
$PVE::Multipath::Generator::LOG = sub { push @log, $_[0] };
$ENV{MULTIPATH_STANDIN_WWIDS} = "$tmp/wwids";
my $node_conf =
      "defaults {\n\tuser_friendly_names yes\n}\n"
    . "blacklist {\n\twwid $SAN\n}\n"
    . "multipaths {\n\tmultipath {\n\t\twwid $OTHER\n\t\talias lun-b\n\t}\n}\n";
file_set_contents("$tmp/multipath.conf", $node_conf);
my $expected = [
    "$tmp/multipath.conf line 2: user_friendly_names 'yes' is overridden by the cluster's 'no'",
    "$tmp/multipath.conf line 5: blacklist wwid '$SAN' hides the allow-listed WWID $SAN",
    "$tmp/multipath.conf line 8: the multipaths entry for WWID $OTHER duplicates the one"
        . " rendered into pve-aliases.conf",
];
is_deeply(propose()->{conflicts}, $expected, 'the import lists the conflicts too');
PVE::Multipath::Generator::sync() for 1 .. 2;
is_deeply(PVE::Multipath::Generator::node_conflicts(), $expected, 'the Generator records them');
is_deeply([grep { m/ line \d+: / } @log], $expected, 'each conflict is logged once');
is(file_get_contents("$tmp/multipath.conf"), $node_conf, "the admin's file is never edited");

# The conflicts travel with the node's health broadcast into the matrix's node
# column; a node of an older version (health only) shows none, not an empty list.
PVE::Multipath::TestEnv::set_members({ n1 => { online => 1 }, n2 => { online => 1 } });
PVE::Multipath::broadcast_health();
my $peer_maps = PVE::RS::Multipath::Maps::parse_maps_json(
    file_get_contents("$ROOT/fixtures/maps/scsi-01-optimal.json"));
PVE::Multipath::TestEnv::peer_kv('n2', 'multipath',
    PVE::RS::Multipath::Status::encode_broadcast($peer_maps, time(), undef)->[0]);
my $matrix = PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'GET', 'status', {});
is_deeply($matrix->{nodes}->{n1}->{conflicts}, $expected, "the node's conflicts in the matrix");
ok(!exists($matrix->{nodes}->{n2}->{conflicts}), 'none for a node that did not report them');
is($matrix->{nodes}->{n2}->{luns}, 1, 'whose health reads as before');

# devnode and device entries are judged against the node's block devices (sysfs,
# the udev database), with the exceptions, as multipath-tools judges a path
my $sda = "$tmp/sys/block/sda";
make_path("$sda/device", "$tmp/udev");
file_set_contents("$sda/dev", "8:0\n");
file_set_contents("$sda/device/vendor", "LIO-ORG \n");
file_set_contents("$sda/device/model", "disk0           \n");
file_set_contents("$tmp/udev/b8:0",
    "S:disk/by-id/wwn-0x5000c50015ea71ac\nE:ID_SERIAL=$SAN\nE:ID_WWN=0x5000c50015ea71ac\n");
$PVE::Multipath::Import::UDEV_DATA_DIR = "$tmp/udev";
file_set_contents("$tmp/multipath.conf",
    "blacklist {\n\tdevnode \"^sd\"\n\tdevice {\n\t\tvendor \"LIO-ORG\"\n\t\tproduct \"^disk0\$\"\n"
        . "\t}\n}\nblacklist_exceptions {\n\tdevnode \"^sda\$\"\n}\n");
PVE::Multipath::Generator::sync();
is_deeply(
    PVE::Multipath::Generator::node_conflicts(),
    [
        "$tmp/multipath.conf line 3: blacklist device (vendor 'LIO-ORG' product '^disk0\$') hides"
            . " path sda of the allow-listed WWID $SAN"
    ],
    'a device entry hides the path its devnode exception let through',
);

# property and protocol entries too: the udev property names (the database's and the
# kernel's) and the protocol from where the device hangs in sysfs (both on iSCSI sessions;
# sdb has the kernel's uevent properties and more of udev's)
my $sdb_path = 'devices/platform/host3/session1/target3:0:0/3:0:0:1/block/sdb';
make_path("$tmp/sys/$sdb_path/device");
symlink("../$sdb_path", "$tmp/sys/block/sdb") or die "symlink: $!\n";
file_set_contents("$tmp/sys/$sdb_path/dev", "8:16\n");
file_set_contents("$tmp/sys/$sdb_path/uevent", "MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\n");
file_set_contents("$tmp/udev/b8:16",
    "S:disk/by-id/wwn-0x5000c50015ea71ac\nI:1234\nE:ID_SERIAL=$SAN\nE:ID_WWN=0x5000c50015ea71ac\n"
        . "E:ID_PATH=ip-192.0.2.1:3260-iscsi-iqn.2003-01.org.linux-iscsi.t:sn.1-lun-1\nG:systemd\n"
);
my @protocol_cases = (
    ["protocol \"scsi:iscsi\"", [], "blacklist protocol 'scsi:iscsi'", 'sda, sdb'],
    # an exception ends its own filter only
    [
        "protocol \"scsi:iscsi\"",
        ["devnode \"^sda\$\""],
        "blacklist protocol 'scsi:iscsi'",
        'sda, sdb'
    ],
    ["protocol \"^scsi\"", ["protocol \"scsi:(fcp|iscsi)\""], undef, undef],
    # the names in order: DEVLINKS, DEVNAME, DEVPATH, DEVTYPE, ID_PATH, ..., USEC_INITIALIZED
    ["property \"^DEV\"", [], "blacklist property '^DEV'", 'sda, sdb'],
    ["property \"^DEVTYPE\$\"", [], "blacklist property '^DEVTYPE\$'", 'sdb'],
    ["property \"^ID_PATH\$\"", [], "blacklist property '^ID_PATH\$'", 'sdb'],
    ["property \"^ID_PATH\$\"", ["property \"^DEVNAME\$\""], undef, undef],
    ["property \"^DEVLINKS\$\"", [], "blacklist property '^DEVLINKS\$'", 'sda, sdb'],
    # after ID_WWN, which multipath-tools itself excepts
    ["property \"^(TAGS|USEC_INITIALIZED)\$\"", [], undef, undef],
);
for my $case (@protocol_cases) {
    my ($entry, $exceptions, $described, $paths) = $case->@*;
    my $text = "blacklist {\n\t$entry\n}\n";
    $text .= "blacklist_exceptions {\n" . join('', map { "\t$_\n" } $exceptions->@*) . "}\n"
        if $exceptions->@*;
    file_set_contents("$tmp/multipath.conf", $text);
    PVE::Multipath::Generator::sync();
    my $expected =
        defined($described)
        ? ["$tmp/multipath.conf line 2: $described hides path"
            . ($paths =~ m/,/ ? 's' : '')
            . " $paths of the allow-listed WWID $SAN",
        ]
        : [];
    is_deeply(PVE::Multipath::Generator::node_conflicts(),
        $expected, "$entry, excepted: " . join(' ', $exceptions->@*));
}
unlink("$tmp/sys/block/sdb") or die "unlink: $!\n";

file_set_contents("$tmp/multipath.conf", "defaults {\n\tuser_friendly_names no\n}\n");
PVE::Multipath::Generator::sync();
is_deeply(
    PVE::Multipath::Generator::node_conflicts(),
    [
        "$tmp/multipath.conf line 2: user_friendly_names 'no' is redundant: the cluster config"
            . " renders the same"
    ],
    'a resolved conflict goes away; what the import made redundant is named',
);
file_set_contents("$tmp/multipath.conf", "defaults {\n\tchecker_timeout 30\n}\n");
PVE::Multipath::Generator::sync();
is_deeply(PVE::Multipath::Generator::node_conflicts(), [], 'nothing left to report');
PVE::Multipath::broadcast_health();
$matrix = PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'GET', 'status', {});
is_deeply($matrix->{nodes}->{n1}->{conflicts}, [], 'and the matrix says so: an empty list');

done_testing();
