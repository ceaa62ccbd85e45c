#!/usr/bin/perl

# The /cluster/multipath and /nodes/{node}/disks/multipath handlers, called
# through the RESTHandler stand-in (which validates parameters against each
# method's schema) with a directory-backed pmxcfs, and the storage plugin.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

use PVE::Cluster;
use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::API2::Disks::Multipath;
use PVE::API2::Multipath;
use PVE::Multipath;
use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Status;
use PVE::Storage::MultipathPlugin;

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $LUN = '35000c50015ea71ac';    # the WWID of the real captures

my $tmp = tempdir(CLEANUP => 1);
mkdir("$tmp/state");
$PVE::Cluster::BASE = $tmp;
$PVE::Multipath::STATE_DIR = "$tmp/state";
$PVE::Multipath::MULTIPATH = "$ROOT/tests/bin/multipath";
$PVE::Multipath::MULTIPATHD = "$ROOT/tests/bin/multipathd";
$PVE::Multipath::SYSFS = "$tmp/sys";
$ENV{MULTIPATHD_STANDIN_MAPS} = "$ROOT/fixtures/maps/scsi-01-optimal.json";

file_set_contents("$tmp/.members",
    '{"n1":{"online":1},"n2":{"online":1},"n3":{"online":1},' . '"n4":{"online":0}}');
file_set_contents("$tmp/storage.cfg",
          "multipath: san\n\tnodes n1,n2,n3\n\n"
        . "lvm: vmdata\n\tbase san:$LUN\n\tvgname vmdata\n\tnodes n1,n2,n4\n\n");

my sub api {
    my ($method, $path, $param) = @_;
    return PVE::API2::Multipath->call($method, $path, $param);
}

my sub digest { return api('GET', '', {})->{digest} }

my @steps = (
    ['GET', '', {}, undef, 'an empty config reads'],
    [
        'PUT', 'defaults', { 'no-path-retry' => 'queue', 'polling-interval' => 7 },
        undef, 'set defaults'
    ],
    [
        'PUT',
        'defaults',
        { 'polling-interval' => 'often' },
        qr/Parameter verification failed.*polling-interval: type check \('integer'\) failed/s,
        'a bad knob value is refused by the schema',
    ],
    [
        'PUT', 'defaults',
        { alias => 'x' },
        qr/alias: property is not defined in schema/,
        'a per-WWID knob is not a defaults parameter',
    ],
    [
        'PUT', 'defaults',
        { 'no-path-retry' => 'fail', delete => 'no-path-retry' },
        qr/cannot set and delete 'no-path-retry'/,
        'set and delete of one key is refused',
    ],
    [
        'PUT',
        'defaults',
        { delete => 'type' },
        qr/'type' is not a settable option/,
        'only settable keys can be deleted',
    ],
    ['POST', 'wwid', { wwid => $LUN, alias => 'lun-a' }, undef, 'allow-list a LUN with an alias'],
    ['POST', 'wwid', { wwid => $LUN }, qr/already allow-listed/, 'a WWID is added once'],
    [
        'POST', 'wwid',
        { wwid => 'defaults' },
        qr/wwid: the id 'defaults' is reserved/,
        'the id defaults is reserved'
    ],
    [
        'POST', 'wwid',
        { wwid => '3600b', alias => 'lun-a' },
        qr/alias: alias 'lun-a' is already used by WWID \Q$LUN\E/,
        'alias collision'
    ],
    [
        'POST', 'wwid',
        { wwid => '3600b', alias => 'a b' },
        qr/alias: value does not match the regex pattern/,
        'alias syntax from the schema'
    ],
    ['POST', 'wwid', { wwid => '3600b', 'no-path-retry' => '18' }, undef, 'a second LUN'],
    [
        'POST', 'alias', { wwid => '3600b' }, qr/alias: property is missing/,
        'POST alias needs alias'
    ],
    [
        'POST', 'alias',
        { wwid => '3600nothere', alias => 'x' },
        qr/no such WWID '3600nothere'/,
        'alias of an unknown WWID'
    ],
    ['POST', 'alias', { wwid => '3600b', alias => 'lun-b' }, undef, 'set an alias'],
    [
        'PUT', "wwid/3600b",
        { digest => '0' x 40, 'rr-weight' => 'uniform' },
        qr/detected modified configuration/,
        'a stale digest is refused'
    ],
    [
        'PUT',
        "wwid/3600nothere",
        { 'rr-weight' => 'uniform' },
        qr/no such WWID/,
        'update of an unknown WWID'
    ],
    [
        'DELETE', "wwid/$LUN", {},
        qr/base of storage 'vmdata' - use 'force'/,
        'a consumed LUN is not removed without force'
    ],
    ['DELETE', 'alias/3600b', {}, undef, 'remove an alias'],
    [
        'PUT', 'defaults',
        { delete => 'no-path-retry,polling-interval' }, undef,
        'delete every defaults knob'
    ],
);

