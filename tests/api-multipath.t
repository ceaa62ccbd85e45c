#!/usr/bin/perl

# The /cluster/multipath and /nodes/{node}/disks/multipath handlers, called
# as the API server calls them (find_handler, then handle() with parameter
# and result verification), on the stand-ins of tests/lib (a
# directory-backed pmxcfs) or, under ../shared/tools/real-pve, on the real
# PVE modules; and the storage plugin.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

use PVE::Multipath::TestEnv;

use PVE::Cluster;
use PVE::INotify;
use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::API2::Disks::Multipath;
use PVE::API2::Multipath;
use PVE::Multipath;
use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Status;

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $LUN = '35000c50015ea71ac';    # the WWID of the real captures

my $tmp = tempdir(CLEANUP => 1);
mkdir("$tmp/state");
my $pve = PVE::Multipath::TestEnv::cfs_dir();
$PVE::Multipath::STATE_DIR = "$tmp/state";
$PVE::Multipath::MULTIPATH = "$ROOT/tests/bin/multipath";
$PVE::Multipath::MULTIPATHD = "$ROOT/tests/bin/multipathd";
$PVE::Multipath::SYSFS = "$tmp/sys";
$ENV{MULTIPATHD_STANDIN_MAPS} = "$ROOT/fixtures/maps/scsi-01-optimal.json";

PVE::Multipath::TestEnv::set_members({
    n1 => { online => 1 },
    n2 => { online => 1 },
    n3 => { online => 1 },
    n4 => { online => 0 },
});
file_set_contents("$pve/storage.cfg",
          "multipath: san\n\tnodes n1,n2,n3\n\n"
        . "lvm: vmdata\n\tbase san:$LUN\n\tvgname vmdata\n\tnodes n1,n2,n4\n\n");

my sub api {
    my ($method, $path, $param) = @_;
    return PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', $method, $path, $param);
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
    [
        'POST', 'alias',
        { wwid => '3600b', alias => $LUN },
        qr/alias '\Q$LUN\E' of WWID 3600b is the WWID of another allow-listed LUN/,
        'an alias naming another allow-listed WWID'
    ],
    [
        'POST', 'wwid',
        { wwid => 'lun-a' },
        qr/alias 'lun-a' of WWID \Q$LUN\E is the WWID of another allow-listed LUN/,
        'a WWID that is the alias of another'
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
my $me = PVE::INotify::nodename();
for my $node_value ([n1 => $fresh], [n2 => "not a summary\n"], [n3 => $stale]) {
    my ($node, $value) = $node_value->@*;
    if ($node eq $me) {
        PVE::Cluster::broadcast_node_kv('multipath', $value);
    } else {
        PVE::Multipath::TestEnv::peer_kv($node, 'multipath', $value);
    }
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
my sub node_view {
    my ($node) = @_;
    return PVE::Multipath::TestEnv::api_call('PVE::API2::Disks::Multipath', 'GET', '',
        { node => $node });
}
my $node_maps = node_view('n1');
is($node_maps->[0]->{wwid}, $LUN, 'the node view lists the map');
is($node_maps->[0]->{'used-by'}, 'vmdata', 'with the storage using it');
eval { node_view('bad node!') };
like(
    "$@",
    qr/node: invalid format - value does not look like a valid node name/,
    'the node parameter is checked',
);

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
        PVE::Multipath::TestEnv::api_call(
            'PVE::API2::Disks::Multipath', 'GET', 'state', { node => 'n1' },
        ),
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

# --- shared: a disk on a LUN migrates nowhere ---
is(PVE::Storage::config()->{ids}->{san}->{shared}, 1, 'the multipath storage is shared');

# --- a node without a cluster: pmxcfs reports no node list ---
PVE::Multipath::TestEnv::set_members(undef);
is(PVE::Cluster::get_members(), undef, 'a standalone node has no members');
my $alone = api('GET', 'status', {});
is($alone->{nodes}->{$me}->{online}, 1, 'the standalone node reads online');
my ($cell) = map { $_->{nodes}->{$me} } grep { $_->{wwid} eq $LUN } $alone->{luns}->@*;
is($cell->{state}, 'optimal', 'with its real cells');

# --- a duplicate alias an admin wrote by hand ---
file_set_contents("$pve/multipath.cfg",
    "wwid: 3600d1\n\talias twin\n\nwwid: 3600d2\n\talias twin\n\nwwid: 3600d3\n");
is(eval { api('PUT', 'defaults', { 'no-path-retry' => 'queue' }); 1 },
    1, 'blocks no write elsewhere')
    or diag($@);
eval { api('PUT', 'wwid/3600d3', { alias => 'twin' }) };
like("$@", qr/alias: alias 'twin' is already used by WWID 3600d/, 'a new collision is refused');

# --- delete lists as PVE::Tools::split_list splits them ---
api('PUT', 'wwid/3600d3', { 'rr-weight' => 'uniform', 'paths-expected' => 2, 'rr-min-io-rq' => 4 });
is(eval { api('PUT', 'wwid/3600d3', { delete => "paths-expected\trr-min-io-rq" }); 1 },
    1, 'a delete list separated by a tab')
    or diag($@);
is(eval { api('PUT', 'wwid/3600d3', { delete => "rr-weight\0alias" }); 1 },
    1, 'and one separated by NUL bytes')
    or diag($@);
my $d3 = api('GET', 'wwid/3600d3', {});
is_deeply([grep { defined($d3->{$_}) } qw(paths-expected rr-min-io-rq rr-weight)],
    [], 'every listed key is gone');
eval { api('PUT', 'wwid/3600d3', { delete => 'rr-weight x' }) };
like(
    "$@",
    qr/delete: invalid format - invalid configuration ID 'x'/,
    'each listed key is checked as a configuration ID'
);

done_testing();
