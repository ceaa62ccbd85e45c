#!/usr/bin/perl

# multipath.cfg through PVE::Multipath::Config->parse_config, as
# PVE::SectionConfig reads it: the file's bytes reach the reader unchanged
# (digest, values), its warnings are printed with the real texts, and only
# problems with a key are listed in errors. The Rust tests cover the
# grammar; ../shared/tools/real-pve (check a) compares with the real module.

use strict;
use warnings;

use Digest::SHA qw(sha1_hex);
use Test::More;

use PVE::Multipath::Config;

my $W = '3600a098038314b2d4a5d4e6f2f6b4d31';

my sub parse {
    my ($raw) = @_;
    my @warnings;
    local $SIG{__WARN__} = sub { push @warnings, $_[0] };
    my $cfg = PVE::Multipath::Config->parse_config('/etc/pve/multipath.cfg', $raw);
    return ($cfg, \@warnings);
}

my @cases = (
    {
        name => 'a latin-1 byte: the digest is over the raw bytes',
        raw => "# caf\xe9\nwwid: $W\n\talias a\n",
        ids => { $W => { type => 'wwid', alias => 'a' } },
        warnings => [],
    },
    {
        name => 'UTF-8 bytes in a stray line are warned as the bytes they are',
        raw => "wwid: $W\n\talias a\n\ncaf\xc3\xa9\n",
        ids => { $W => { type => 'wwid', alias => 'a' } },
        warnings => ["file /etc/pve/multipath.cfg line 4 - ignore config line: caf\xc3\xa9\n"],
    },
    {
        name => 'a whitespace-only line does not end a section',
        raw => "wwid: $W\n\talias a\n \n\trr-weight uniform\n",
        ids => { $W => { type => 'wwid', alias => 'a', 'rr-weight' => 'uniform' } },
        warnings => ["file /etc/pve/multipath.cfg line 3 (section '$W') - ignore config line:  \n"],
    },
    {
        name => 'a bad header skips its section',
        raw => "wwid: defaults\n\talias a\n",
        ids => {},
        warnings => [
            "file /etc/pve/multipath.cfg line 1 (skip section 'defaults'): the id 'defaults' is"
                . " reserved and cannot be a WWID\n"
        ],
    },
    {
        name => 'a bad key is warned and listed',
        raw => "wwid: $W\n\tfrobnicate 1\n\trr-min-io-rq +5\n",
        ids => { $W => { type => 'wwid', 'rr-min-io-rq' => 5 } },
        warnings => [
                  "file /etc/pve/multipath.cfg line 2 (section '$W') - unable to parse value of"
                . " 'frobnicate': unknown property type\n"
        ],
        errors => 1,
    },
    {
        name => 'undef reads as an empty file',
        raw => undef,
        ids => {},
        warnings => [],
    },
);

for my $case (@cases) {
    my ($cfg, $warnings) = parse($case->{raw});
    is_deeply($cfg->{ids}, $case->{ids}, "$case->{name}: sections");
    is($cfg->{digest}, sha1_hex($case->{raw} // ''), "$case->{name}: digest");
    is_deeply($warnings, $case->{warnings}, "$case->{name}: warnings");
    is(scalar(($cfg->{errors} // [])->@*), $case->{errors} // 0, "$case->{name}: errors");
    ok(!exists($cfg->{warnings}), "$case->{name}: no warnings key left in the config");
}

# an alias written twice by hand never blocks a write
my ($dup) = parse("wwid: $W\n\talias same\n\nwwid: 3600b\n\talias same\n");
is(
    PVE::Multipath::Config->write_config('/etc/pve/multipath.cfg', $dup),
    "wwid: $W\n\talias same\n\nwwid: 3600b\n\talias same\n\n",
    'a duplicate alias is written back as it was',
);
eval { PVE::Multipath::Config::render_node_files($dup, '') };
like($@, qr/alias 'same' is used by more than one WWID/, 'but never rendered for multipathd');

done_testing();
