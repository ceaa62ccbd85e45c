#!/usr/bin/perl

# The binding layer itself: data conversion both ways, errors, panics and
# memory, through the test-only PVE::RS::Multipath::Selftest package (a
# library built with --features selftest).

use strict;
use warnings;

use Test::More;

use PVE::RS::Multipath;
use PVE::RS::Multipath::Selftest;

my sub echo { return PVE::RS::Multipath::Selftest::echo(@_) }

my sub rss_kib {
    open(my $fh, '<', '/proc/self/status') or die "cannot read /proc/self/status: $!\n";
    while (my $line = <$fh>) {
        return $1 if $line =~ m/^VmRSS:\s+(\d+)\s+kB/;
    }
    die "no VmRSS in /proc/self/status\n";
}

like(PVE::RS::Multipath::version(), qr/^\d+\.\d+\.\d+$/, 'root package exports version()');

my $nested = {
    name => "Grüße, \x{2603} and \x{1F600}",
    'empty-hash' => {},
    'empty-array' => [],
    nothing => undef,
    list => [1, -1, 0, 'zero', [], {}, [undef, [[]]]],
    numbers => {
        small => 42,
        negative => -4_294_967_297,
        'beyond-32-bit' => 1_099_511_627_776,
        'max-i64' => 9_223_372_036_854_775_807,
        'max-u64' => 18_446_744_073_709_551_615,
        float => 0.25,
    },
    "k\x{e9}y" => 'non-ASCII key',
};

my @round_trips = (
    ['undef', undef],
    ['empty string', ''],
    ['ASCII string', 'plain'],
    ['character string', "caf\x{e9} \x{263A}"],
    ['integer', 7],
    ['negative integer', -7],
    ['integer beyond 2^32', 4_294_967_296 * 3],
    ['float', 1.5],
    ['empty hash', {}],
    ['empty array', []],
    ['nested data', $nested],
);

for my $case (@round_trips) {
    my ($what, $value) = $case->@*;
    is_deeply(echo($value), $value, "round trip: $what");
}

my $back = echo($nested);
ok(utf8::is_utf8($back->{name}), 'non-ASCII text comes back as a character string');
is(length($back->{name}), length($nested->{name}), 'characters are kept, not bytes');
ok(exists($back->{"k\x{e9}y"}), 'non-ASCII hash keys are kept');
is($back->{numbers}->{'max-u64'}, 18_446_744_073_709_551_615, 'u64 max stays an integer');
is($back->{numbers}->{'beyond-32-bit'} + 1, 1_099_511_627_777, 'a 40-bit integer is exact');

# a byte string (as read from a file) that is UTF-8 arrives as text
my $bytes = "Gr\xc3\xbc\xc3\x9fe";
ok(!utf8::is_utf8($bytes), 'precondition: a byte string');
is(echo($bytes), "Gr\x{fc}\x{df}e", 'UTF-8 bytes from a file decode to characters');
is(echo("caf\xe9"), "caf\x{e9}", 'a Latin-1 byte string keeps its characters');

# numbers that Perl holds as strings stay strings; integers stay integers
my $from_file = '18';
is(PVE::RS::Multipath::Selftest::add($from_file, 2), 20, 'numeric strings serve as numbers');
is(PVE::RS::Multipath::Selftest::add(2**40), 2**40, 'integral floats serve as integers');

is(PVE::RS::Multipath::Selftest::truth(1 == 1), 0, 'bool arguments accept Perl truth');
is(PVE::RS::Multipath::Selftest::truth(JSON::PP::false()), 1, 'JSON::PP::Boolean is a bool')
    if eval { require JSON::PP; 1 };
is_deeply(
    PVE::RS::Multipath::Selftest::echo_list([1, 'two', undef]),
    [1, 'two', undef],
    'array reference argument',
);

my @bad_calls = (
    [
        'error result',
        sub { PVE::RS::Multipath::Selftest::fail('something went wrong') },
        qr/^something went wrong\n\z/,
    ],
    [
        'missing argument',
        sub { PVE::RS::Multipath::Selftest::add() },
        qr/^add: missing argument 'a'\n\z/,
    ],
    [
        'too many arguments',
        sub { PVE::RS::Multipath::Selftest::add(1, 2, 3) },
        qr/^add: too many arguments \(got 3, takes at most 2\)\n\z/,
    ],
    [
        'wrong type',
        sub { PVE::RS::Multipath::Selftest::add('abc') },
        qr/^add: argument 'a': type check \('integer'\) failed - got 'abc'\n\z/,
    ],
    [
        'hash where a list is meant',
        sub { PVE::RS::Multipath::Selftest::echo_list({}) },
        qr/^echo_list: argument 'values': invalid type: map, expected a sequence\n\z/,
    ],
    [
        'code reference',
        sub {
            echo(sub { 1 });
        },
        qr/^echo: argument 'value': a code reference cannot be passed\n\z/,
    ],
    [
        'reference cycle',
        sub {
            my $cycle = {};
            $cycle->{self} = $cycle;
            my $result = eval { echo($cycle) };
            delete $cycle->{self};
            die $@ if $@;
            return $result;
        },
        qr/nested deeper than \d+ levels/,
    ],
    [
        'panic',
        sub { PVE::RS::Multipath::Selftest::panic('deliberate') },
        qr/^internal error in panic: deliberate\n\z/,
    ],
);

for my $case (@bad_calls) {
    my ($what, $code, $expected) = $case->@*;
    eval { $code->() };
    like($@, $expected, "clear exception: $what");
}

# after a panic the library keeps working
is(PVE::RS::Multipath::Selftest::add(1, 1), 2, 'the next call after a panic works');

{
    # the panic hook reports each panic on stderr: keep the test output clean
    open(my $saved_stderr, '>&', \*STDERR) or die "cannot dup stderr: $!\n";
    open(STDERR, '>', '/dev/null') or die "cannot silence stderr: $!\n";
    for (1 .. 100) {
        eval { PVE::RS::Multipath::Selftest::panic('again') };
    }
    open(STDERR, '>&', $saved_stderr) or die "cannot restore stderr: $!\n";
}
is(echo('alive'), 'alive', 'a hundred panics later the process is still fine');

# memory: 100,000 calls with nested data in and out keep RSS flat
my $payload = {
    maps => [map { { wwid => "3600a0b80000$_", paths => [1 .. 4], name => "lun\x{e9}$_" } } 1 .. 4],
    nothing => undef,
};
echo($payload) for 1 .. 1000;    # warm up allocator pools
my $before = rss_kib();
for my $i (1 .. 100_000) {
    my $copy = echo($payload);
    eval { PVE::RS::Multipath::Selftest::fail('x') } if $i % 10 == 0;
}
my $growth = rss_kib() - $before;
cmp_ok($growth, '<', 8 * 1024, "100,000 calls grow RSS by less than 8 MiB (grew $growth KiB)");

done_testing();
