#!/usr/bin/perl

# The override validator (PVE::RS::Multipath::Config::check_overrides and
# lint_overrides*) against the real parser of the installed multipath-tools,
# 0.9.4 (bookworm) or 0.11.1 (trixie): our tables for that release are used.
#
# Every text in fixtures/overrides/{good,bad,warn} is checked by us and, as a
# conf.d drop-in, by `multipath -t` in a private mount namespace
# (tests/multipath-t-sandbox). The two must agree: good = we find nothing and
# multipath-tools prints no complaint line (`<uptime> | <message>`); bad = we
# refuse it and multipath-tools complains (a `# bad-for:` line lists the
# releases that do; the others must be silent, and so must we when checking
# for them alone); warn = the guard accepts it with a warning and
# multipath-tools complains. A bad fixture with a `# disagree:` line is a
# deliberate difference: we refuse it, and this test checks that the release
# is in fact silent about it (so the note stays true). The values a release
# crashes or hangs on (the tables' `crashes`) are run too: it must die or
# hang on them.
#
# Every `multipath -t` call has a timeout ($TIMEOUT seconds); a timeout is a
# failure that names the input, but where a hang is what the tables predict.
#
# Without the sandbox (no multipath-tools, no root for unshare) the
# multipath-tools half is skipped and said so; our own verdicts are still
# checked. OVERRIDES_SANDBOX=/path/to/script overrides the sandbox location;
# OVERRIDES_ORACLE_RELEASE names the release it runs (default: asked from
# `multipath -V`, then dpkg).

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use Test::More;

use PVE::Multipath::TestCorpus qw(slurp);
use PVE::RS::Multipath::Config;

BEGIN { require "$FindBin::Bin/overrides-oracle.pm"; }

my $ROOT = "$FindBin::Bin/..";
my $FIXTURES = "$ROOT/fixtures/overrides";
my $TIMEOUT = $MultipathOracle::TIMEOUT;

my sub check_dies {
    my ($text) = @_;
    eval { PVE::RS::Multipath::Config::check_overrides($text) };
    return $@;
}

# --- the series' guard cases, verbatim, and the writer ---
my @guard = (
    ["devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n", undef, 'well-formed devices{} block'],
    ["multipaths {\n}\n", qr/managed via aliases/, 'multipaths{} block'],
    ["devices {\n", qr/unbalanced braces/, 'unclosed brace'],
    ["frobnicate {\n}\n", qr/unknown top-level section/, 'unknown top-level section'],
    [undef, undef, 'undef text'],
    ['', undef, 'empty text'],
);
for my $case (@guard) {
    my ($text, $expect, $name) = $case->@*;
    my $err = check_dies($text);
    if (defined($expect)) {
        like($err, $expect, "guard: $name refused");
        like($err, qr/\Amultipath overrides: line \d+: /, "guard: $name error names the line");
        like($err, qr/\n\z/, "guard: $name error ends in a newline");
    } else {
        is($err, '', "guard: $name passes");
    }
}

my @normalize = (
    ["text  \n\n", "text\n", 'trailing whitespace and blank lines'],
    ['', '', 'empty stays empty'],
    [undef, '', 'undef reads as empty'],
    [" \n\t\n", '', 'blank text becomes empty'],
    ["a \r\nb\t\n", "a\nb\n", 'per-line trailing whitespace, CRLF'],
    ["no newline", "no newline\n", 'final newline added'],
);
for my $case (@normalize) {
    my ($text, $expect, $name) = $case->@*;
    is(PVE::RS::Multipath::Config::normalize_overrides($text), $expect, "normalize: $name");
}

my $tables = PVE::RS::Multipath::Config::overrides_keywords();
my %known = map {
    my $section = $_;
    ($section => { map { $_ => 1 } $tables->{sections}->{$section}->@* })
} keys $tables->{sections}->%*;
is_deeply($tables->{releases}, ['0.9.4', '0.11.1'], 'keyword table: the known releases');
ok($known{defaults}->{polling_interval}, 'keyword table: defaults knows polling_interval');
ok($known{'overrides protocol'}->{type}, 'keyword table: overrides protocol knows type');
ok($known{defaults}->{detect_pgpolicy}, 'keyword table: defaults knows a keyword of 0.11.1');
my %added = map { $_->{change} eq 'added' && !$_->{values} ? ($_->{keyword} => $_->{detail}) : () }
    $tables->{facts}->@*;
