#!/usr/bin/perl

# The per-node broadcast: the series' summary shape, and our compact,
# versioned KV value (1,000 LUNs in one 32 KiB value, nothing lost beyond).

use strict;
use warnings;

use JSON::PP ();
use Test::More;

use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Status;

my $KV_LIMIT = 32 * 1024;    # pmxcfs refuses values of this size and more
my $NOW = 1_764_043_200;

my sub parse {
    my ($file) = @_;
    open(my $fh, '<', "fixtures/maps/$file") or die "cannot open '$file': $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return PVE::RS::Multipath::Maps::parse_maps_json($text);
}

# WWIDs as LIO makes them: 36001405 and a random serial
my sub wwid { sprintf('36001405%09x%016x', ($_[0] * 2654435761) % 2**32, $_[0] * 7919) }

my sub maps_for {
    my ($count, %opts) = @_;
    return [
        map {
            my $state = $opts{state}->($_);
            {
                wwid => wwid($_),
                health => $state,
                'paths-active' => $state eq 'optimal' ? 4 : $state eq 'degraded' ? 2 : 0,
                'paths-total' => 4,
                'paths-expected' => 4,
                transport => 'iscsi',
                size => (1 + $_ % 50) * 2**34 + $_ * 512,
            }
        } 0 .. $count - 1
    ];
}

# --- the series' summary shape --------------------------------------------
my $summary = PVE::RS::Multipath::Status::summarize_maps(parse('scsi-02-one-path-offline.json'));
is_deeply(
    $summary,
    { '35000c50015ea71ac' => { state => 'degraded', 'paths-active' => 1, 'paths-total' => 2 } },
    'summary of a real capture in the series shape',
);
is_deeply(PVE::RS::Multipath::Status::summarize_maps([]), {}, 'no maps, empty summary');

# --- round trips --------------------------------------------------------------
my @cases = (
    # name, LUN count, state of LUN i, at most this many values
    ['1,000 optimal LUNs x 4 paths', 1000, sub { 'optimal' }, 1],
    [
        '1,000 LUNs, every 7th degraded, every 13th failed', 1000,
        sub { $_[0] % 13 == 0 ? 'failed' : $_[0] % 7 == 0 ? 'degraded' : 'optimal' }, 1
    ],
    ['2,500 LUNs', 2500, sub { 'optimal' }, 3],
    ['one LUN', 1, sub { 'failed' }, 1],
);
for my $case (@cases) {
    my ($name, $count, $state, $max_values) = $case->@*;
    my $maps = maps_for($count, state => $state);
    my $values = PVE::RS::Multipath::Status::encode_broadcast($maps, $NOW, undef);
    ok(scalar($values->@*) <= $max_values, "$name: " . scalar($values->@*) . " value(s)");
    my %back;
    for my $value ($values->@*) {
        ok(length($value) < $KV_LIMIT, "$name: " . length($value) . ' bytes fit one KV value');
        my $part = PVE::RS::Multipath::Status::decode_broadcast($value);
        is($part->{time}, $NOW, "$name: report time");
        is($part->{parts}, scalar($values->@*), "$name: part count");
        is($part->{dropped}, 0, "$name: nothing dropped");
        %back = (%back, $part->{luns}->%*);
    }
    is(scalar(keys %back), $count, "$name: every LUN back");
    my @wrong = grep {
        my $lun = $back{ $_->{wwid} };
              !$lun
            || $lun->{state} ne $_->{health}
            || $lun->{'paths-active'} != $_->{'paths-active'}
            || $lun->{'paths-total'} != 4
            || $lun->{'paths-expected'} != 4
            || $lun->{transport} ne 'iscsi'
            || $lun->{size} != $_->{size}
    } $maps->@*;
    is(scalar(@wrong), 0, "$name: every field round-trips") or diag explain $wrong[0];
}

