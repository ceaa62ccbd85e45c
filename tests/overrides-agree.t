#!/usr/bin/perl

# The override validator (PVE::RS::Multipath::Config::check_overrides and
# lint_overrides) against the real parser of multipath-tools 0.9.4.
#
# Every text in fixtures/overrides/{good,bad,warn} is checked by us and, as a
# conf.d drop-in, by `multipath -t` in a private mount namespace
# (tests/multipath-t-sandbox). The two must agree: good = we find nothing and
# multipath-tools prints no complaint line (`<uptime> | <message>`); bad = we
# refuse it and multipath-tools complains; warn = we accept it with a warning
# and multipath-tools complains. A bad fixture with a `# disagree:` line is a
# deliberate difference: we refuse it, and this test checks that 0.9.4 is in
# fact silent about it (so the note stays true).
#
# Without the sandbox (no multipath-tools, no root for unshare) the
# multipath-tools half is skipped and said so; our own verdicts are still
# checked. OVERRIDES_SANDBOX=/path/to/script overrides the sandbox location.

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use Test::More;

use PVE::RS::Multipath::Config;

my $ROOT = "$FindBin::Bin/..";
my $FIXTURES = "$ROOT/fixtures/overrides";

my sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "cannot open '$path': $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return $text;
}

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
ok($known{defaults}->{polling_interval}, 'keyword table: defaults knows polling_interval');
ok($known{'overrides protocol'}->{type}, 'keyword table: overrides protocol knows type');
ok(!$known{defaults}->{detect_pgpolicy}, 'keyword table: no post-0.9.4 keyword in defaults');
is_deeply(
    [sort map { $_->{keyword} } $tables->{newer}->@*],
    [sort qw(auto_resize detect_pgpolicy detect_pgpolicy_use_tpg max_retries purge_disconnected)],
    'keyword table: the keywords of later releases',
);

# --- the fixtures: our verdict ---
my @fixtures;
for my $kind (qw(good bad warn)) {
    opendir(my $dh, "$FIXTURES/$kind") or die "cannot open $FIXTURES/$kind: $!\n";
    for my $name (sort grep { /\.conf$/ } readdir($dh)) {
        my $text = slurp("$FIXTURES/$kind/$name");
        my @expect = $text =~ m/^# expect: (.*?)\s*$/mg;
        my $disagree = $text =~ m/^# disagree: /m ? 1 : 0;
        push @fixtures,
            {
            kind => $kind,
            name => "$kind/$name",
            path => "$FIXTURES/$kind/$name",
            text => $text,
            expect => \@expect,
            disagree => $disagree,
            };
    }
    closedir($dh);
}
cmp_ok(scalar(@fixtures), '>=', 30, 'the corpus has at least 30 texts');

for my $fx (@fixtures) {
    my ($kind, $name) = $fx->@{qw(kind name)};
    my $lint = PVE::RS::Multipath::Config::lint_overrides($fx->{text});
    my $err = check_dies($fx->{text});
    my @errors = map { "line $_->{line}: $_->{message}" } $lint->{errors}->@*;
    my @warnings = map { "line $_->{line}: $_->{message}" } $lint->{warnings}->@*;
    $fx->{our_lines} = { map { $_->{line} => 1 } $lint->{errors}->@*, $lint->{warnings}->@* };

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
    }
    ok(scalar($fx->{expect}->@*) > 0, "$name: states what it expects") if $kind ne 'good';
}

# --- the same fixtures through multipath-tools 0.9.4 ---
my $sandbox = $ENV{OVERRIDES_SANDBOX} // "$ROOT/tests/multipath-t-sandbox";

# Runs `multipath -t` on an empty main config plus the drop-ins; returns the
# complaint messages and the whole output.
my sub multipath_t {
    my (@dropins) = @_;
    my $dir = tempdir(CLEANUP => 1);
    open(my $fh, '>', "$dir/multipath.conf") or die "cannot write $dir/multipath.conf: $!\n";
    close($fh);
    # multipath logs its complaints to stderr: read both streams.
    my $pid = open(my $out, '-|') // die "cannot fork: $!\n";
    if (!$pid) {
        open(STDERR, '>&', \*STDOUT) or die "cannot redirect stderr: $!\n";
        exec($sandbox, "$dir/multipath.conf", @dropins) or die "cannot run $sandbox: $!\n";
    }
    local $/;
    my $output = <$out> // '';
    close($out);
    die "$output\n" if ($? >> 8) == 124;    # a timeout, naming the input
    my @complaints = $output =~ m/^\s*\d+\.\d+ \| (.*)$/mg;
    return (\@complaints, $output);
}

