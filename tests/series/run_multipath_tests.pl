#!/usr/bin/perl

use strict;
use warnings;

use JSON;
use Test::More;

use lib ('.', '..');
use PVE::Multipath;
use PVE::Multipath::Config;

# A recorded `multipathd show maps json` reply with three maps exercising each
# health state: an all-active map, a partially-failed map and an all-failed map.
my $maps_json = <<'EOF';
{
   "major_version": 0,
   "minor_version": 1,
   "maps": [
      {
         "name": "mpatha",
         "uuid": "3600140500a1b2c3d4e5f6a7b8c9d0e1f",
         "sysfs": "dm-0",
         "dm_st": "active",
         "paths": 2,
         "path_groups": [
            {
               "group": 1,
               "dm_st": "active",
               "pri": 50,
               "paths": [
                  { "dev": "sdb", "dm_st": "active", "dev_st": "running", "chk_st": "ready", "pri": 50, "target_wwpn": "0x500a098000000001" },
                  { "dev": "sdc", "dm_st": "active", "dev_st": "running", "chk_st": "ready", "pri": 50, "target_wwpn": "0x500a098000000002" }
               ]
            }
         ]
      },
      {
         "name": "mpathb",
         "uuid": "360014050aabbccddeeff00112233445566",
         "sysfs": "dm-1",
         "dm_st": "active",
         "paths": 2,
         "path_groups": [
            {
               "group": 1,
               "dm_st": "active",
               "pri": 10,
               "paths": [
                  { "dev": "sdd", "dm_st": "active", "dev_st": "running", "chk_st": "ready", "pri": 10 }
               ]
            },
            {
               "group": 2,
               "dm_st": "enabled",
               "pri": 0,
               "paths": [
                  { "dev": "sde", "dm_st": "failed", "dev_st": "faulty", "chk_st": "faulty", "pri": 0 }
               ]
            }
         ]
      },
      {
         "name": "mpathc",
         "uuid": "36001405ffffffffffffffffffffffffff",
         "sysfs": "dm-2",
         "dm_st": "active",
         "paths": 1,
         "path_groups": [
            {
               "group": 1,
               "dm_st": "enabled",
               "pri": 0,
               "paths": [
                  { "dev": "sdf", "dm_st": "failed", "dev_st": "faulty", "chk_st": "faulty", "pri": 0, "target_wwpn": "[undef]", "host_adapter": "[undef]" }
               ]
            }
         ]
      }
   ]
}
EOF

my $maps = PVE::Multipath::parse_maps_json($maps_json);

is(scalar($maps->@*), 3, 'parsed all three maps');

my ($a, $b, $c) = $maps->@*;

# fully healthy map
is($a->{wwid}, '3600140500a1b2c3d4e5f6a7b8c9d0e1f', 'map a wwid taken from uuid');
is($a->{name}, 'mpatha', 'map a name');
is($a->{sysfs}, 'dm-0', 'map a sysfs name');
is($a->{'paths-total'}, 2, 'map a counts both paths');
is($a->{'paths-active'}, 2, 'map a has two active paths');
is($a->{health}, 'optimal', 'map a is optimal');
is(scalar($a->{'path-groups'}->@*), 1, 'map a has one path group');
is(
    $a->{'path-groups'}->[0]->{paths}->[0]->{'target-wwpn'},
    '0x500a098000000001',
    'FC target wwpn is preserved',
);
is(
    $a->{'path-groups'}->[0]->{paths}->[0]->{transport},
    'fc',
    'transport derived as fc from a target wwpn',
);

# one failed path out of two
is($b->{'paths-total'}, 2, 'map b counts both paths across groups');
is($b->{'paths-active'}, 1, 'map b has one active path');
is($b->{health}, 'degraded', 'map b is degraded');

# no active path left
is($c->{'paths-total'}, 1, 'map c counts its single path');
is($c->{'paths-active'}, 0, 'map c has no active path');
is($c->{health}, 'failed', 'map c is failed');
ok(
    !defined($c->{'path-groups'}->[0]->{paths}->[0]->{'target-wwpn'}),
    "multipathd '[undef]' target_wwpn is cleaned away (not stored)",
);
ok(
    !defined($c->{'path-groups'}->[0]->{paths}->[0]->{transport}),
    "'[undef]' target_wwpn does not imply fc transport",
);

# empty / no maps must parse to an empty list, not die
my $empty = PVE::Multipath::parse_maps_json('{ "major_version": 0, "maps": [] }');
is_deeply($empty, [], 'no maps parses to empty list');

