#!/usr/bin/perl

# Lost redundancy: the high-water mark of paths per WWID and the configured
# `paths-expected`, replayed over the real capture sequence of one node.

use strict;
use warnings;

use Test::More;

use PVE::RS::Multipath::Maps;

my $WWID = '35000c50015ea71ac';

my sub parse {
    my ($file) = @_;
    open(my $fh, '<', "fixtures/maps/$file") or die "cannot open '$file': $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return PVE::RS::Multipath::Maps::parse_maps_json($text);
}

# The capture sequence as pvestatd would see it, pass by pass:
# file, expected health, paths-expected, reason (regex or undef)
my @sequence = (
    ['scsi-01-optimal.json', 'optimal', 2, undef],
    ['scsi-02-one-path-offline.json', 'degraded', 2, qr/1 of 2 paths failed \(sdb\)/],
    ['scsi-03-one-path-failed-by-operator.json', 'degraded', 2, qr/1 of 2 paths failed/],
    # the removed path is gone from the JSON: only the expectation notices
    [
        'scsi-04-one-path-removed.json',
        'degraded', 2, qr/^1 of 2 expected paths present \(most paths seen 2\)$/
    ],
    ['scsi-05-path-readded.json', 'optimal', 2, undef],
    ['scsi-06-all-paths-failed.json', 'failed', 2, qr/all 2 paths failed/],
    ['scsi-07-restored.json', 'optimal', 2, undef],
);

my $state = undef;    # no high-water state file yet
for my $step (@sequence) {
    my ($file, $health, $expected, $reason) = $step->@*;
    my $maps = parse($file);
    $state = PVE::RS::Multipath::Maps::update_high_water($state, $maps);
    my ($map) = PVE::RS::Multipath::Maps::apply_expected($maps, undef, $state)->@*;
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
my $fresh =
    PVE::RS::Multipath::Maps::update_high_water(undef, parse('scsi-04-one-path-removed.json'));
is_deeply($fresh, { $WWID => 1 }, 'a fresh mark starts at what is seen');
my ($alone) =
    PVE::RS::Multipath::Maps::apply_expected(parse('scsi-04-one-path-removed.json'), {}, $fresh)
    ->@*;
is($alone->{health}, 'optimal', 'one of one path seen reads optimal');

# the config (per WWID, else defaults, resolved by the config helper) wins
my @config = (
    [{ $WWID => 4 }, { $WWID => 2 }, 'scsi-01-optimal.json', 'degraded', 4, 'config'],
    [{ $WWID => '2' }, { $WWID => 9 }, 'scsi-04-one-path-removed.json', 'degraded', 2, 'config'],
    [{ $WWID => 1 }, { $WWID => 2 }, 'scsi-04-one-path-removed.json', 'optimal', 1, 'config'],
    [{ other => 3 }, { $WWID => 2 }, 'scsi-01-optimal.json', 'optimal', 2, 'high-water'],
    [{}, {}, 'scsi-01-optimal.json', 'optimal', undef, undef],
    [{ $WWID => 4 }, {}, 'scsi-06-all-paths-failed.json', 'failed', 4, 'config'],
);
for my $case (@config) {
    my ($config, $mark, $file, $health, $expected, $from) = $case->@*;
    my ($map) = PVE::RS::Multipath::Maps::apply_expected(parse($file), $config, $mark)->@*;
    my $what = "$file with " . join(',', %$config) . ' / mark ' . join(',', %$mark);
    is($map->{health}, $health, "$what: $health");
    is($map->{'paths-expected'}, $expected, "$what: paths-expected");
    is($map->{'expected-from'}, $from, "$what: from");
}

# keys added by get_maps() survive, garbage in the state file does not hurt
my $enriched = [{ %{ parse('scsi-01-optimal.json')->[0] }, size => 268435456, used => 1 }];
my ($kept) = PVE::RS::Multipath::Maps::apply_expected($enriched, undef, { $WWID => 2 })->@*;
is($kept->{size}, 268435456, 'size kept');
is($kept->{used}, 1, 'used kept');
my $repaired =
    PVE::RS::Multipath::Maps::update_high_water({ $WWID => 'garbage', gone => [1], old => '3' },
    $enriched);
is_deeply($repaired, { $WWID => 2, old => 3 }, 'unusable state entries are dropped');
is_deeply(
    PVE::RS::Multipath::Maps::update_high_water({ $WWID => 2, old => 3 }, [], [$WWID]),
    { $WWID => 2 },
    'WWIDs outside the kept list are forgotten',
);

done_testing();