SKIP: {
    skip("no multipath -t sandbox at $sandbox", 1) if !-x $sandbox;
    skip('multipath-tools not installed', 1) if !-x '/usr/sbin/multipath' && !-x '/sbin/multipath';

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
        is_deeply(\@unknown, [], "every keyword 0.9.4 prints in '$block' is in our table");
    }

    # Keyword sweep: every value keyword of our tables, once with a value its
    # kind accepts (0.9.4 must be silent) and once with one it refuses (0.9.4
    # must complain about exactly the lines we refuse).
    my sub sample_values {
        my ($kind) = @_;
        return (undef, 'x') if $kind eq 'deprecated';
        return (undef, '/var/lib/x') if $kind eq 'deprecated-path';
        return ('x', undef) if $kind eq 'str';
        return ('yes', undef) if $kind eq 'ignored';
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
                # 0.9.4 crashes right after complaining about a '/' in
                # partition_delimiter, hiding the lines after it; it has a
                # fixture of its own (bad/partition-delimiter-slash.conf).
                next if $which && $keyword eq 'partition_delimiter';
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
            my $lint = PVE::RS::Multipath::Config::lint_overrides($text);
            my @ours =
                sort { $a <=> $b } grep { $swept{$_} } map { $_->{line} } $lint->{errors}->@*;
            my %theirs = map { m/\bline (\d+)\b/ && $swept{$1} ? ($1 => 1) : () } $complaints->@*;
            my @theirs = sort { $a <=> $b } keys %theirs;
            my $n = scalar(keys %swept);
            if ($which) {
                is_deeply(
                    \@ours,
                    [sort { $a <=> $b } keys %swept],
                    "sweep '$section': we refuse all $n bad values"
                );
                is_deeply(\@theirs, \@ours, "sweep '$section': 0.9.4 complains on the same lines")
                    or diag(join("\n", $text, $complaints->@*));
            } else {
                is_deeply($lint->{errors}, [], "sweep '$section': we accept all $n good values");
                is_deeply($complaints, [], "sweep '$section': 0.9.4 accepts them too")
                    or diag(join("\n", $text, $complaints->@*));
            }
        }
    }

    # Keywords of later releases: 0.9.4 calls them invalid, we name the release.
    my %newer_wrap = (
        defaults => ['defaults'],
        device => ['devices', 'device'],
        overrides => ['overrides'],
    );
    for my $section (sort keys %newer_wrap) {
        my @blocks = $newer_wrap{$section}->@*;
        my $text = join('', map { "$blocks[$_] {\n" } 0 .. $#blocks);
        $text .= "vendor V\nproduct P\n" if $section eq 'device';
        my $line = ($text =~ tr/\n//);
        my %swept;
        for my $entry ($tables->{newer}->@*) {
            next if !grep { $_ eq $section } $entry->{sections}->@*;
            $text .= "$entry->{keyword} yes\n";
            $swept{ ++$line } = $entry->{release};
        }
        $text .= "}\n" x scalar(@blocks);
        (my $file = "$dir/newer-$section.conf");
        open(my $fh, '>', $file) or die "cannot write $file: $!\n";
        print $fh $text;
        close($fh);
        my ($complaints) = multipath_t($file);
        my $lint = PVE::RS::Multipath::Config::lint_overrides($text);
        my @ours =
            map { $_->{line} }
            grep { $_->{message} =~ m/not supported by multipath-tools 0\.9\.4/ }
            $lint->{errors}->@*;
        my @theirs = sort { $a <=> $b }
            map { m/line (\d+), invalid keyword in the \w+ section/ ? ($1) : () } $complaints->@*;
        is_deeply(
            [sort { $a <=> $b } @ours],
            [sort { $a <=> $b } keys %swept],
            "newer keywords in '$section': each refused with its release"
        );
        is_deeply(
            \@theirs,
            [sort { $a <=> $b } keys %swept],
            "newer keywords in '$section': 0.9.4 calls each an invalid keyword"
        ) or diag(join("\n", $text, $complaints->@*));
    }

    for my $fx (@fixtures) {
        my ($kind, $name) = $fx->@{qw(kind name)};
        my ($complaints) = multipath_t($fx->{path});
        my $shown = join("\n", map { "  0.9.4: $_" } $complaints->@*);
        if ($kind eq 'good') {
            is_deeply($complaints, [], "$name: multipath-tools agrees it is clean")
                or diag($shown);
        } elsif ($fx->{disagree}) {
            is_deeply($complaints, [], "$name: multipath-tools is silent (documented disagreement)")
                or diag($shown);
        } else {
            cmp_ok(scalar($complaints->@*), '>', 0, "$name: multipath-tools complains too");
            # Where 0.9.4 names lines, one of them is a line we name.
            my @their_lines = map { m/\bline (\d+)\b/ ? ($1) : () } $complaints->@*;
            if (@their_lines) {
                ok(
                    (grep { $fx->{our_lines}->{$_} } @their_lines),
                    "$name: we name a line 0.9.4 names (@their_lines)",
                ) or diag($shown);
            }
        }
    }
}

done_testing();