# malformed input must die with a clear error
eval { PVE::Multipath::parse_maps_json('not json') };
ok($@ =~ m/could not parse multipathd maps JSON/, 'invalid JSON raises a clear error');

# --- config generation / WWID allow-list ---
my $conf = PVE::Multipath::Config::generate_managed_conf();
like($conf, qr/managed by Proxmox VE/, 'managed conf carries the managed header');
like($conf, qr/user_friendly_names no/, 'baseline sets user_friendly_names no');
like($conf, qr/find_multipaths strict/, 'baseline opts in explicitly via find_multipaths strict');
is(
    scalar(() = $conf =~ /^defaults \{/mg),
    1,
    'baseline has exactly one defaults block (a second would be a duplicate-keyword error)',
);

my $wwids = PVE::Multipath::Config::parse_wwids("# Multipath wwids\n/3600abc/\n/3600def/\n");
is_deeply($wwids, ['3600abc', '3600def'], 'parse_wwids extracts the wwids');
like(
    PVE::Multipath::Config::format_wwids(['3600def', '3600abc']),
    qr{/3600abc/\n/3600def/},
    'format_wwids sorts and slash-wraps',
);

# --- cluster config (pmxcfs source of truth): SectionConfig parse/write ---
my $raw =
    "defaults: defaults\n\tfind-multipaths strict\n\tno-path-retry queue\n\n"
    . "wwid: 3600def\n\talias san-b-lun0\n\n"
    . "wwid: 3600abc\n\talias san-a-lun0\n\tno-path-retry 18\n";
my $cc = PVE::Multipath::Config->parse_config('multipath.cfg', $raw);
is_deeply(
    PVE::Multipath::Config::wwid_list($cc),
    ['3600abc', '3600def'],
    'wwid sections become the allow-list (sorted)',
);
is_deeply(
    PVE::Multipath::Config::aliases($cc),
    { '3600abc' => 'san-a-lun0', '3600def' => 'san-b-lun0' },
    'aliases read from the wwid sections',
);
is(
    PVE::Multipath::Config::effective_defaults($cc)->{'no-path-retry'},
    'queue',
    'defaults section knob is read',
);
is(
    PVE::Multipath::Config::effective_defaults($cc)->{'user-friendly-names'},
    'no',
    'an unset defaults knob falls back to the managed default',
);

my $written = PVE::Multipath::Config->write_config('multipath.cfg', $cc);
my $cc2 = PVE::Multipath::Config->parse_config('multipath.cfg', $written);
is_deeply(
    PVE::Multipath::Config::wwid_list($cc2),
    ['3600abc', '3600def'],
    'wwids survive the SectionConfig round-trip',
);
is_deeply(
    PVE::Multipath::Config::aliases($cc2),
    PVE::Multipath::Config::aliases($cc),
    'aliases survive the round-trip',
);
is($cc2->{ids}->{'3600abc'}->{'no-path-retry'}, 18, 'a per-WWID knob survives the round-trip');

is_deeply(
    PVE::Multipath::Config::wwid_list(PVE::Multipath::Config->parse_config('multipath.cfg', '')),
    [],
    'an empty cluster config has no WWIDs',
);

# --- multipaths{} block (alias plus per-WWID knobs) ---
my $block = PVE::Multipath::Config::build_multipaths_block({
    '3600def' => { alias => 'san-b-lun0' },
    '3600abc' => { alias => 'san-a-lun0', 'no-path-retry' => 18 },
    '3600nul' => {},
});
like($block, qr/^multipaths \{/m, 'block opens with multipaths {');
is(
    scalar(() = $block =~ /^\tmultipath \{/mg),
    2,
    'one multipath{} per WWID that has an alias or a knob (the empty WWID is skipped)',
);
like(
    $block,
    qr/wwid 3600abc.*?alias san-a-lun0.*?no_path_retry 18/s,
    'block carries the alias and the per-WWID knob',
);
my $abc_pos = index($block, 'wwid 3600abc');
my $def_pos = index($block, 'wwid 3600def');
ok($abc_pos < $def_pos, 'block emits entries in WWID-sorted order');
is(PVE::Multipath::Config::build_multipaths_block({}), '', 'no WWIDs render to the empty string');

# --- override guard ---
eval { PVE::Multipath::Config::check_overrides("devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n") };
is($@, '', 'a well-formed devices{} block passes the guard');
eval { PVE::Multipath::Config::check_overrides("multipaths {\n}\n") };
like($@, qr/managed via aliases/, 'a multipaths{} block is rejected, it is generated');
eval { PVE::Multipath::Config::check_overrides("devices {\n") };
like($@, qr/unbalanced braces/, 'unbalanced braces are rejected');
eval { PVE::Multipath::Config::check_overrides("frobnicate {\n}\n") };
like($@, qr/unknown top-level section/, 'an unknown top-level section is rejected');
is(
    PVE::Multipath::Config::write_overrides('x', "text  \n\n"),
    "text\n",
    'the overrides writer trims trailing whitespace',
);

# --- broadcast summary (per-WWID condensation of get_maps for the cluster KV) ---
my $summary = PVE::Multipath::summarize_maps_for_broadcast($maps);
is_deeply(
    [sort keys %$summary],
    [sort map { $_->{wwid} } $maps->@*],
    'every map with a WWID appears in the summary',
);
is($summary->{ $a->{wwid} }->{state}, 'optimal', 'optimal map summarized as optimal');
is($summary->{ $a->{wwid} }->{'paths-active'}, 2, 'optimal map active path count carried');
is($summary->{ $a->{wwid} }->{'paths-total'}, 2, 'optimal map total path count carried');
is($summary->{ $b->{wwid} }->{state}, 'degraded', 'degraded map summarized as degraded');
is($summary->{ $c->{wwid} }->{state}, 'failed', 'failed map summarized as failed');
ok(
    !exists $summary->{ $a->{wwid} }->{transport},
    'transport omitted when not derived (get_maps fills it live)',
);

is_deeply(
    PVE::Multipath::summarize_maps_for_broadcast([]),
    {},
    'empty maps list summarizes to empty hash (caller clears the KV)',
);

# transport/size propagate when the caller (get_maps) has set them
my $enriched = [{
    wwid => '3600x',
    health => 'optimal',
    'paths-active' => 2,
    'paths-total' => 2,
    transport => 'iscsi',
    size => 34359738368,
}];
my $enr = PVE::Multipath::summarize_maps_for_broadcast($enriched);
is($enr->{'3600x'}->{transport}, 'iscsi', 'transport carried into the summary');
is($enr->{'3600x'}->{size}, 34359738368, 'size carried into the summary');

# size budget: well under the 32 KiB pmxcfs KV limit even for many maps
my $many = [
    map { {
        wwid => sprintf('3600140500000000000000000000%04x', $_),
        health => 'optimal',
        'paths-active' => 4,
        'paths-total' => 4,
        transport => 'iscsi',
        size => 1099511627776,
    } } 0 .. 99
];
my $big = JSON::encode_json(PVE::Multipath::summarize_maps_for_broadcast($many));
ok(length($big) < 32 * 1024, "100-map summary (" . length($big) . " B) fits the KV size limit");

# --- cluster status aggregation ---
my $node_kv = {
    nodeA => {
        wA =>
            { state => 'optimal', 'paths-active' => 2, 'paths-total' => 2, transport => 'iscsi' },
        wB => {
            state => 'optimal',
            'paths-active' => 2,
            'paths-total' => 2,
            transport => 'iscsi',
            size => 42,
        },
    },
    nodeB => {
        wA =>
            { state => 'degraded', 'paths-active' => 1, 'paths-total' => 2, transport => 'iscsi' },
        # nodeB is active but does not see wB
    },
    nodeC => {
        # stale broadcast from an offline node
        wA => { state => 'optimal', 'paths-active' => 2, 'paths-total' => 2 },
    },
};
my $agg = PVE::Multipath::aggregate_cluster_status(
    ['wA', 'wB', 'wZ'], # allow-list incl. an unseen WWID
    { wA => 'lun-a' }, # alias
    { wB => 'mptank' }, # used-by
    $node_kv,
    { nodeA => 1, nodeB => 1, nodeC => 0 }, # nodeC offline
);
my %by_wwid = map { $_->{wwid} => $_ } $agg->@*;

is_deeply([sort keys %by_wwid], ['wA', 'wB', 'wZ'], 'matrix covers allow-list and seen WWIDs');

is($by_wwid{wA}->{alias}, 'lun-a', 'alias surfaced on the WWID row');
is($by_wwid{wA}->{'cluster-state'}, 'degraded', 'degraded on one active node rolls up to degraded');
is($by_wwid{wA}->{nodes}->{nodeA}->{state}, 'optimal', 'per-node optimal cell kept');
is($by_wwid{wA}->{nodes}->{nodeB}->{state}, 'degraded', 'per-node degraded cell kept');
is($by_wwid{wA}->{nodes}->{nodeC}->{state}, 'unknown',
    'offline node with stale data shows unknown');

is($by_wwid{wB}->{'used-by'}, 'mptank', 'consuming storage surfaced as used-by');
is($by_wwid{wB}->{size}, 42, 'LUN size surfaced from a reporting node');
is(
    $by_wwid{wB}->{'cluster-state'},
    'missing',
    'active node not assembling the LUN rolls up to missing',
);
is(
    $by_wwid{wB}->{nodes}->{nodeB}->{state},
    'missing',
    'missing marked on the active node lacking it',
);

is(
    $by_wwid{wZ}->{'cluster-state'},
    'missing',
    'allow-listed WWID no active node assembled is missing everywhere',
);
is($by_wwid{wZ}->{nodes}->{nodeA}->{state}, 'missing', 'active node missing the allow-listed WWID');
ok(!exists $by_wwid{wZ}->{nodes}->{nodeC}, 'offline node contributes no cell for an unseen WWID');

# a WWID only an offline node ever reported, with no online active node, is unknown
my $agg_off = PVE::Multipath::aggregate_cluster_status(
    ['wA'],
    {},
    {},
    { dead => { wA => { state => 'optimal', 'paths-active' => 2, 'paths-total' => 2 } } },
    { dead => 0 },
);
is(
    $agg_off->[0]->{'cluster-state'},
    'unknown',
    'no online active node leaves the cluster-state unknown',
);
is($agg_off->[0]->{nodes}->{dead}->{state}, 'unknown', 'stale offline node shown as unknown');

# failure outranks degraded in the roll-up
my $agg2 = PVE::Multipath::aggregate_cluster_status(
    ['wA'],
    {},
    {},
    {
        n1 => { wA => { state => 'degraded', 'paths-active' => 1, 'paths-total' => 2 } },
        n2 => { wA => { state => 'failed', 'paths-active' => 0, 'paths-total' => 2 } },
    },
    { n1 => 1, n2 => 1 },
);
is($agg2->[0]->{'cluster-state'}, 'failed', 'failed outranks degraded in the cluster roll-up');

# --- expected-node set: a node that lost all paths (silent) must not vanish ---
# nodeS is expected (a multipath storage is enabled there) and online, but
# broadcasts nothing - e.g. every path to the SAN is down so it cleared its KV.
my $exp_kv = {
    nodeA => { wA => { state => 'optimal', 'paths-active' => 2, 'paths-total' => 2 } },
};
my $online = { nodeA => 1, nodeS => 1, nodeOff => 0 };
my $expected = { nodeA => 1, nodeS => 1, nodeOff => 1 };
my $eagg = PVE::Multipath::aggregate_cluster_status(
    ['wA'], {}, {}, $exp_kv, $online, $expected,
);
my $row = $eagg->[0];
is($row->{nodes}->{nodeA}->{state}, 'optimal', 'reporting node keeps its real state');
is(
    $row->{nodes}->{nodeS}->{state},
    'missing',
    'expected online but silent node shows missing instead of vanishing',
);
is($row->{nodes}->{nodeOff}->{state}, 'unknown', 'expected offline node shows unknown');
is($row->{'cluster-state'}, 'missing', 'a silent expected node drags the cluster-state to missing');

# without $expected the silent node would have been invisible (regression guard
# for the old behavior, proving the new param is what surfaces it)
my $noexp = PVE::Multipath::aggregate_cluster_status(['wA'], {}, {}, $exp_kv, $online);
ok(
    !exists $noexp->[0]->{nodes}->{nodeS},
    'without the expected set the silent node is absent (the gap the param closes)',
);
is($noexp->[0]->{'cluster-state'}, 'optimal', 'and the cluster-state would falsely read optimal');

# expected augmentation applies only to allow-listed WWIDs, not to a LUN that a
# node merely happens to report off-list
my $offlist = PVE::Multipath::aggregate_cluster_status(
    [],
    {},
    {},
    { nodeA => { wX => { state => 'optimal', 'paths-active' => 1, 'paths-total' => 1 } } },
    { nodeA => 1, nodeS => 1 },
    { nodeA => 1, nodeS => 1 },
);
ok(
    !exists $offlist->[0]->{nodes}->{nodeS},
    'non-allow-listed WWID does not synthesize missing cells for expected nodes',
);

done_testing();
