#!/usr/bin/perl

# Export arguments read straight into Rust types (src/perl/de.rs): a big
# maps text is lent for the call, from a private copy-on-write copy, not
# copied; the kept high-water mark is read as it comes. What that must not
# change: the characters of byte strings, tied values read through FETCH
# and their exceptions, the limits and their messages, and what a call sees
# when Perl code it runs changes the caller's data meanwhile.

use strict;
use warnings;

use Test::More;

use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Selftest;
use PVE::RS::Multipath::Status;

my $WWID = '35000c50015ea71ac';
# beyond the size from which a text is lent (de.rs, BORROW_MIN_BYTES)
my $BIG = 10_000;

my sub fixture {
    my ($name) = @_;
    open(my $fh, '<', "fixtures/maps/$name") or die "cannot open fixture '$name': $!\n";
    local $/;
    return scalar(<$fh>);
}

my sub parse { return PVE::RS::Multipath::Maps::parse_maps_json(@_) }
my sub node_maps { return PVE::RS::Multipath::Maps::node_maps(@_) }

my $text = fixture('scsi-02-one-path-offline.json');
my $expected = parse($text);
is($expected->[0]->{wwid}, $WWID, 'the fixture parses');

# --- the text, lent or copied, reads alike ---

my $padded = $text . ("\n" x $BIG);
is_deeply(parse($padded), $expected, 'a big text (lent for the call) parses as a small one');
my $characters = $padded;
utf8::upgrade($characters);
is_deeply(parse($characters), $expected, 'so does a big character string');

for my $case (
    ['UTF-8 bytes (a file read raw)', "caf\xc3\xa9"],
    ['Latin-1 bytes', "caf\xe9"],
    ['characters', "caf\x{e9}"],
) {
    my ($what, $vendor) = $case->@*;
    (my $small = $text) =~ s/"vend" : "LAB"/"vend" : "$vendor"/ or die "no vendor in the fixture\n";
    for my $document ($small, $small . (' ' x $BIG)) {
        my $size = length($document) > $BIG ? 'big' : 'small';
        is(parse($document)->[0]->{vendor}, "caf\x{e9}", "vendor from $what, $size text");
    }
}

# --- the caller's data changed by Perl code the call runs ---

package Test::CallbackHash {
    # one key `k`; FETCH runs the callback first
    sub TIEHASH { my ($class, %opts) = @_; return bless {%opts}, $class }
    sub FIRSTKEY { return $_[0]->{key} }
    sub NEXTKEY { return undef }

    sub FETCH {
        my ($self) = @_;
        $self->{fetch}->();
        return $self->{value};
    }
}

package main;

my sub callback_hash {
    my (%opts) = @_;
    tie(my %hash, 'Test::CallbackHash', %opts);
    return \%hash;
}

# A plain options hash whose keys perl walks in the order given (retried
# with other table sizes until it does: the order follows the hash seed).
my sub ordered_options {
    my (@pairs) = @_;
    for my $size (map { 2**$_ } 3 .. 14) {
        my %options;
        keys(%options) = $size;
        for (my $i = 0; $i < @pairs; $i += 2) {
            $options{ $pairs[$i] } = $pairs[$i + 1];
        }
        my @want = map { $pairs[2 * $_] } 0 .. @pairs / 2 - 1;
        return \%options if join(',', keys %options) eq join(',', @want);
    }
    return undef;
}

for my $change (
    ['changed in place', sub { substr($_[0]->{maps_json}, 0, 1, 'X') }],
    ['deleted (freed)', sub { delete $_[0]->{maps_json} }],
    ['replaced', sub { $_[0]->{maps_json} = 'fail' }],
) {
    my ($what, $code) = $change->@*;
    my $options;
    my $mark = callback_hash(key => $WWID, value => 2, fetch => sub { $code->($options) });
    $options = ordered_options(maps_json => $padded . '', high_water => $mark);
    SKIP: {
        skip('perl never walked maps_json first', 1) if !$options;
        my $view = node_maps($options);
        is_deeply(
            [$view->{maps}->[0]->{wwid}, $view->{'high-water'}],
            [$WWID, { $WWID => 2 }],
            "the text as passed is read when a FETCH meanwhile finds it $what",
        );
    }
}

# --- the kept high-water mark ---

