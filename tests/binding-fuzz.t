#!/usr/bin/perl

# Randomised hostile Perl values through every export of every package:
# tied scalars, arrays and hashes (dying FETCH, FETCHSIZE claiming 2**31-1,
# endless NEXTKEY), overloaded objects, globs, code refs, dualvars, deep
# nests, huge strings, non-UTF-8 bytes, Inf and NaN, alone, inside random
# data, and inside real data (fixtures) the exports understand.
#
# Every call must return or die with a message ending in "\n" (or with the
# exception our own tied FETCH threw); none may panic, abort, hang (SIGALRM
# ends the test) or invoke an overload. A second phase repeats a fixed set
# of cases and checks that RSS stays flat.
#
# BINDING_FUZZ_CASES (default 2000) and BINDING_FUZZ_SEED (default 1212)
# change the run; the seed is printed so a failure can be replayed, with
# BINDING_FUZZ_VERBOSE=1 naming each call before it runs.

use strict;
use warnings;
use feature qw(current_sub);

use B ();
use FindBin;
use Scalar::Util qw(dualvar);
use Test::More;

use PVE::RS::Multipath;
use PVE::RS::Multipath::Config;
use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Selftest;
use PVE::RS::Multipath::Status;

my $ROOT = "$FindBin::Bin/..";
my $CASES = $ENV{BINDING_FUZZ_CASES} // 2000;
my $SEED = $ENV{BINDING_FUZZ_SEED} // 1212;
my $VERBOSE = $ENV{BINDING_FUZZ_VERBOSE};
my $CALL_TIMEOUT = 60;    # seconds; generous for a loaded machine
srand($SEED);
note("seed $SEED, $CASES cases");

package Fuzz::Overloaded {
    # an object whose overloads must never run: reading data does not
    # stringify, numify or test references
    our $invoked = 0;
    use overload
        '""' => sub { $invoked++; die "overload invoked\n" },
        '0+' => sub { $invoked++; die "overload invoked\n" },
        'bool' => sub { $invoked++; die "overload invoked\n" },
        'eq' => sub { $invoked++; die "overload invoked\n" };
}

package Fuzz::TiedScalar {
    sub TIESCALAR { my ($class, %opts) = @_; return bless {%opts}, $class }
    sub FETCH { die "fuzz FETCH died\n" if $_[0]->{dies}; return $_[0]->{value} }
}

package Fuzz::TiedArray {
    sub TIEARRAY { my ($class, %opts) = @_; return bless {%opts}, $class }
    sub FETCHSIZE { die "fuzz FETCHSIZE died\n" if $_[0]->{size_dies}; return $_[0]->{size} }

    sub FETCH {
        my ($self, $index) = @_;
        die "fuzz FETCH died\n" if defined($self->{dies_at}) && $index >= $self->{dies_at};
        return $self->{values}->[$index % ($self->{values}->@* || 1)];
    }
}

package Fuzz::TiedHash {
    sub TIEHASH { my ($class, %opts) = @_; return bless {%opts}, $class }
    sub FIRSTKEY { return $_[0]->{size} || $_[0]->{endless} ? 'k0' : undef }

    sub NEXTKEY {
        my ($self, $last) = @_;
        my $next = substr($last, 1) + 1;
        return "k$next" if $self->{endless} || $next < $self->{size};
        return undef;
    }

    sub FETCH {
        my ($self, $key) = @_;
        die "fuzz FETCH died\n" if defined($self->{dies_at}) && $key eq "k$self->{dies_at}";
        return $self->{value};
    }
}

package main;

my sub pick { return $_[int(rand(@_))] }
my sub chance { return rand() < $_[0] }

my sub random_string {
    my $len = pick(0, 1, 5, 40, 300);
    return pick(
        sub {
            join('', map { chr(32 + int(rand(95))) } 1 .. $len);
        },
        sub {
            join('', map { chr(int(rand(256))) } 1 .. $len);
        },    # bytes, often not UTF-8
        sub {
            join('', map { chr(int(rand(0x2FFF))) } 1 .. $len);
        },    # characters
        sub { "3600a0b80000" . int(rand(1e9)) },
        sub { pick('', '0', '1', '-1', '1e999', 'nan', 'inf', '0x10', ' 7 ', "7\n") },
        sub { "\0" x $len },
    )->();
}

