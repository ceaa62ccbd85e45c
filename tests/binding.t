#!/usr/bin/perl

# The binding layer itself: data conversion both ways, errors, panics and
# memory, through the test-only PVE::RS::Multipath::Selftest package (a
# library built with --features selftest).

use strict;
use warnings;

use Test::More;

use PVE::RS::Multipath;
use PVE::RS::Multipath::Selftest;
use PVE::RS::Multipath::Status;

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
        'a hash where an integer is meant',
        sub { PVE::RS::Multipath::Selftest::add({}) },
        qr/^add: argument 'a': expected an integer, got a hash reference\n\z/,
    ],
    [
        'a 10 MB string where an integer is meant: quoted, cut at 80 characters',
        sub { PVE::RS::Multipath::Selftest::add('x' x 10_000_000) },
        qr/^add: argument 'a': type check \('integer'\) failed - got 'x{80}\.\.\.' \(10000000 characters\)\n\z/,
    ],
    [
        'a list where a bool is meant',
        sub { PVE::RS::Multipath::Selftest::truth([]) },
        qr/^truth: argument 'flag': expected a boolean \(a Perl scalar\), got an array reference\n\z/,
    ],
    [
        'a string where a hash of options is meant (a real export)',
        sub { PVE::RS::Multipath::Status::aggregate_status('now') },
        qr/^aggregate_status: argument 'options': expected a hash reference, got the string 'now'\n\z/,
    ],
    [
        'a list where a hash of options is meant',
        sub { PVE::RS::Multipath::Status::aggregate_status([]) },
        qr/^aggregate_status: argument 'options': expected a hash reference, got an array reference\n\z/,
    ],
    [
        'a wrong value inside the options: the key is named',
        sub { PVE::RS::Multipath::Status::aggregate_status({ now => {} }) },
        qr/^aggregate_status: argument 'options' at \{'now'\}: expected an integer, got a hash reference\n\z/,
    ],
    [
        'hash where a list is meant',
        sub { PVE::RS::Multipath::Selftest::echo_list({}) },
        qr/^echo_list: argument 'values': expected an array reference, got a hash reference\n\z/,
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

# --- tied and magical arguments ---

package Test::TiedArray {
    # elements "e0", "e1", ...; FETCH dies at index `dies_at`
    sub TIEARRAY { my ($class, %opts) = @_; return bless {%opts}, $class }
    sub FETCHSIZE { die "FETCHSIZE died\n" if $_[0]->{size_dies}; return $_[0]->{size} }

    sub FETCH {
        my ($self, $index) = @_;
        die $self->{exception} // "FETCH $index died\n"
            if defined($self->{dies_at}) && $index == $self->{dies_at};
        return $self->{value} // "e$index";
    }
}

package Test::TiedHash {
    # keys k0 .. k(size-1); FETCH dies for key `dies_at`; NEXTKEY never ends
    # with `endless`
    sub TIEHASH { my ($class, %opts) = @_; return bless {%opts}, $class }
    sub FIRSTKEY { return $_[0]->{size} ? 'k0' : undef }

    sub NEXTKEY {
        my ($self, $last) = @_;
        my $next = substr($last, 1) + 1;
        return $self->{key_ref} ? [] : "k$next" if $self->{endless} || $self->{key_ref};
        return $next < $self->{size} ? "k$next" : undef;
    }

    sub FETCH {
        my ($self, $key) = @_;
        die "FETCH $key died\n" if defined($self->{dies_at}) && $key eq $self->{dies_at};
        return $self->{value} // "v$key";
    }
}

package Test::TiedScalar {
    sub TIESCALAR { my ($class, $fetch) = @_; return bless { fetch => $fetch }, $class }
    sub FETCH { return $_[0]->{fetch}->() }
}

package Test::Exception {
    sub new { return bless { message => $_[1] }, $_[0] }
}

package main;

my sub tied_array { tie(my @array, 'Test::TiedArray', @_); return \@array }
my sub tied_hash { tie(my %hash, 'Test::TiedHash', @_); return \%hash }
my sub tied_scalar { tie(my $scalar, 'Test::TiedScalar', @_); return \$scalar }

is_deeply(echo(tied_array(size => 3)), [qw(e0 e1 e2)], 'a tied array is read through FETCH');
is_deeply(
    echo(tied_hash(size => 2)),
    { k0 => 'vk0', k1 => 'vk1' },
    'a tied hash is read through FIRSTKEY/NEXTKEY/FETCH',
);
is_deeply(
    echo([tied_scalar(sub { { list => [1, 2] } })->$*]),
    [{ list => [1, 2] }],
    'a tied scalar element is read through FETCH',
);
is_deeply(
    echo(tied_array(size => 2, value => tied_hash(size => 1))),
    [{ k0 => 'vk0' }, { k0 => 'vk0' }],
    'tied data inside tied data',
);

my @magical_calls = (
    [
        'a tied array claiming 2**31-1 elements',
        sub { echo(tied_array(size => 2**31 - 1)) },
        qr/^echo: argument 'value': an array of 2147483647 elements is more than the \d+ values one call takes\n\z/,
    ],
    [
        'a tied hash whose NEXTKEY never ends',
        sub { echo(tied_hash(size => 1, endless => 1)) },
        qr/^echo: argument 'value': more than \d+ reads of tied or magical values in one call\n\z/,
    ],
    [
        'a tied hash whose NEXTKEY returns a reference',
        sub { echo(tied_hash(size => 2, key_ref => 1)) },
        qr/^echo: argument 'value': a hash key is a reference\n\z/,
    ],
    [
        'a dying FETCH of a tied array: its exception, unchanged',
        sub { echo({ list => tied_array(size => 10, dies_at => 5) }) },
        qr/^FETCH 5 died\n\z/,
    ],
    [
        'a dying FETCH of a tied hash',
        sub { echo(tied_hash(size => 10, dies_at => 'k7')) },
        qr/^FETCH k7 died\n\z/,
    ],
    [
        'a dying FETCH of a tied scalar',
        sub {
            echo([1, tied_scalar(sub { die "scalar FETCH died\n" })->$*]);
        },
        qr/^scalar FETCH died\n\z/,
    ],
    [
        'a dying FETCHSIZE',
        sub { echo([1, 2, tied_array(size_dies => 1)]) },
        qr/^FETCHSIZE died\n\z/,
    ],
    [
        'a warning turned into a die inside FETCHSIZE',
        sub {
            local $SIG{__WARN__} = sub { die "warned: $_[0]" };
            echo(tied_array(size => 'many'));
        },
        qr/^warned: Argument "many" isn't numeric/,
    ],
    [
        'a JSON::PP::Boolean holding an overloaded object: no overload runs',
        sub {

            package Test::Overloaded {
                use overload 'bool' => sub { die "overload invoked\n" };
            }
            my $object = bless({}, 'Test::Overloaded');
            echo(bless(\$object, 'JSON::PP::Boolean'));
        },
        qr/^echo: argument 'value': unsupported reference/,
    ],
    [
        'Inf',
        sub { echo({ list => [1, 9**9**9] }) },
        qr/^echo: argument 'value' at \{'list'\}\[1\]: not a finite number \(Inf\)\n\z/,
    ],
    [
        'NaN',
        sub { PVE::RS::Multipath::Selftest::add(1, -sin(9**9**9)) },
        qr/^add: argument 'b': not a finite number \(-?NaN\)\n\z/,
    ],
    [
        'a 100,000-deep nest',
        sub {
            my $deep = [];
            $deep = [$deep] for 1 .. 100_000;
            echo($deep);
        },
        qr/^echo: argument 'value' at (\[0\]){4}\.\.\.\(\d+ levels\)\.\.\.(\[0\]){4}: data nested deeper than 256 levels/,
    ],
);

for my $case (@magical_calls) {
    my ($what, $code, $expected) = $case->@*;
    eval { $code->() };
    like($@, $expected, "clear exception: $what");
}

eval { echo(tied_array(size => 3, dies_at => 1, exception => Test::Exception->new('object'))) };
is(ref($@), 'Test::Exception', 'an exception object from FETCH comes back as the same object');

{
    local $@ = 'earlier error';
    echo(tied_array(size => 2));
    is($@, 'earlier error', 'reading tied data leaves $@ alone');
}

package Test::Counted {
    our $alive = 0;
    sub new { $alive++; return bless {}, $_[0] }
    sub DESTROY { $alive-- }
}

package main;

{
    # objects a FETCH makes are freed after the call, also when a later one dies
    my @fresh;
    tie($fresh[$_], 'Test::TiedScalar', sub { Test::Counted->new }) for 0 .. 4;
    echo(\@fresh) for 1 .. 10;
    eval { echo([\@fresh, tied_array(size => 3, dies_at => 2)]) };
    is($Test::Counted::alive, 5, 'only the values cached in the tied elements remain');
}
is($Test::Counted::alive, 0, 'objects made by FETCH are all freed');

# a FETCH that dies part-way leaks nothing: 1 KB elements, died at element 50
my $dying_array = tied_array(size => 100, dies_at => 50, value => 'x' x 1024);
my $dying_hash = tied_hash(size => 100, dies_at => 'k50', value => 'x' x 1024);
for (1 .. 200) {
    eval { echo($dying_array) };
    eval { echo($dying_hash) };
}
my $rss_before_dying = rss_kib();
for (1 .. 5000) {
    eval { echo($dying_array) };
    eval { echo($dying_hash) };
}
my $dying_growth = rss_kib() - $rss_before_dying;
cmp_ok($dying_growth, '<', 2048,
    "10,000 calls with a FETCH dying part-way grow RSS by less than 2 MiB (grew $dying_growth KiB)"
);

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
