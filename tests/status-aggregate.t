#!/usr/bin/perl

# The cluster health matrix from raw KV values: hostile peers never fail the
# call, stale reporters read unknown, `missing` only where a LUN is expected.

use strict;
use warnings;

use Test::More;

use PVE::RS::Multipath::Config;
use PVE::RS::Multipath::Status;

my $NOW = 1_764_043_200;
my $INTERVAL = 10;

my sub value {
    my ($time, $luns, $error) = @_;
    my $maps = [
        map {
            my ($wwid, $health, $active, $total) = $_->@*;
            {
                wwid => $wwid,
                health => $health,
                'paths-active' => $active,
                'paths-total' => $total,
                'paths-expected' => $total,
                transport => 'fc',
                size => 2**30,
            }
        } $luns->@*
    ];
    my $values = PVE::RS::Multipath::Status::encode_broadcast($maps, $time, $error);
    return scalar($values->@*) == 1 ? $values->[0] : $values;
}

my $good = value($NOW - 5, [['wA', 'optimal', 2, 2]]);
(my $future_version = $good) =~ s/^pmp2 /pmp9 /;
(my $odd_state = $good) =~ s/^(\S+ )O/$1Z/m;
my @parts = PVE::RS::Multipath::Status::encode_broadcast(
    [
        map { {
            wwid => sprintf('w%04d', $_),
            health => 'optimal',
            'paths-total' => 2,
            'paths-active' => 2
        } } 1 .. 60
    ],
    $NOW, undef, 600
)->@*;