my sub random_number {
    return pick(
        0, 1, -1, 7, 2**31 - 1,
        2**31, 2**53 + 1,
        -2**63, 18_446_744_073_709_551_615,
        0.5, -0.0, 1e300, 9**9**9, -9**9**9, -sin(9**9**9), int(rand(1e6)),
    );
}

my sub deep_nest {
    my ($depth) = @_;
    my $nest = [];
    $nest = pick([$nest], { deeper => $nest }) for 1 .. $depth;
    return $nest;
}

my $random_value;    # recursive

my sub tied_value {
    my ($depth) = @_;
    my $kind = pick(qw(scalar scalar array array hash hash));
    if ($kind eq 'scalar') {
        # a copy of a tied scalar would be a FETCH here: tie a container's element
        my (@array, %hash);
        my @opts = (dies => chance(0.3), value => $random_value->($depth + 1));
        tie($array[1], 'Fuzz::TiedScalar', @opts);
        tie($hash{key}, 'Fuzz::TiedScalar', @opts);
        return pick(\@array, \%hash);
    } elsif ($kind eq 'array') {
        tie(
            my @array, 'Fuzz::TiedArray',
            size => pick(0, 1, 3, 10, 2**31 - 1, 2**40, -5, 'abc'),
            size_dies => chance(0.1),
            dies_at => chance(0.4) ? int(rand(10)) : undef,
            values => [map { $random_value->($depth + 1) } 1 .. 3],
        );
        return \@array;
    }
    tie(
        my %hash, 'Fuzz::TiedHash',
        size => pick(0, 1, 5, 20),
        endless => chance(0.005),
        dies_at => chance(0.4) ? int(rand(5)) : undef,
        value => $random_value->($depth + 1),
    );
    return \%hash;
}

my @leaf_kinds = (
    [5, sub { undef }],
    [10, sub { random_number() }],
    [15, sub { random_string() }],
    [3, sub { dualvar(int(rand(100)), random_string()) }],
    [2, sub { \*STDOUT }],
    [2, sub { *STDERR }],
    [
        2,
        sub {
            sub { die "a code ref was called\n" }
        }
    ],
    [2, sub { qr/x/ }],
    [2, sub { \(my $scalar = 'x') }],
    [2, sub { \\'x' }],
    [3, sub { bless({ a => 1 }, 'Fuzz::Overloaded') }],
    [2, sub { bless([1], 'Fuzz::Overloaded') }],
    [2, sub { bless(\(my $flag = chance(0.5) ? 1 : 0), 'JSON::PP::Boolean') }],
    [1, sub { bless(\(my $object = bless({}, 'Fuzz::Overloaded')), 'JSON::PP::Boolean') }],
    [1, sub { chance(0.1) ? 'x' x (8 * 1024 * 1024) : 'y' x 65536 }],
    [1, sub { chance(0.05) ? deep_nest(100_000) : deep_nest(250 + int(rand(20))) }],
);
my $leaf_weight = 0;
$leaf_weight += $_->[0] for @leaf_kinds;

my sub random_leaf {
    my $roll = rand($leaf_weight);
    for my $kind (@leaf_kinds) {
        return $kind->[1]->() if ($roll -= $kind->[0]) < 0;
    }
    return undef;
}

$random_value = sub {
    my ($depth) = @_;
    return random_leaf() if $depth > 4;
    my $roll = rand();
    return tied_value($depth) if $roll < 0.15;
    return [map { __SUB__->($depth + 1) } 1 .. int(rand(5))] if $roll < 0.35;
    return { map { (random_string() => __SUB__->($depth + 1)) } 1 .. int(rand(5)) }
        if $roll < 0.55;
    return random_leaf();
};

# real data the exports understand, to carry hostile values deeper
my sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "cannot read $path: $!\n";
    local $/;
    return scalar(<$fh>);
}
my $maps_json = slurp("$ROOT/fixtures/maps/scsi-02-one-path-offline.json");
my $cfg_text = slurp("$ROOT/fixtures/config/03-every-wwid-knob.cfg");
my @real_data = (
    PVE::RS::Multipath::Maps::parse_maps_json($maps_json),
    PVE::RS::Multipath::Config::parse_section_config('multipath.cfg', $cfg_text),
    {
        allow_list => ['3600a0b8000000001'],
        kv => { node1 => 'x' },
        online => { node1 => 1 },
        now => 1_700_000_000,
    },
    $maps_json,
    $cfg_text,
);