for my $step (@steps) {
    my ($method, $path, $param, $error, $what) = $step->@*;
    my $result = eval { api($method, $path, { $param->%* }) };
    if ($error) {
        like("$@", $error, "$what: $method $path fails");
    } else {
        is("$@", '', "$what: $method $path");
    }
}

my $cfg = PVE::Multipath::ClusterConfig::read_config();
ok(!$cfg->{ids}->{defaults}, 'the emptied defaults section is dropped');
is($cfg->{ids}->{'3600b'}->{alias}, undef, 'the alias is gone');
is($cfg->{ids}->{'3600b'}->{'no-path-retry'}, '18', 'the other knob stays');
is($cfg->{ids}->{$LUN}->{alias}, 'lun-a', 'the first LUN keeps its alias');

my $index = api('GET', 'wwid', {});
is_deeply(
    [map { [$_->{wwid}, $_->{'used-by'} // ''] } $index->@*],
    [[$LUN, 'vmdata'], ['3600b', '']],
    'the WWID index names the consuming storage',
);
is(api('GET', "wwid/$LUN", {})->{alias}, 'lun-a', 'read one WWID');

# digest-guarded write with the current digest
is(eval { api('PUT', "wwid/3600b", { 'rr-weight' => 'uniform', digest => digest() }); 1 },
    1, 'an update with the current digest succeeds');

# --- overrides ---
my $overrides = api('GET', 'overrides', {});
is($overrides->{text}, '', 'no overrides yet');
eval { api('PUT', 'overrides', { text => "multipaths {\n}\n" }) };
like("$@", qr/text: .*managed via aliases/, 'overrides are checked before they are stored');
eval { api('PUT', 'overrides', { text => "devices {\n}\n", digest => 'f' x 40 }) };
like("$@", qr/detected modified configuration/, 'a stale overrides digest is refused');
eval { api('PUT', 'overrides', { text => "devices {\n}\n", digest => $overrides->{digest} }) };
is("$@", '', 'overrides with the current digest are stored');
is(api('GET', 'overrides', {})->{text}, "devices {\n}\n", 'and read back');

# --- status ---
my $now = time();
my $maps = PVE::RS::Multipath::Maps::parse_maps_json(
    file_get_contents("$ROOT/fixtures/maps/scsi-01-optimal.json"));
my $fresh = PVE::RS::Multipath::Status::encode_broadcast($maps, $now, undef)->[0];
my $stale = PVE::RS::Multipath::Status::encode_broadcast($maps, $now - 3600, undef)->[0];
for my $node_value ([n1 => $fresh], [n2 => "not a summary\n"], [n3 => $stale]) {
    local $ENV{PVE_STANDIN_NODENAME} = $node_value->[0];
    PVE::Cluster::broadcast_node_kv('multipath', $node_value->[1]);
}

my $status = api('GET', 'status', {});
my ($row) = grep { $_->{wwid} eq $LUN } $status->{luns}->@*;
is($row->{alias}, 'lun-a', 'status row carries the alias');
is($row->{'used-by'}, 'vmdata', 'and the consuming storage');
is($row->{nodes}->{n1}->{state}, 'optimal', 'a fresh report counts');
is($row->{nodes}->{n2}->{state}, 'unknown', 'a malformed report reads unknown');
like($status->{nodes}->{n2}->{error}, qr/./, 'with the reason on the node');
is($row->{nodes}->{n3}->{state}, 'unknown', 'a stale report reads unknown');
ok($status->{nodes}->{n3}->{stale}, 'n3 reports, but stale');
is($row->{nodes}->{n4}, undef, 'n4 is not expected: vmdata on n4 but san not');
my ($other) = grep { $_->{wwid} eq '3600b' } $status->{luns}->@*;
is($other->{nodes}->{n1}->{state},
    'missing', 'an unconsumed LUN is expected where san is: missing on a fresh node without it');
is($other->{nodes}->{n4}, undef, 'but not on n4, where san is not');

# --- the node view ---
my $node_maps = PVE::API2::Disks::Multipath->call('GET', '', { node => 'n1' });
is($node_maps->[0]->{wwid}, $LUN, 'the node view lists the map');
is($node_maps->[0]->{'used-by'}, 'vmdata', 'with the storage using it');
eval { PVE::API2::Disks::Multipath->call('GET', '', { node => 'bad node!' }) };
like("$@", qr/node: value does not look like a valid node name/, 'the node parameter is checked');

# --- why the node view is empty: its state ---
for my $case (
    [["$ROOT/tests/bin/multipath", "$ROOT/tests/bin/multipathd"], 1, 1, 'installed and running'],
    [["$ROOT/tests/bin/multipath", "$tmp/no-such-multipathd"], 0, 0, 'multipathd missing'],
    [["$tmp/no-such-multipath", "$ROOT/tests/bin/multipathd"], 0, 0, 'multipath missing'],
    [["$ROOT/tests/bin/multipath", '/bin/false'], 1, 0, 'multipathd does not answer'],
    )
{
    my ($tools, $installed, $running, $what) = $case->@*;
    local ($PVE::Multipath::MULTIPATH, $PVE::Multipath::MULTIPATHD) = $tools->@*;
    is_deeply(
        PVE::API2::Disks::Multipath->call('GET', 'state', { node => 'n1' }),
        { installed => $installed, running => $running },
        "node state: $what",
    );
}

# --- the knob schema the editors are built from ---
my $knobs = api('GET', 'knobs', {});
is_deeply(
    $knobs,
    {
        defaults => PVE::Multipath::Config::defaults_api_schema(),
        wwid => PVE::Multipath::Config::wwid_api_schema(),
    },
    'knobs are the parameters of PUT defaults and POST wwid',
);
ok($knobs->{wwid}->{alias} && !$knobs->{defaults}->{alias}, 'alias is a per-WWID knob only');

# --- removal with force ---
eval { api('DELETE', "wwid/$LUN", { force => 1 }) };
is("$@", '', 'a consumed LUN is removed with force');
ok(!PVE::Multipath::ClusterConfig::read_config()->{ids}->{$LUN}, 'and is gone');

# --- the storage plugin ---
api('POST', 'wwid', { wwid => $LUN });
my $volumes = PVE::Storage::MultipathPlugin->list_volumes('san', {}, undef, ['images']);
is_deeply(
    [map { [$_->{volid}, $_->{format}, $_->{content}] } $volumes->@*],
    [["san:$LUN", 'raw', 'images']],
    'the plugin lists the allow-listed LUN that has a map',
);
is(
    scalar(PVE::Storage::MultipathPlugin->path({}, $LUN, 'san')),
    "/dev/disk/by-id/dm-uuid-mpath-$LUN",
    'and returns its stable by-id path',
);
eval { PVE::Storage::MultipathPlugin->parse_volname('../etc/passwd') };
like($@, qr/unable to parse multipath volume name/, 'volume names are WWIDs only');
eval { PVE::Storage::MultipathPlugin->alloc_image('san', {}, 100, 'raw', undef, 1024) };
like($@, qr/not supported/, 'no allocation on a LUN');

done_testing();