is_deeply(
    \%added,
    {
        detect_pgpolicy => '0.9.6',
        detect_pgpolicy_use_tpg => '0.9.6',
        max_retries => '0.9.7',
        auto_resize => '0.9.7',
    },
    'keyword table: the keywords 0.11.1 added, with their upstream release',
);
is_deeply(
    [sort map { $_->{keyword} } $tables->{newer}->@*],
    ['purge_disconnected'], 'keyword table: the keywords of releases after 0.11.1',
);
my @lint_unknown = eval { PVE::RS::Multipath::Config::lint_overrides_for('', ['0.10.0'], 0) };
like($@, qr/no keyword tables for multipath-tools '0\.10\.0'/, 'lint for an unknown release dies');

# --- the fixtures: our verdict ---
my @fixtures;
for my $kind (qw(good bad warn)) {
    opendir(my $dh, "$FIXTURES/$kind") or die "cannot open $FIXTURES/$kind: $!\n";
    for my $name (sort grep { /\.conf$/ } readdir($dh)) {
        my $text = slurp("$FIXTURES/$kind/$name");
        my @expect = $text =~ m/^# expect: (.*?)\s*$/mg;
        my @bad_for = map { split(' ', $_) } $text =~ m/^# bad-for: (.*)$/mg;
        @bad_for = $tables->{releases}->@* if !@bad_for;
        my @crashes = map { split(' ', $_) } $text =~ m/^# crashes: (.*)$/mg;
        my $disagree = $text =~ m/^# disagree: /m ? 1 : 0;
        push @fixtures,
            {
            kind => $kind,
            name => "$kind/$name",
            path => "$FIXTURES/$kind/$name",
            text => $text,
            expect => \@expect,
            bad_for => { map { $_ => 1 } @bad_for },
            crashes => { map { $_ => 1 } @crashes },
            disagree => $disagree,
            };
    }
    closedir($dh);
}
cmp_ok(scalar(@fixtures), '>=', 30, 'the corpus has at least 30 texts');

my sub findings {
    my ($lint, $which) = @_;
    return map { "line $_->{line}: $_->{message}" } $lint->{$which}->@*;
}

for my $fx (@fixtures) {
    my ($kind, $name) = $fx->@{qw(kind name)};
    my $lint = PVE::RS::Multipath::Config::lint_overrides($fx->{text});
    my $err = check_dies($fx->{text});
    my @errors = findings($lint, 'errors');
    my @warnings = findings($lint, 'warnings');

    if ($kind eq 'good') {
        is_deeply([@errors, @warnings], [], "$name: no findings");
        is($err, '', "$name: check_overrides passes");
    } elsif ($kind eq 'bad') {
        cmp_ok(scalar(@errors), '>', 0, "$name: refused");
        like($err, qr/\Amultipath overrides: line \d+: .*\n\z/s, "$name: dies naming the line");
        for my $expect ($fx->{expect}->@*) {
            ok((grep { index($_, $expect) >= 0 } @errors), "$name: an error says '$expect'")
                or diag(join("\n", @errors));
        }
    } else {
        is_deeply(\@errors, [], "$name: no errors");
        is($err, '', "$name: check_overrides passes");
        cmp_ok(scalar(@warnings), '>', 0, "$name: warned");
        for my $expect ($fx->{expect}->@*) {
            ok((grep { index($_, $expect) >= 0 } @warnings), "$name: a warning says '$expect'")
                or diag(join("\n", @warnings));
        }
        my $strict = PVE::RS::Multipath::Config::lint_overrides_for($fx->{text}, ['0.9.4'], 1);
        cmp_ok(scalar($strict->{errors}->@*), '>', 0, "$name: the strict check refuses it");
    }
    ok(scalar($fx->{expect}->@*) > 0, "$name: states what it expects") if $kind ne 'good';
    for my $release ($tables->{releases}->@*) {
        my $for = PVE::RS::Multipath::Config::lint_overrides_for($fx->{text}, [$release], 0);
        my @for = findings($for, 'errors');
        if ($kind eq 'bad' && $fx->{bad_for}->{$release}) {
            cmp_ok(scalar(@for), '>', 0, "$name: refused for $release");
        } elsif ($kind ne 'warn') {
            is_deeply(\@for, [], "$name: accepted for $release alone");
        }
        $fx->{our_lines}->{$release} =
            { map { $_->{line} => 1 } $for->{errors}->@*, $for->{warnings}->@* };
    }
}

# --- the same fixtures through the installed multipath-tools ---
my $oracle = MultipathOracle->new(root => $ROOT);