# the aggregation reads the same values back, all parts together
my $maps = maps_for(2500, state => sub { 'optimal' });
my $values = PVE::RS::Multipath::Status::encode_broadcast($maps, $NOW, undef);
my $status = PVE::RS::Multipath::Status::aggregate_status({
    kv => { n1 => $values },
    online => { n1 => 1 },
    now => $NOW,
    interval => 10,
});
is(scalar($status->{luns}->@*), 2500, 'all parts aggregate into one node view');
is($status->{nodes}->{n1}->{luns}, 2500, 'node reports 2,500 LUNs');

# --- past the limit: the healthiest are left out, and that is said ---------
$maps = maps_for(300, state => sub { $_[0] % 30 == 0 ? 'failed' : 'optimal' });
$values = PVE::RS::Multipath::Status::encode_broadcast($maps, $NOW, undef, 500);
my (%kept, $dropped);
for my $value ($values->@*) {
    my $part = PVE::RS::Multipath::Status::decode_broadcast($value);
    %kept = (%kept, $part->{luns}->%*);
    $dropped = $part->{dropped};
}
ok($dropped > 0, "tiny values: $dropped LUNs left out and counted");
is(scalar(keys %kept) + $dropped, 300, 'kept and dropped add up');
is(scalar(grep { $_->{state} eq 'failed' } values %kept), 10, 'every failed LUN kept');
$status = PVE::RS::Multipath::Status::aggregate_status({
    allow_list => [map { $_->{wwid} } $maps->@*],
    kv => { n1 => $values },
    online => { n1 => 1 },
    expected_nodes => ['n1'],
    now => $NOW,
    interval => 10,
});
my %states;
$states{ $_->{nodes}->{n1}->{state} }++ for $status->{luns}->@*;
is($states{missing}, undef, 'a left-out LUN is never shown missing');
is($states{unknown}, $dropped, 'left-out LUNs read unknown');
like($status->{nodes}->{n1}->{error}, qr/truncated/, 'the node view says it is truncated');

# --- the apply error travels along -----------------------------------------
for my $error ("multipath-tools not installed", "reload failed:\nline 2 \"quoted\" 100%") {
    my ($value) = PVE::RS::Multipath::Status::encode_broadcast([], $NOW, $error)->@*;
    unlike($value, qr/[^\x20-\x7e\n]/, 'plain ASCII on the wire');
    is(PVE::RS::Multipath::Status::decode_broadcast($value)->{'apply-error'},
        $error, 'apply error round-trips');
}

# the golden value: what this version writes for fixtures/status/pmp1-maps.json
{
    my $slurp = sub { open(my $fh, '<', $_[0]) or die "$_[0]: $!\n"; local $/; <$fh> };
    my $input = JSON::PP::decode_json($slurp->('fixtures/status/pmp1-maps.json'));
    my $golden = $slurp->('fixtures/status/pmp2-value.txt');
    is_deeply(
        PVE::RS::Multipath::Status::encode_broadcast(
            $input->{maps}, $input->{now}, $input->{'apply-error'},
            undef, '0.11.1'
        ),
        [$golden],
        'the golden value is what this version writes',
    );
    # pmp1, the previous version, is still read
    for my $file ('pmp1-value.txt', 'pmp2-value.txt') {
        my $part = PVE::RS::Multipath::Status::decode_broadcast($slurp->("fixtures/status/$file"));
        is($part->{'apply-error'}, $input->{'apply-error'}, "golden $file: apply error");
        for my $map ($input->{maps}->@*) {
            my $lun = $part->{luns}->{ $map->{wwid} };
            is_deeply(
                [$lun->@{qw(state paths-active paths-total paths-expected size)}],
                [$map->@{qw(health paths-active paths-total paths-expected size)}],
                "golden $file: $map->{wwid}",
            );
        }
    }
}

eval { PVE::RS::Multipath::Status::encode_broadcast([], $NOW, undef, 40_000) };
like($@, qr/exceeds the KV limit/, 'a value size above the KV limit is refused');

done_testing();