for my $case (
    ['a plain hash', { $WWID => 3 }, { $WWID => 3 }],
    ['a numeric string', { $WWID => ' 3 ' }, { $WWID => 3 }],
    ['an integral float', { $WWID => 3.0 }, { $WWID => 3 }],
    ['a tied hash, read through FETCH', callback_hash(key => $WWID, value => 3, fetch => sub { }),
        { $WWID => 3 }],
    ['entries that are no count dropped', { $WWID => 'x', other => [1], third => -1, fourth => 1.5 },
        { $WWID => 2 }],
    ['no hash: no mark', [1, 2], { $WWID => 2 }],
    ['undef: no mark', undef, { $WWID => 2 }],
) {
    my ($what, $kept, $mark) = $case->@*;
    my $view = node_maps({ maps_json => $text, high_water => $kept });
    is_deeply($view->{'high-water'}, $mark, "high-water mark: $what");
}

my $expected_view = node_maps({ maps_json => $text, high_water => { $WWID => 3 } });
is($expected_view->{maps}->[0]->{'paths-expected'}, 3, 'a kept mark sets the expectation');

package Test::TiedArray {
    sub TIEARRAY { my ($class, %opts) = @_; return bless {%opts}, $class }
    sub FETCHSIZE { return $_[0]->{size} }
    sub FETCH { die "FETCH $_[1] died\n" if $_[1] == ($_[0]->{dies_at} // -1); return 1 }
}

package main;

my sub tied_array { tie(my @array, 'Test::TiedArray', @_); return \@array }

for my $case (
    [
        'a dying FETCH inside a dropped entry: its exception, unchanged',
        { high_water => { $WWID => tied_array(size => 3, dies_at => 1) } },
        qr/^FETCH 1 died\n\z/,
    ],
    [
        'a dying FETCH of the mark itself',
        { high_water => callback_hash(key => $WWID, fetch => sub { die "mark died\n" }) },
        qr/^mark died\n\z/,
    ],
    [
        'a tied array claiming 2**31-1 elements inside the mark',
        { high_water => { $WWID => tied_array(size => 2**31 - 1) } },
        qr/^node_maps: argument 'options' at \{'high_water'\}\{'$WWID'\}: an array of 2147483647 elements is more than the \d+ values one call takes\n\z/,
    ],
    [
        'a text that is no string',
        { maps_json => { x => 1 } },
        qr/^node_maps: argument 'options' at \{'maps_json'\}: expected a string, got a hash reference\n\z/,
    ],
    [
        'an unknown key still refused',
        { maps_json => $text, high_waters => {} },
        qr/^node_maps: argument 'options' at \{'high_waters'\}: unknown key 'high_waters'/,
    ],
) {
    my ($what, $options, $error) = $case->@*;
    eval { node_maps($options) };
    like($@, $error, $what);
}

# --- an array changed by the FETCH of one of its elements ---

package Test::CallbackScalar {
    sub TIESCALAR { my ($class, %opts) = @_; return bless {%opts}, $class }

    sub FETCH {
        my ($self) = @_;
        $self->{fetch}->();
        return $self->{value};
    }
}

package main;

# Read up to the size it had when the reading began; an array tied meanwhile
# is read from what it held: its own FETCH would run outside the guard.
for my $case (
    ['shrunk', sub { $#{ $_[0] } = 0 }, [qw(wwid-a wwid-b)]],
    ['emptied', sub { $_[0]->@* = () }, [qw(wwid-a wwid-b)]],
    ['grown', sub { push($_[0]->@*, 'wwid-x') }, [qw(wwid-a wwid-b wwid-c)]],
    [
        'tied (its FETCH dies)',
        sub { tie($_[0]->@*, 'Test::TiedArray', size => 3, dies_at => 2) },
        [qw(wwid-a wwid-b wwid-c)],
    ],
) {
    my ($what, $change, $wwids) = $case->@*;
    my @list = ('wwid-a', undef, 'wwid-c');
    tie($list[1], 'Test::CallbackScalar', value => 'wwid-b', fetch => sub { $change->(\@list) });
    my $status = eval { PVE::RS::Multipath::Status::aggregate_status({ allow_list => \@list }) };
    is_deeply(
        $@ ? $@ : [map { $_->{wwid} } $status->{luns}->@*],
        $wwids, "a list $what while it is read",
    );
}

my sub rows_of_args { return PVE::RS::Multipath::Status::aggregate_status({ allow_list => \@_ }) }
is_deeply(
    [map { $_->{wwid} } rows_of_args('wwid-a', 'wwid-b')->{luns}->@*],
    [qw(wwid-a wwid-b)], 'a list that is @_ (its elements aliased)',
);

my @deep = ([]);
push(@deep, [$deep[-1]]) for 1 .. 300;
eval { node_maps({ maps_json => $text, high_water => { $WWID => $deep[-1] } }) };
like($@, qr/nested deeper than 256 levels/, 'depth is limited inside a dropped entry too');

done_testing();