# a copy of plain data with one random node replaced by a hostile value
my sub mutate {
    my ($data) = @_;
    my $copy =
          ref($data) eq 'HASH' ? { map { ($_ => __SUB__->($data->{$_})) } keys $data->%* }
        : ref($data) eq 'ARRAY' ? [map { __SUB__->($_) } $data->@*]
        : $data;
    return chance(0.15) ? tied_value(3) : chance(0.15) ? random_leaf() : $copy;
}

my sub random_argument {
    return chance(0.4) ? mutate(pick(@real_data)) : $random_value->(0);
}

# arguments, some of them tied scalars themselves (perl passes aliases)
my sub random_arguments {
    my ($max) = @_;
    my @args = map { random_argument() } 1 .. int(rand($max + 1));
    for my $arg (@args) {
        tie($arg, 'Fuzz::TiedScalar', dies => chance(0.3), value => $arg) if chance(0.1);
    }
    return \@args;
}

my @exports;
for my $package (qw(
    PVE::RS::Multipath
    PVE::RS::Multipath::Config
    PVE::RS::Multipath::Maps
    PVE::RS::Multipath::Status
    PVE::RS::Multipath::Selftest
))
{
    no strict 'refs';
    for my $name (sort keys %{"${package}::"}) {
        my $code = *{"${package}::$name"}{CODE} or next;
        next if !B::svref_2object($code)->XSUB || $name eq 'bootstrap';
        next if $package eq 'PVE::RS::Multipath::Selftest' && $name eq 'panic';
        push @exports, ["${package}::$name", $code];
    }
}
cmp_ok(scalar(@exports), '>', 30, 'the exports of every package are found');

# $args is passed as aliases: a copy of a tied argument would FETCH here
my sub call_export {
    my ($export, $args) = @_;
    my ($name, $code) = $export->@*;
    note("calling $name with " . scalar($args->@*) . " arguments") if $VERBOSE;
    local $SIG{ALRM} = 'DEFAULT';    # a hang ends the test
    alarm($CALL_TIMEOUT);
    my $ok = eval {
        no warnings;    # a tied FETCHSIZE of 'abc' warns; that is expected
        $code->($args->@*);
        1;
    };
    my $error = $@;
    alarm(0);
    return $ok ? undef : $error;
}

my %failures;
my sub check_outcome {
    my ($name, $error) = @_;
    return if !defined($error);
    my $problem =
          ref($error) ? 'an exception object'
        : $error !~ m/\n\z/ ? 'an exception without a final newline'
        : $error =~ m/internal error/ ? 'a panic'
        : $error =~ m/overload invoked|a code ref was called/ ? 'Perl code run'
        : (grep { length($_) > 1000 } split(/\n/, $error))
        ? 'a message line of over 1000 characters'
        : undef;
    push $failures{$name}->@*, "$problem: " . substr($error, 0, 300) if defined($problem);
}

my ($calls, $died) = (0, 0);
for my $case (1 .. $CASES) {
    my $export = pick(@exports);
    my $args = random_arguments(4);
    my $error = call_export($export, $args);
    $calls++;
    $died++ if defined($error);
    check_outcome($export->[0], $error);
}
note("$calls calls, $died died");
is($Fuzz::Overloaded::invoked, 0, 'no overload was invoked');
is_deeply(\%failures, {}, 'every call returned or died with a clear message')
    or diag(explain(\%failures));

# memory: the same hostile calls over and over keep RSS flat
my sub rss_kib {
    open(my $fh, '<', '/proc/self/status') or die "cannot read /proc/self/status: $!\n";
    while (my $line = <$fh>) {
        return $1 if $line =~ m/^VmRSS:\s+(\d+)\s+kB/;
    }
    die "no VmRSS in /proc/self/status\n";
}
my @fixed = map { [pick(@exports), random_arguments(3)] } 1 .. 40;
call_export($_->@*) for (@fixed) x 20;    # warm up
my $before = rss_kib();
call_export($_->@*) for (@fixed) x 200;
my $growth = rss_kib() - $before;
cmp_ok($growth, '<', 4096,
    scalar(@fixed)
        . " hostile calls repeated 200 times grow RSS by less than 4 MiB (grew $growth KiB)");

done_testing();
