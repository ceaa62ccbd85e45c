#!/usr/bin/perl

# Randomised agreement: generated override texts, checked by us
# (lint_overrides_for, strict, with the tables of the installed release) and
# by the installed multipath-tools' `multipath -t` in the sandbox
# (tests/multipath-t-sandbox, see tests/overrides-oracle.pm; every call has a
# timeout, and a timeout or crash fails the case). For each text both must
# give the same verdict: we report nothing exactly when the release prints no
# complaint line.
#
# The generator builds plausible texts from our keyword tables (valid and
# invalid values, quoting styles, comments) and mutates some of them (stray
# or missing braces, unknown, duplicate or misplaced keywords, extra tokens,
# device sections without product, duplicate devices). It never produces the
# documented deliberate disagreements (multipaths blocks, carriage returns,
# non-ASCII outside quotes, comment signs glued to a word, values a release
# crashes on).
#
# OVERRIDES_FUZZ_CASES (default 120), OVERRIDES_FUZZ_SEED (default 4242) and
# OVERRIDES_FUZZ_MUTATE (share of mutated texts, default 0.35)
# change the run; the seed is printed so a failure can be replayed.
# OVERRIDES_SANDBOX=/path overrides the sandbox location.

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use Test::More;

use PVE::RS::Multipath::Config;

BEGIN { require "$FindBin::Bin/overrides-oracle.pm"; }

my $ROOT = "$FindBin::Bin/..";
my $oracle = MultipathOracle->new(root => $ROOT);
if (my $why = $oracle->unavailable()) {
    plan(skip_all => $why);
}
my $release = $oracle->release();
plan(skip_all => 'no keyword tables for the installed multipath-tools ' . $oracle->version())
    if !defined($release);

my $CASES = $ENV{OVERRIDES_FUZZ_CASES} // 120;
my $SEED = $ENV{OVERRIDES_FUZZ_SEED} // 4242;
my $MUTATE = $ENV{OVERRIDES_FUZZ_MUTATE} // 0.35;
srand($SEED);
note("seed $SEED, $CASES cases, multipath-tools " . $oracle->version() . " as $release");

my $dir = tempdir(CLEANUP => 1);

my sub multipath_t {
    my (@dropins) = @_;
    my $run = $oracle->run(@dropins);
    my $broke =
          $run->{timeout} ? 'timed out'
        : $run->{signal} ? "died of signal $run->{signal}"
        : !$run->{ran} ? "did not run:\n$run->{output}"
        : '';
    return ($run->{complaints}, $run->{output}, $broke);
}

