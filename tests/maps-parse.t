#!/usr/bin/perl

# parse_maps_json against every real capture in fixtures/maps: each parses to
# the health a person reading `multipath -ll` states. Where the capture has a
# `multipath -ll` taken at the same moment, the verdict is also derived from
# that text independently and both must agree.

use strict;
use warnings;

use Test::More;

use PVE::Multipath::TestCorpus qw(slurp tsv_rows);
use PVE::RS::Multipath::Maps;

my $DIR = 'fixtures/maps';

# The oracle: path lines of `multipath -ll` ("`- 0:0:0:0 sda 8:0 active ready running").
my sub health_from_ll {
    my ($text) = @_;
    my ($total, $usable) = (0, 0);
    for my $line (split(/\n/, $text)) {
        next if $line !~ m/^[\s|`-]*\d+:\d+:\d+:\d+\s+(\S+)\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)/;
        my ($dm, $check, $dev) = ($2, $3, $4);
        $total++;
        $usable++ if $dm eq 'active' && $check =~ m/^(ready|ghost)$/ && $dev ne 'offline';
    }
    return undef if !$total;
    return 'failed' if !$usable;
    return $usable < $total ? 'degraded' : 'optimal';
}

my @table;
for my $row (tsv_rows("$DIR/health.tsv")) {
    my ($file, $count, $health, $total, $active, $queueing) = $row->@*;
    push @table,
        {
        file => $file,
        count => $count,
        health => $health,
        total => $total,
        active => $active,
        queueing => $queueing,
        };
}
ok(scalar(@table) >= 20, 'the health table lists the captures');

my @json = grep { !m/^malformed-/ } map { s{.*/}{}r } glob("$DIR/*.json");
my %listed = map { $_->{file} => 1 } @table;
is_deeply([grep { !$listed{$_} } @json], [], 'every JSON fixture is in the health table');

for my $case (@table) {
    my $file = $case->{file};
    my $maps = eval { PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/$file")) };
    is($@, '', "$file parses");
    is(scalar($maps->@*), $case->{count}, "$file: map count");
    next if !$case->{count};
    my $map = $maps->[0];
    is($map->{health}, $case->{health}, "$file: health $case->{health}");
    is($map->{'paths-total'}, $case->{total}, "$file: paths-total");
    is($map->{'paths-active'}, $case->{active}, "$file: paths-active");
    is($map->{queueing} // '-', $case->{queueing}, "$file: queueing");
    is(
        defined($map->{reason}) ? 1 : 0,
        $case->{health} eq 'optimal' ? 0 : 1,
        "$file: a reason exactly when not optimal"
    );
    like($map->{wwid}, qr/^3[0-9a-f]+$/, "$file: WWID from uuid");

    (my $ll = "$DIR/$file") =~ s/\.json$/.ll.txt/;
    if (-f $ll && $file !~ m/single-map/) {
        is($map->{health}, health_from_ll(slurp($ll)), "$file: agrees with multipath -ll");
    }
    for my $path (map { $_->{paths}->@* } $map->{'path-groups'}->@*) {
        ok(!grep({ defined($_) && $_ eq '[undef]' } values $path->%*), "$file: no '[undef]' left")
            or diag explain $path;
    }
}

# the singular "map" object of `show map NAME json` is the same map
my $one = PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/scsi-01-optimal.single-map.json"));
my $all = PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/scsi-01-optimal.json"));
is_deeply($one, $all, 'show map NAME json parses like show maps json');

# fields an operator needs, from the real capture
my ($offline) =
    PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/scsi-02-one-path-offline.json"))->@*;
is($offline->{vendor}, 'LAB', 'vendor');
is($offline->{product}, 'MPATH-LUN', 'product');
is($offline->{'path-faults'}, 1, 'path fault counter');
is($offline->{reason}, '1 of 2 paths failed', 'the reason says how many failed');
my $sdb = $offline->{'path-groups'}->[1]->{paths}->[0];
is_deeply(
    [$sdb->@{qw(dev dm-state dev-state check-state)}],
    ['sdb', 'failed', 'offline', 'faulty'],
    'the failed path as multipath -ll shows it',
);

my ($queued) =
    PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/edge-02-queue-all-failed.json"))->@*;
like($queued->{reason}, qr/queued/, 'queueing without paths says that I/O is queued');
is($queued->{features}, '1 queue_if_no_path', 'features kept');

# iSCSI: the target name sits in target_wwnn
my ($iscsi) =
    PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/synthetic-iscsi-one-session-down.json"))
    ->@*;
my $up = $iscsi->{'path-groups'}->[0]->{paths}->[0];
is($up->{transport}, 'iscsi', 'iSCSI transport from the target IQN');
is($up->{'target-iqn'}, 'iqn.2026-11.lab.mpath:lun1', 'target IQN');
is($up->{'host-adapter'}, '10.0.2.15', 'initiator address');
ok(!exists $iscsi->{'path-groups'}->[1]->{paths}->[0]->{'host-adapter'},
    'no host adapter while the session is down');
is($iscsi->{health}, 'degraded', 'a downed session degrades the map');

# malformed output: a clear error naming where
my @bad = (
    ["$DIR/malformed-unescaped-quote.json", qr/at line 17 column \d+ near '"vend" : "LA"B/],
    ["$DIR/malformed-truncated.json", qr/output ends early \(truncated\?\).*line \d+/],
    ["$DIR/malformed-unknown-map-fail.txt", qr/multipathd answered 'fail'/],
    [\'', qr/empty output/],
    [\"show paths json\n: Missing argument\n", qr/expected a JSON object at line 1/],
    [\'{"maps": {}}', qr/at line 1 column/],
    [\'{"major_version": 0}', qr/neither a 'maps' list nor a 'map' object/],
);
for my $case (@bad) {
    my ($input, $expect) = $case->@*;
    my $text = ref($input) ? $input->$* : slurp($input);
    my $name = ref($input) ? "'" . substr($input->$*, 0, 20) . "'" : $input;
    eval { PVE::RS::Multipath::Maps::parse_maps_json($text) };
    like($@, qr/^could not parse multipathd maps JSON: /, "$name: clear error");
    like($@, $expect, "$name: says what and where");
    like($@, qr/\n\z/, "$name: message ends in a newline");
}

# values that recur (states, the health) share their string buffer with each other; each must
# still be a scalar of its own
{
    my $maps = PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/scsi-01-optimal.json"));
    my @paths = map { $_->{paths}->@* } $maps->[0]->{'path-groups'}->@*;
    is($paths[0]->{'dm-state'}, $paths[1]->{'dm-state'}, 'both paths in the same dm state');
    $paths[0]->{'dm-state'} .= '-changed';
    substr($maps->[0]->{health}, 0, 1, 'X');
    my $again = PVE::RS::Multipath::Maps::parse_maps_json(slurp("$DIR/scsi-01-optimal.json"));
    my @fresh = map { $_->{paths}->@* } $again->[0]->{'path-groups'}->@*;
    is($paths[1]->{'dm-state'}, 'active', 'changing one state leaves the other as it was');
    is($fresh[0]->{'dm-state'}, 'active', '... and the next result too');
    is($again->[0]->{health}, 'optimal', 'a changed health is no later health');
    is(length($paths[0]->{'dm-state'}), length('active-changed'), 'the changed one is changed');
}

is_deeply(
    PVE::RS::Multipath::Maps::health_states(),
    { HEALTH_OPTIMAL => 'optimal', HEALTH_DEGRADED => 'degraded', HEALTH_FAILED => 'failed' },
    'the HEALTH_* constants',
);

done_testing();
