#!/usr/bin/perl

# Lost redundancy: the high-water mark of paths per WWID and the configured
# `paths-expected`, replayed over the real capture sequence of one node.

use strict;
use warnings;

use Test::More;

use PVE::RS::Multipath::Config;
use PVE::RS::Multipath::Maps;

my $WWID = '35000c50015ea71ac';

my sub slurp {
    my ($file) = @_;
    open(my $fh, '<', "fixtures/maps/$file") or die "cannot open '$file': $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return $text;
}

# One node_maps call: the maps judged against the config (as parsed) and the
# kept mark, and the new mark.
my sub node_maps {
    my ($file, $mark, $config_text) = @_;
    my $cfg =
        defined($config_text)
        ? PVE::RS::Multipath::Config::parse_section_config('multipath.cfg', $config_text)
        : undef;
    my $result = PVE::RS::Multipath::Maps::node_maps({
        maps_json => slurp($file),
        config => $cfg,
        high_water => $mark,
    });
    return ($result->{maps}, $result->{'high-water'});
}

# The capture sequence as pvestatd would see it, pass by pass:
# file, expected health, paths-expected, reason (regex or undef)
my @sequence = (
    ['scsi-01-optimal.json', 'optimal', 2, undef],
    ['scsi-02-one-path-offline.json', 'degraded', 2, qr/^1 of 2 paths failed$/],
    ['scsi-03-one-path-failed-by-operator.json', 'degraded', 2, qr/1 of 2 paths failed/],
    # the removed path is gone from the JSON: only the expectation notices
    ['scsi-04-one-path-removed.json', 'degraded', 2, qr/^1 of 2 expected paths present$/],
    ['scsi-05-path-readded.json', 'optimal', 2, undef],
    ['scsi-06-all-paths-failed.json', 'failed', 2, qr/all 2 paths failed/],
    ['scsi-07-restored.json', 'optimal', 2, undef],
);

my $state = undef;    # no high-water state file yet
for my $step (@sequence) {
    my ($file, $health, $expected, $reason) = $step->@*;
    my ($maps, $mark) = node_maps($file, $state);
    $state = $mark;
    my ($map) = $maps->@*;
    is($map->{health}, $health, "$file: $health");
    is($map->{'paths-expected'}, $expected, "$file: paths-expected $expected");
    is($map->{'expected-from'}, 'high-water', "$file: expectation from the high-water mark");
    if ($reason) {
        like($map->{reason}, $reason, "$file: reason");
    } else {
        ok(!defined($map->{reason}), "$file: no reason when optimal");
    }
}
is_deeply($state, { $WWID => 2 }, 'the mark stays at the most paths seen');

# without any history a node that only ever saw one path cannot know better
my ($alone_maps, $fresh) = node_maps('scsi-04-one-path-removed.json', undef);
is_deeply($fresh, { $WWID => 1 }, 'a fresh mark starts at what is seen');
is($alone_maps->[0]->{health}, 'optimal', 'one of one path seen reads optimal');

# the config's paths-expected (per WWID, else the defaults') wins
my @config = (
    [
        "wwid: $WWID\n\tpaths-expected 4\n", { $WWID => 2 },
        'scsi-01-optimal.json', 'degraded',
        4, 'config'
    ],
    [
        "wwid: $WWID\n\tpaths-expected 2\n", { $WWID => 9 },
        'scsi-04-one-path-removed.json', 'degraded',
        2, 'config'
    ],
    [
        "wwid: $WWID\n\tpaths-expected 1\n", { $WWID => 2 },
        'scsi-04-one-path-removed.json', 'optimal',
        1, 'config'
    ],
    ["wwid: $WWID\n", { $WWID => 2 }, 'scsi-01-optimal.json', 'optimal', 2, 'high-water'],
    ["wwid: $WWID\n", {}, 'scsi-01-optimal.json', 'optimal', 2, 'high-water'],
    [
        "wwid: $WWID\n\tpaths-expected 4\n", {},
        'scsi-06-all-paths-failed.json', 'failed',
        4, 'config'
    ],
);
for my $case (@config) {
    my ($config, $mark, $file, $health, $expected, $from) = $case->@*;
    my ($maps) = node_maps($file, $mark, $config);
    my $what = "$file with '" . ($config =~ s/\n/ /gr) . "' / mark " . join(',', %$mark);
    is($maps->[0]->{health}, $health, "$what: $health");
    is($maps->[0]->{'paths-expected'}, $expected, "$what: paths-expected");
    is($maps->[0]->{'expected-from'}, $from, "$what: from");
}

# garbage in the state file does not hurt; WWIDs off the allow-list are forgotten
my (undef, $repaired) =
    node_maps('scsi-01-optimal.json', { $WWID => 'garbage', gone => [1], old => '3' });
is_deeply($repaired, { $WWID => 2, old => 3 }, 'unusable state entries are dropped');
my (undef, $kept) = node_maps('scsi-01-optimal.json', { $WWID => 2, old => 3 }, "wwid: $WWID\n");
is_deeply($kept, { $WWID => 2 }, 'WWIDs outside the allow-list are forgotten');
(undef, $kept) = node_maps('scsi-01-optimal.json', ['not', 'a', 'hash']);
is_deeply($kept, { $WWID => 2 }, 'a state file that is no hash reads as no mark');

# sysfs facts: the size of the dm device, the transport of each path from
# where its /sys/block link points
my $session = '../devices/platform/host6/session1/target6:0:0/6:0:0:1/block';
my $result = PVE::RS::Multipath::Maps::node_maps({
    maps_json => slurp('scsi-01-optimal.json'),
    sysfs => {
        sizes => { 'dm-0' => 512 },
        links => { sda => "$session/sda", sdb => "$session/sdb" },
    },
});
is($result->{maps}->[0]->{size}, 512, 'size from sysfs');
is($result->{maps}->[0]->{transport}, 'iscsi', 'transport from the sysfs links');
eval { PVE::RS::Multipath::Maps::node_maps({ maps_json => '{', sysfs => {} }) };
like($@, qr/could not parse multipathd maps JSON/, 'bad multipathd output is an error');

done_testing();