my ($base, $base_output) = multipath_t();
plan(skip_all => "multipath -t did not run in the sandbox:\n$base_output")
    if $base_output !~ m/^defaults \{/m;

my $tables = PVE::RS::Multipath::Config::overrides_keywords();
my $kinds = $tables->{kinds};
my %crashing = map { ($_->{keyword} => 1) } $tables->{crashes}->@*;

# (good, bad) sample values per kind; undef where a kind has none.
my sub samples {
    my ($kind) = @_;
    my %pairs = (
        str => ['x', undef],
        'max-retries' => ['3', '6'],
        gid => ['6', 'disk'],
        'no-slash' => ['pfx', 'a/b'],
        path => ['/etc/multipath/x', 'etc/x'],
        uint => ['5', '-1'],
        'arg-count:0' => ['2 pg_init_retries 50', '2 queue_if_no_path'],
        'arg-count:1' => ['service-time 0', 'service-time'],
        failback => ['immediate', 'later'],
        'no-path-retry' => ['18', 'sometimes'],
        'off-zero-int' => ['5', 'x'],
        'no-int' => ['no', 'x'],
        'dev-loss' => ['infinity', 'never'],
        'max-fds' => ['8192', 'x'],
        mode => ['0600', '999'],
        owner => ['0', ''],
        regex => ['^sd[a-z]', '(sd'],
        prkey => ['0x1234abcd', 'x'],
        'uid-attrs' => ['sd:ID_SERIAL', 'x'],
    );
    return $pairs{$kind}->@* if $pairs{$kind};
    if ($kind =~ m/^int:(-?\d+):(-?\d+)$/) {
        return ($1 > 2 ? $1 : ($2 < 2 ? $2 : 2), '2x');
    }
    if ($kind =~ m/^(?:enum|prefix):(.*)$/) {
        my @words = split(/\|/, $1);
        return ($words[int(rand(@words))], 'bogus');
    }
    die "no sample values for kind '$kind'\n";
}

my sub pick { return $_[int(rand(@_))] }

# A value as it may be written: bare when it is one plain word, else quoted.
my sub render_value {
    my ($value) = @_;
    return '""' if $value eq '';
    my $bare_ok = $value =~ m/^[^\s"{}#!]+$/;
    return $value if $bare_ok && rand() < 0.5;
    (my $quoted = $value) =~ s/"/""/g;
    return "\"$quoted\"";
}

my sub comment {
    return '' if rand() < 0.8;
    return pick(' # note', "\t! note", ' #');
}

# Value lines for one section; $bad_rate is the chance of an invalid one.
my sub value_lines {
    my ($section, $indent, $count, $bad_rate, $skip) = @_;
    my @keywords = grep { !$skip->{$_} && !($section eq 'defaults' && $_ eq 'verbosity') }
        sort keys $kinds->{$section}->%*;
    my (@lines, %used);
    for (1 .. $count) {
        my $keyword = pick(@keywords);
        next if $used{$keyword}++;
        my ($good, $bad) = samples($kinds->{$section}->{$keyword});
        $bad = undef if $crashing{$keyword};
        my $value = rand() < $bad_rate && defined($bad) ? $bad : $good;
        next if !defined($value);
        push @lines, "$indent$keyword " . render_value($value) . comment();
    }
    return @lines;
}

my sub device_block {
    my ($indent, $bad_rate, $vendor, $product) = @_;
    my @lines = ("${indent}device {");
    push @lines, "$indent\tvendor " . render_value($vendor) if defined($vendor);
    push @lines, "$indent\tproduct " . render_value($product) if defined($product);
    push @lines,
        value_lines(
        'devices device',
        "$indent\t", int(rand(5)), $bad_rate, { vendor => 1, product => 1 },
        );
    push @lines, "$indent}";
    return @lines;
}

my sub generate {
    my $bad_rate = rand() < 0.5 ? 0 : 0.15;
    my @lines = ('# generated');
    my @sections =
        grep { rand() < 0.5 } qw(defaults devices overrides blacklist blacklist_exceptions);
    @sections = ('devices') if !@sections;
    for my $section (@sections) {
        push @lines, "$section {";
        if ($section eq 'devices') {
            my @models = (['PURE', 'FlashArray'], ['NETAPP', 'LUN.*'], ['DellEMC', 'PowerStore']);
            for (1 .. 1 + int(rand(2))) {
                my ($vendor, $product) = pick(@models)->@*;
                $product = undef if rand() < 0.05;
                push @lines, device_block("\t", $bad_rate, $vendor, $product);
            }
        } elsif ($section eq 'overrides') {
            push @lines, value_lines('overrides', "\t", int(rand(5)), $bad_rate, {});
            if (rand() < 0.3) {
                push @lines, "\tprotocol {",
                    "\t\ttype " . pick('scsi:fcp', 'scsi:iscsi', 'nvme:tcp');
                push @lines, value_lines('overrides protocol', "\t\t", 2, $bad_rate, { type => 1 });
                push @lines, "\t}";
            }
        } elsif ($section =~ m/^blacklist/) {
            push @lines, value_lines($section, "\t", int(rand(4)), $bad_rate, {});
            if (rand() < 0.3) {
                push @lines, "\tdevice {", "\t\tvendor " . render_value('QEMU');
                push @lines, value_lines('blacklist device', "\t\t", 1, $bad_rate, { vendor => 1 });
                push @lines, "\t}";
            }
        } else {
            push @lines, value_lines($section, "\t", int(rand(8)), $bad_rate, {});
        }
        push @lines, '}';
    }

    # mutations
    if (rand() < $MUTATE) {
        my $at = 1 + int(rand($#lines));
        my $mutation = int(rand(12));
        if ($mutation == 0) {
            splice(@lines, $at, 0, '}');
        } elsif ($mutation == 1) {
            my @closing = grep { $lines[$_] =~ m/^\s*\}$/ } 0 .. $#lines;
            splice(@lines, pick(@closing), 1);
        } elsif ($mutation == 2) {
            splice(@lines, $at, 0, "\tfrobnicate 1");
        } elsif ($mutation == 3) {
            my @values = grep { $lines[$_] =~ m/^\s+\w+ \S/ && $lines[$_] !~ m/\{/ } 0 .. $#lines;
            if (@values) {
                my $i = pick(@values);
                splice(@lines, $i, 0, $lines[$i]);
            }
        } elsif ($mutation == 4) {
            my @values = grep { $lines[$_] =~ m/^\s+\w+ [^"#!\s]+$/ } 0 .. $#lines;
            $lines[pick(@values)] .= ' extra' if @values;
        } elsif ($mutation == 5) {
            splice(@lines, $at, 0, "\tdetect_pgpolicy yes");
        } elsif ($mutation == 6) {
            splice(@lines, $at, 0, '', '# a comment', "\t! another");
        } elsif ($mutation == 7) {
            # a character with a meaning, dropped anywhere into a line
            my $line = $lines[$at];
            my $pos = int(rand(length($line) + 1));
            # (a comment sign glued to a word is a documented disagreement,
            # so comment signs come with a space before them)
            substr($line, $pos, 0) = pick('"', '{', '}', ' #', ' !', ' ', '""');
            $lines[$at] = $line;
        } elsif ($mutation == 8) {
            # the opening brace on a line of its own
            my @opening = grep { $lines[$_] =~ m/\{$/ } 0 .. $#lines;
            if (@opening) {
                my $i = pick(@opening);
                (my $name = $lines[$i]) =~ s/\s*\{$//;
                (my $indent = $lines[$i]) =~ s/\S.*//;
                splice(@lines, $i, 1, $name, "$indent\{");
            }
        } elsif ($mutation == 9) {
            # a whole block on one line
            splice(@lines, $at, 0, "\tdevice { vendor \"X\" product \"Y\" }");
        } elsif ($mutation == 10) {
            # a keyword of another section
            splice(
                @lines, $at, 0,
                pick(
                    "\thardware_handler \"1 alua\"",
                    "\talias lun0",
                    "\tvendor \"X\"",
                    "\tpolling_interval 5",
                    "\twwid \"^36\""
                )
            );
        } else {
            # a value of several words, unquoted
            splice(@lines, $at, 0,
                pick("\tprio_args weightedpath hbtl", "\tpath_selector round-robin 0"));
        }
    }
    return join("\n", @lines) . "\n";
}

my ($agree, $clean) = (0, 0);
for my $case (1 .. $CASES) {
    my $text = generate();
    my $file = "$dir/case.conf";
    open(my $fh, '>', $file) or die "cannot write $file: $!\n";
    print $fh $text;
    close($fh);
    my ($complaints, $output, $broke) = multipath_t($file);
    my $lint = PVE::RS::Multipath::Config::lint_overrides_for($text, [$release], 1);
    my @ours = map { "line $_->{line}: $_->{message}" } $lint->{errors}->@*, $lint->{warnings}->@*;
    my $ok = !$broke && (@ours ? 1 : 0) == ($complaints->@* ? 1 : 0);
    $clean++ if !@ours && $ok;
    $agree++ if $ok;
    ok($ok, "case $case: same verdict (" . (@ours ? 'complaints' : 'clean') . ')')
        or diag(join("\n",
        "--- text", $text, '--- ours', @ours, "--- $release", $complaints->@*,
        $broke ? "multipath -t $broke" : (),
        ));
}
note("$agree of $CASES agree, $clean of them clean");
# The generator's own sanity, for the default mix.
if ($MUTATE <= 0.5) {
    cmp_ok($clean, '>=', $CASES / 10, 'the generator produces clean texts too');
    cmp_ok($CASES - $clean, '>=', $CASES / 10, 'and texts with complaints');
}

done_testing();