# --- hostile values: name, value of node n1, reason pattern -----------------
my @hostile = (
    ['not a summary', 'hello world', qr/not a multipath summary/],
    ['series JSON string (no report time)', '{"wA":{"state":"optimal"}}', qr/series JSON/],
    ['a number', 42, qr/number instead of a summary/],
    ['binary junk', "\x00\xff\xfe pmp1", qr/non-ASCII byte at offset 1/],
    ['oversized', 'pmp1 1 1/1 0' . ('x' x 100_000), qr/exceeds the 32 KiB KV limit/],
    ['wrong version', $future_version, qr/unsupported summary version '9'/],
    ['cut off', substr($good, 0, length($good) - 4), qr/line \d+/],
    ['cut off at a line end', $good =~ s/end 1\n//r, qr/ends early/],
    ['old (4 intervals)', value($NOW - 4 * $INTERVAL, [['wA', 'optimal', 2, 2]]), qr/40 s old/],
    ['bad counts', "pmp1 $NOW 1/1 0\n0xwA O3/2f\n", qr/3 of 2 paths active/],
    [
        'parts from different reports',
        [$parts[0], $parts[1] =~ s/^pmp2 \d+/pmp2 1/r],
        qr/not received/
    ],
    ['a list of junk', [1, 2], qr/./],
    [
        'a report from the future',
        value($NOW + 4 * $INTERVAL, [['wA', 'optimal', 2, 2]]),
        qr/40 s in the future/
    ],
    ['a million parts claimed', "pmp2 $NOW 1/1000000 0 -\n0xwA O2f\nend 1\n", qr/bad part/],
    ['a WWID we would refuse', "pmp2 $NOW 1/1 0 -\n0xw%0A%3Cscript%3E O2f\nend 1\n", qr/bad WWID/],
    ['a WWID with a NUL', "pmp2 $NOW 1/1 0 -\n0xb%00c O2f\nend 1\n", qr/bad WWID 'b\\u\{0\}c'/],
);
for my $case (@hostile) {
    my ($name, $raw, $reason) = $case->@*;
    my $status = eval {
        PVE::RS::Multipath::Status::aggregate_status({
            allow_list => ['wA'],
            kv => { n0 => $good, n1 => $raw },
            online => { n0 => 1, n1 => 1 },
            expected_by_lun => { wA => ['n0', 'n1'] },
            now => $NOW,
            interval => $INTERVAL,
        });
    };
    is($@, '', "$name: the call does not fail");
    my ($row) = grep { $_->{wwid} eq 'wA' } $status->{luns}->@*;
    is($row->{nodes}->{n0}->{state}, 'optimal', "$name: the good node is unaffected");
    is($row->{nodes}->{n1}->{state}, 'unknown', "$name: the node's cell is unknown");
    my $why = join(' | ', grep { defined } $row->{nodes}->{n1}->{reason},
        $status->{nodes}->{n1}->{error});
    like($why, $reason, "$name: with a reason") or diag explain $status->{nodes}->{n1};
    is($row->{'cluster-state'}, 'optimal', "$name: unknown does not drive the roll-up");
}

# an unrecognised state letter is clamped, the rest of the value is used
my $clamped = PVE::RS::Multipath::Status::aggregate_status({
    allow_list => ['wA'],
    kv => { n1 => $odd_state },
    online => { n1 => 1 },
    now => $NOW,
    interval => $INTERVAL,
});
is($clamped->{luns}->[0]->{nodes}->{n1}->{state}, 'unknown', 'unknown state letter clamped');
is($clamped->{luns}->[0]->{nodes}->{n1}->{'paths-total'}, 2, 'its counts still shown');

# the series form with decoded hashes: unrecognised states clamped, junk entries too
my $series = PVE::RS::Multipath::Status::aggregate_cluster_status(
    ['wA', 'wB'],
    {}, {},
    { n1 => { wA => { state => 'exploded', 'paths-total' => 'x' }, wB => 'junk' } },
    { n1 => 1 },
);
is_deeply(
    [map { $_->{nodes}->{n1}->{state} } $series->@*],
    ['unknown', 'unknown'],
    'series form: unrecognised states and junk entries read unknown'
);
eval { PVE::RS::Multipath::Status::aggregate_cluster_status(['wA'], {}, {}, ['n1'], { n1 => 1 }) };
is(
    "$@",
    "aggregate_cluster_status: argument 'node_kv': expected a hash reference, got an array reference\n",
    'series form: node KV values that are no hash are named'
);
is_deeply(
    PVE::RS::Multipath::Status::aggregate_cluster_status(['wA'], {}, {}, undef, { n1 => 1 }),
    [{ wwid => 'wA', 'cluster-state' => 'unknown', nodes => {} }],
    'series form: no node KV values, no cells'
);

# --- v2 semantics over a small cluster ---------------------------------------
# n1 fine, n2 degraded on wA, n3 stale, n4 offline with an old value, n5 silent
# but expected, n6 restricted away from wB, n7 reports an apply error
my $status = PVE::RS::Multipath::Status::aggregate_status({
    allow_list => ['wA', 'wB', 'wZ'],
    aliases => { wA => 'lun-a' },
    used_by => { wB => 'vg-b' },
    kv => {
        n1 => value($NOW - 2, [['wA', 'optimal', 2, 2], ['wB', 'optimal', 2, 2]]),
        n2 => value($NOW - 2, [['wA', 'degraded', 1, 2], ['wB', 'optimal', 2, 2]]),
        n3 => value($NOW - 31, [['wA', 'optimal', 2, 2], ['wQ', 'failed', 0, 2]]),
        n4 => value($NOW - 999, [['wA', 'optimal', 2, 2]]),
        n6 => value($NOW, [['wA', 'optimal', 2, 2]]),
        n7 => value($NOW, [['wA', 'optimal', 2, 2]], 'multipath-tools not installed'),
        n8 => '',
    },
    online => { map { ($_ => 1) } qw(n1 n2 n3 n5 n6 n7 n8) },
    expected_by_lun => {
        wA => [qw(n1 n2 n3 n4 n5 n6 n7)],
        wB => [qw(n1 n2 n5 n7)],
    },
    paths_expected => { wB => 4 },
    now => $NOW,
    interval => $INTERVAL,
});
my %row = map { $_->{wwid} => $_ } $status->{luns}->@*;
my @cells = (
    # wwid, node, state, reason pattern
    ['wA', 'n1', 'optimal', undef],
    ['wA', 'n2', 'degraded', qr/^1 of 2 paths failed$/],
    ['wA', 'n3', 'unknown', qr/31 s old \(more than 3 refresh intervals of 10 s\)/],
    ['wA', 'n4', 'unknown', qr/node is offline/],
    ['wA', 'n5', 'missing', qr/publishes no multipath summary/],
    ['wA', 'n7', 'optimal', undef],
    ['wB', 'n1', 'degraded', qr/^2 of 4 expected paths present$/],
    ['wB', 'n6', undef, undef],    # not expected there: no cell, not missing
    ['wB', 'n7', 'missing', qr/not assembled on this node/],
    ['wB', 'n8', undef, undef],    # cleared value, not expected
    ['wZ', 'n1', undef, undef],    # allow-listed, expected nowhere
);
for my $case (@cells) {
    my ($wwid, $node, $state, $reason) = $case->@*;
    my $cell = $row{$wwid}->{nodes}->{$node};
    if (!defined($state)) {
        ok(!defined($cell), "$wwid on $node: no cell");
        next;
    }
    is($cell->{state}, $state, "$wwid on $node: $state");
    if ($reason) {
        like($cell->{reason}, $reason, "$wwid on $node: reason");
    } else {
        ok(!defined($cell->{reason}), "$wwid on $node: no reason");
    }
}
is($row{wB}->{nodes}->{n1}->{'paths-expected'}, 4, 'the config expectation is carried');
is($row{wA}->{nodes}->{n1}->{'paths-expected'}, 2, "the node's own expectation is carried");
is($row{wA}->{'cluster-state'}, 'missing', 'wA: missing (n5) outranks degraded');
is($row{wB}->{'cluster-state'}, 'missing', 'wB: missing on n7');
is($row{wZ}->{'cluster-state'}, 'unknown', 'wZ: nobody expected, nobody reports');
is($row{wQ}->{nodes}->{n3}->{state}, 'unknown', 'an off-list LUN of a stale report: unknown');
is($row{wQ}->{'cluster-state'}, 'unknown', 'and it does not drive its row');
is($row{wA}->{alias}, 'lun-a', 'alias on the row');
is($row{wB}->{'used-by'}, 'vg-b', 'used-by on the row');
is($row{wA}->{size}, 2**30, 'size from a reporting node');
is($row{wA}->{transport}, 'fc', 'transport on the row when all nodes agree');

my $nodes = $status->{nodes};
is_deeply([sort keys %$nodes], [qw(n1 n2 n3 n4 n5 n6 n7 n8)], 'every node in the node view');
is($nodes->{n1}->{online}, 1, 'n1 online');
is($nodes->{n1}->{stale}, 0, 'n1 fresh');
is($nodes->{n1}->{'report-time'}, $NOW - 2, 'n1 report time');
is($nodes->{n3}->{stale}, 1, 'n3 stale');
is($nodes->{n4}->{online}, 0, 'n4 offline');
is($nodes->{n7}->{'apply-error'}, 'multipath-tools not installed', 'n7 apply error shown');
ok(!exists $nodes->{n5}->{'report-time'}, 'n5 never reported');

# the series' 6-argument form also takes the raw KV strings
my $raw_series = PVE::RS::Multipath::Status::aggregate_cluster_status(
    ['wA'], {}, {},
    { n1 => value($NOW, [['wA', 'optimal', 2, 2]]), n2 => value($NOW, []), n3 => 'junk' },
    { n1 => 1, n2 => 1, n3 => 1 },
);
is(ref($raw_series), 'ARRAY', 'series form returns the rows');
is($raw_series->[0]->{nodes}->{n1}->{state}, 'optimal', 'raw value decoded');
is($raw_series->[0]->{nodes}->{n2}->{state}, 'missing', 'series: a reporting node lacks it');
is($raw_series->[0]->{nodes}->{n3}->{state}, 'unknown', 'series: junk reads unknown');

# each node's multipath-tools version reaches its node row
{
    my $v = PVE::RS::Multipath::Status::encode_broadcast(
        [{ wwid => 'wA', health => 'optimal', 'paths-active' => 1, 'paths-total' => 1 }],
        $NOW, undef, undef, '0.11.1');
    my $old = value($NOW, [['wA', 'optimal', 1, 1]]);
    my $st = PVE::RS::Multipath::Status::aggregate_status({
        allow_list => ['wA'],
        kv => { n1 => $v->[0], n2 => $old },
        online => { n1 => 1, n2 => 1 },
        now => $NOW,
    });
    is($st->{nodes}->{n1}->{'multipath-tools'}, '0.11.1', 'the version a node reports');
    ok(!exists $st->{nodes}->{n2}->{'multipath-tools'}, 'none when the node did not say');
}

# the parsed config in one argument: allow-list, aliases, paths-expected
{
    my $cfg = PVE::RS::Multipath::Config::parse_section_config('multipath.cfg',
        "wwid: wA\n\talias lun-a\n\tpaths-expected 4\n\nwwid: wC\n");
    my $st = PVE::RS::Multipath::Status::aggregate_status({
        config => $cfg,
        kv => { n1 => value($NOW, [['wA', 'optimal', 2, 2]]) },
        online => { n1 => 1 },
        now => $NOW,
    });
    my %rows = map { $_->{wwid} => $_ } $st->{luns}->@*;
    is_deeply([sort keys %rows], ['wA', 'wC'], 'config: the allow-list makes the rows');
    is($rows{wA}->{alias}, 'lun-a', 'config: the alias');
    is($rows{wA}->{nodes}->{n1}->{'paths-expected'}, 4, 'config: paths-expected');
    is($rows{wA}->{nodes}->{n1}->{reason}, '2 of 4 expected paths present', 'config: judged by it');
}

# a value claiming more parts than the limit never asks for more keys
{
    my $ask = PVE::RS::Multipath::Status::parts_to_fetch({
        n1 => "pmp2 $NOW 1/1000000 0 -\n",
        n2 => "pmp2 $NOW 1/3 0 0.11.1\n",
        n3 => "pmp1 $NOW 1/16 0\n",
        n4 => 'junk',
        n5 => undef,
    });
    is_deeply(
        $ask,
        { n2 => ['multipath-2', 'multipath-3'], n3 => [map { "multipath-$_" } 2 .. 16] },
        'further parts only up to the part limit'
    );
}

for my $bad ([], 'x', undef) {
    eval { PVE::RS::Multipath::Status::aggregate_status($bad) };
    like(
        $@,
        qr/^aggregate_status: argument 'options': expected a hash reference, got (an array reference|the string 'x'|undef)\n\z/,
        'options that are no hash: ' . ($bad // 'undef')
    );
}

# expected_by_lun: each WWID's own nodes, whatever form its list takes and
# whatever the lists before it were (no node publishes: expected is missing)
{
    my @lists = (
        # wwid, its list, the nodes expected there
        ['w1', [qw(n1 n2)], [qw(n1 n2)]],
        ['w2', [qw(n1 n2)], [qw(n1 n2)]],
        ['w3', ['n1'], ['n1']],
        ['w4', [qw(n1 n2 n3)], [qw(n1 n2 n3)]],
        ['w5', [qw(n2 n1)], [qw(n1 n2)]],
        ['w6', [qw(n1 n3)], [qw(n1 n3)]],
        ['w7', { n3 => 1 }, ['n3']],
        ['w8', undef, []],
        ['w9', [], []],
        ['wa', ['n2', [], undef, { n3 => 1 }, 'n1'], [qw(n1 n2)]],
        ['wb', [7, 'n1'], [qw(7 n1)]],
    );
    my $status = PVE::RS::Multipath::Status::aggregate_status({
        allow_list => [map { $_->[0] } @lists],
        kv => {},
        online => { map { ($_ => 1) } qw(n1 n2 n3 7) },
        expected_by_lun => { map { ($_->[0] => $_->[1]) } @lists },
        now => $NOW,
    });
    my %row = map { $_->{wwid} => $_ } $status->{luns}->@*;
    for my $case (@lists) {
        my ($wwid, undef, $nodes) = $case->@*;
        my $cells = $row{$wwid}->{nodes};
        is_deeply([sort keys $cells->%*], [sort $nodes->@*], "$wwid: expected on @$nodes");
        is_deeply(
            [map { $cells->{$_}->{state} } $nodes->@*],
            [map { 'missing' } $nodes->@*],
            "$wwid: missing where expected"
        );
    }
}

# mistakes of the caller are errors, not silence
eval { PVE::RS::Multipath::Status::aggregate_status({ expected => {} }) };
like($@, qr/unknown key 'expected'/, 'an unknown option is refused');

done_testing();