# Runs `multipath -t` on an empty main config plus the drop-ins; returns the
# complaint messages and the whole output. A timeout or a crash is a failure
# naming the input.
my sub multipath_t {
    my (@dropins) = @_;
    my $run = $oracle->run(@dropins);
    if (@dropins && !$run->{ran} && !$run->{timeout} && !$run->{signal}) {
        fail("oracle: multipath -t did not run on " . join(' ', @dropins));
        diag($run->{output});
    }
    if ($run->{timeout} || $run->{signal}) {
        fail(
            "oracle: multipath -t "
                . (
                $run->{timeout} ? "timed out after $TIMEOUT s" : "died of signal $run->{signal}"
                )
                . " on "
                . join(' ', map { $_ =~ s{.*/}{}r } @dropins)
        );
        diag(join("\n", map { slurp($_) } @dropins));
    }
    return ($run->{complaints}, $run->{output});
}

SKIP: {
    my $why = $oracle->unavailable();
    skip($why, 1) if $why;
    my $release = $oracle->release();
    skip("no keyword tables for the installed multipath-tools " . $oracle->version(), 1)
        if !defined($release);
    note("oracle: multipath-tools " . $oracle->version() . ", checked with the tables of $release");

    my ($base, $base_output) = multipath_t();
    skip("multipath -t did not run in the sandbox:\n$base_output", 1)
        if $base_output !~ m/^defaults \{/m;
    is_deeply($base, [], 'oracle: an empty config draws no complaint');

    # Every keyword 0.9.4 prints in its effective config is one our tables know.
    my %printed;
    my @stack;
    for my $line (split(/\n/, $base_output)) {
        if ($line =~ m/^\s*(\w+) \{$/) {
            push @stack, $1;
        } elsif ($line =~ m/^\s*\}$/) {
            pop @stack;
        } elsif ($line =~ m/^\s*(\w+)\s/ && @stack) {
            $printed{ join(' ', @stack) }->{$1} = 1;
        }
    }
    my %table_for = (
        defaults => 'defaults',
        blacklist => 'blacklist',
        'blacklist device' => 'blacklist device',
        blacklist_exceptions => 'blacklist_exceptions',
        'devices device' => 'devices device',
    );
    for my $block (sort keys %table_for) {
        my @seen = sort keys(($printed{$block} // {})->%*);
        cmp_ok(scalar(@seen), '>', 0, "oracle prints keywords of '$block'");
        my @unknown = grep { !$known{ $table_for{$block} }->{$_} } @seen;
        is_deeply(\@unknown, [], "every keyword $release prints in '$block' is in our table");
    }

    # Keyword sweep: every value keyword of our tables, once with a value its
    # kind accepts and once with one it refuses: the release must complain
    # about exactly the lines we refuse for it (in the first pass, the
    # keywords the release does not have or deprecates).
    my %crashing = map { ("$_->{section} $_->{keyword}" => 1) } $tables->{crashes}->@*;
    my sub sample_values {
        my ($kind) = @_;
        return ('x', undef) if $kind eq 'str';
        return ('3', '6') if $kind eq 'max-retries';
        return ('6', 'disk') if $kind eq 'gid';
        return ('pfx', 'a/b') if $kind eq 'no-slash';
        return ('/etc/multipath/x', 'etc/x') if $kind eq 'path';
        if ($kind =~ m/^int:(-?\d+):(-?\d+)$/) {
            my $good = $1 > 2 ? $1 : ($2 < 2 ? $2 : 2);
            return ($good, '2x');
        }
        return ('5', '-1') if $kind eq 'uint';
        return ((split(/\|/, $1))[0], 'bogus') if $kind =~ m/^(?:enum|prefix):(.*)$/;
        return ('0', '2 queue_if_no_path') if $kind eq 'arg-count:0';
        return ('service-time 0', 'service-time') if $kind eq 'arg-count:1';
        my %pairs = (
            failback => ['immediate', 'later'],
            'no-path-retry' => ['queue', 'sometimes'],
            'off-zero-int' => ['off', 'x'],
            'no-int' => ['no', 'x'],
            'dev-loss' => ['infinity', 'never'],
            'max-fds' => ['max', 'x'],
            mode => ['0600', '999'],
            owner => ['0', ''],
            regex => ['^sd', '(sd'],
            prkey => ['0x1234abcd', 'x'],
            'uid-attrs' => ['sd:ID_SERIAL', 'x'],
        );
        return $pairs{$kind}->@* if $pairs{$kind};
        die "no sample values for kind '$kind'\n";
    }
    my %wrap = (
        defaults => [['defaults'], []],
        overrides => [['overrides'], []],
        'devices device' => [['devices', 'device'], ['vendor "V"', 'product "P"']],
        'overrides protocol' => [['overrides', 'protocol'], ['type "scsi:fcp"']],
        blacklist => [['blacklist'], []],
        blacklist_exceptions => [['blacklist_exceptions'], []],
        'blacklist device' => [['blacklist', 'device'], []],
    );
    my $dir = tempdir(CLEANUP => 1);
    for my $section (sort keys %wrap) {
        my ($blocks, $fixed) = $wrap{$section}->@*;
        my $kinds = $tables->{kinds}->{$section};
        for my $which (0, 1) {
            my $label = $which ? 'refused' : 'accepted';
            my $text = '';
            my $indent = '';
            for my $block ($blocks->@*) {
                $text .= "$indent$block {\n";
                $indent .= "\t";
            }
            my %fixed_kw = map { (split(/ /, $_))[0] => 1 } $fixed->@*;
            $text .= "$indent$_\n" for $fixed->@*;
            my $line = ($text =~ tr/\n//);
            my %swept;
            for my $keyword (sort keys $kinds->%*) {
                next if $fixed_kw{$keyword};
                # Values a release crashes or hangs on are run on their own
                # below (a crash hides the lines after it).
                next if $which && $crashing{"$section $keyword"};
                my $value = (sample_values($kinds->{$keyword}))[$which];
                next if !defined($value);
                $value =~ s/"/""/g;
                $text .= "$indent$keyword \"$value\"\n";
                $swept{ ++$line } = $keyword;
            }
            while (length($indent)) {
                chop($indent);
                $text .= "$indent}\n";
            }
            next if !%swept;
            (my $file = "$dir/sweep-$section-$label.conf") =~ s/ /-/g;
            open(my $fh, '>', $file) or die "cannot write $file: $!\n";
            print $fh $text;
            close($fh);

            my ($complaints) = multipath_t($file);
            my $lint = PVE::RS::Multipath::Config::lint_overrides_for($text, [$release], 1);
            my %ours = map { $swept{ $_->{line} } ? ($_->{line} => 1) : () } $lint->{errors}->@*;
            my @ours = sort { $a <=> $b } keys %ours;
            my %theirs = map { m/\bline (\d+)\b/ && $swept{$1} ? ($1 => 1) : () } $complaints->@*;
            my @theirs = sort { $a <=> $b } keys %theirs;
            my $n = scalar(keys %swept);
            # lines we refuse that name no line of the sweep (e.g. the end of
            # a block) must not exist
            my @other = grep { !$swept{ $_->{line} } } $lint->{errors}->@*;
            is_deeply(\@other, [], "sweep '$section' $label: no finding outside the swept lines");
            if ($which) {
                is_deeply(
                    \@ours,
                    [sort { $a <=> $b } keys %swept],
                    "sweep '$section': we refuse all $n bad values"
                );
            } else {
                my @refused = map { "$_: $swept{$_}" } @ours;
                note("sweep '$section': $release does not take: @refused") if @refused;
            }
            is_deeply(\@theirs, \@ours,
                "sweep '$section' $label: $release complains on the lines we refuse")
                or diag(join("\n", $text, $complaints->@*));
        }
    }

    # Keywords this release does not have (added later, or after every
    # known release): it calls them invalid keywords, we name the release
    # that added them.
    my %later = map { ($_->{keyword} => $_->{detail}) }
        grep {
        $_->{change} eq 'added' && !$_->{values} && grep { $_ eq $release } $_->{'refused-by'}->@*
        } $tables->{facts}->@*;
    $later{ $_->{keyword} } = $_->{release} for $tables->{newer}->@*;
    my %newer_wrap = (
        defaults => ['defaults'],
        device => ['devices', 'device'],
        overrides => ['overrides'],
    );
    my %sections_of = map { ($_->{keyword} => $_->{sections}) } $tables->{newer}->@*;
    for my $section (sort keys %newer_wrap) {
        my @blocks = $newer_wrap{$section}->@*;
        my $text = join('', map { "$blocks[$_] {\n" } 0 .. $#blocks);
        $text .= "vendor V\nproduct P\n" if $section eq 'device';
        my $line = ($text =~ tr/\n//);
        my $table = $section eq 'device' ? 'devices device' : $section;
        my %swept;
        for my $keyword (sort keys %later) {
            my $in =
                $sections_of{$keyword}
                ? grep { $_ eq $section } $sections_of{$keyword}->@*
                : $known{$table}->{$keyword};
            next if !$in;
            my $kind = $tables->{kinds}->{$table}->{$keyword} // 'yes-no';
            my ($value) = $kind eq 'yes-no' ? ('yes') : sample_values($kind);
            $text .= "$keyword $value\n";
            $swept{ ++$line } = $later{$keyword};
        }
        $text .= "}\n" x scalar(@blocks);
        next if !%swept;
        (my $file = "$dir/newer-$section.conf");
        open(my $fh, '>', $file) or die "cannot write $file: $!\n";
        print $fh $text;
        close($fh);
        my ($complaints) = multipath_t($file);
        my $lint = PVE::RS::Multipath::Config::lint_overrides_for($text, [$release], 1);
        my @ours =
            map { $_->{line} }
            grep {
            $_->{message} =~
                m/not supported by multipath-tools \Q$release\E \(added in \Q$swept{$_->{line}}\E\)/
            } $lint->{errors}->@*;
        my @theirs = sort { $a <=> $b }
            map { m/line (\d+), invalid keyword in the \w+ section/ ? ($1) : () } $complaints->@*;
        is_deeply(
            [sort { $a <=> $b } @ours],
            [sort { $a <=> $b } keys %swept],
            "later keywords in '$section': each refused with its release"
        );
        is_deeply(
            \@theirs,
            [sort { $a <=> $b } keys %swept],
            "later keywords in '$section': $release calls each an invalid keyword"
        ) or diag(join("\n", $text, $complaints->@*));
    }

    # The values the tables say a release crashes or hangs on: this release
    # must die or hang on its own ones (with a short timeout), and complain
    # about or survive the others.
    my %crash_samples = (
        polling_interval => ['0', '-1'],
        partition_delimiter => ['p/'],
    );
    for my $crash ($tables->{crashes}->@*) {
        my $samples = $crash_samples{ $crash->{keyword} };
        ok($samples, "crash of '$crash->{keyword}': a sample value to run");
        next if !$samples;
        my $affected = grep { $_ eq $release } $crash->{releases}->@*;
        for my $value ($samples->@*) {
            my $text = "$crash->{section} {\n\t$crash->{keyword} \"$value\"\n}\n";
            my $lint = PVE::RS::Multipath::Config::lint_overrides_for($text, [$release], 1);
            next if !grep { $_->{message} =~ m/\Q$crash->{what}\E/ } $lint->{errors}->@*;
            my $file = "$dir/crash.conf";
            open(my $fh, '>', $file) or die "cannot write $file: $!\n";
            print $fh $text;
            close($fh);
            my $run = $oracle->run_with_timeout(10, $file);
            my $died = $run->{timeout} || $run->{signal};

            if ($affected) {
                ok($died, "$crash->{keyword} \"$value\": $release does $crash->{what}")
                    or diag($run->{output});
            } else {
                ok(!$died, "$crash->{keyword} \"$value\": $release survives it")
                    or diag($run->{output});
            }
        }
    }

    for my $fx (@fixtures) {
        my ($kind, $name) = $fx->@{qw(kind name)};
        if ($fx->{crashes}->{$release}) {
            my $run = $oracle->run_with_timeout(10, $fx->{path});
            ok($run->{timeout} || $run->{signal}, "$name: $release crashes or hangs on it")
                or diag($run->{output});
            next;
        }
        my ($complaints) = multipath_t($fx->{path});
        my $shown = join("\n", map { "  $release: $_" } $complaints->@*);
        my $bad = $kind ne 'good' && ($kind ne 'bad' || $fx->{bad_for}->{$release});
        if (!$bad) {
            is_deeply($complaints, [], "$name: $release agrees it is clean")
                or diag($shown);
        } elsif ($fx->{disagree}) {
            is_deeply($complaints, [], "$name: $release is silent (documented disagreement)")
                or diag($shown);
        } else {
            cmp_ok(scalar($complaints->@*), '>', 0, "$name: $release complains too");
            # Where the release names lines, one of them is a line we name.
            my @their_lines = map { m/\bline (\d+)\b/ ? ($1) : () } $complaints->@*;
            if (@their_lines) {
                ok(
                    (grep { $fx->{our_lines}->{$release}->{$_} } @their_lines),
                    "$name: we name a line $release names (@their_lines)",
                ) or diag($shown);
            }
        }
    }
}

done_testing();
