#!/usr/bin/perl

# Every drop-in we render goes through the real multipath-tools parser
# (`multipath -t` in a private mount namespace, tests/multipath-t-sandbox):
# no complaint, and the merged configuration shows our values intact.
# Then arbitrary strings for every knob, the alias and the WWID: each is
# either refused with a clear message, or rendered so that multipath shows
# exactly that keyword with exactly that value, and no other section.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(basename dirname);
use File::Temp qw(tempdir);
use Test::More;

use PVE::Multipath::Config;
use PVE::Tools qw(file_get_contents file_set_contents);

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $SANDBOX = "$ROOT/tests/multipath-t-sandbox";

plan skip_all => 'needs root for the mount namespace of multipath -t' if $> != 0;
plan skip_all => 'needs multipath-tools (multipath -t)' if !-x '/sbin/multipath';

my $tmp = tempdir(CLEANUP => 1);
file_set_contents("$tmp/multipath.conf", '');

# Run the real parser on rendered files; returns (complaints, sections) where
# sections is { name => { keyword => value } } for defaults/overrides and
# { multipaths => { wwid => { keyword => value } } }.
my sub multipath_t {
    my ($files) = @_;
    my @paths;
    for my $name (sort keys $files->%*) {
        next if !defined($files->{$name});
        file_set_contents("$tmp/$name", $files->{$name});
        push @paths, "$tmp/$name";
    }
    my $output = qx($SANDBOX $tmp/multipath.conf @paths 2>&1);
    die "$output\n" if ($? >> 8) == 124;    # a timeout, naming the input
    unlink(@paths);
    my @complaints = grep { m/^\s*[0-9]+\.[0-9]+ \| / } split(/\n/, $output);

    my ($sections, @stack, $entry) = ({});
    for my $line (split(/\n/, $output)) {
        next if $line =~ m/^\s*[0-9]+\.[0-9]+ \| /;
        if ($line =~ m/^\s*(\S+) \{$/) {
            push @stack, $1;
            $sections->{$1} //= {} if @stack == 1;
            $entry = {} if @stack == 2;
        } elsif ($line =~ m/^\s*\}$/) {
            if (@stack == 2 && $stack[0] eq 'multipaths') {
                $sections->{multipaths}->{ $entry->{wwid} // '' } = $entry;
            }
            pop @stack;
        } elsif ($line =~ m/^\s*(\S+) (.*)$/) {
            my ($keyword, $value) = ($1, $2);
            $value =~ s/^"(.*)"$/$1/;
            if (@stack == 1) {
                $sections->{ $stack[0] }->{$keyword} = $value;
            } elsif (@stack == 2 && $stack[0] eq 'multipaths') {
                $entry->{$keyword} = $value;
            }
        }
    }
    return (\@complaints, $sections);
}

# the value multipath shows for what we set
my sub shown {
    my ($key, $value) = @_;
    # multipath-tools 0.9.4 prints find_multipaths yes/no as on/off
    my $find_multipaths = { yes => 'on', no => 'off' };
    return $find_multipaths->{$value} // $value if $key eq 'find-multipaths';
    return $value;
}

my $baseline_sections = do {
    my ($complaints, $sections) = multipath_t({});
    [sort keys $sections->%*];
};

# --- the corpus ---
for my $cfg_path (sort glob("$ROOT/fixtures/config/*.cfg")) {
    my $name = basename($cfg_path);
    (my $overrides_path = $cfg_path) =~ s/\.cfg$/.overrides/;
    my $overrides = -e $overrides_path ? file_get_contents($overrides_path) : '';

    my $cfg = PVE::Multipath::Config->parse_config($name, file_get_contents($cfg_path));
    is($cfg->{errors}, undef, "$name: parses without errors");
    my $files = PVE::Multipath::Config::render_node_files($cfg, $overrides);
    my ($complaints, $sections) = multipath_t($files);
    is_deeply($complaints, [], "$name: multipath -t has no complaint");

    my $defaults = PVE::Multipath::Config::effective_defaults($cfg);
    my $schema = PVE::Multipath::Config::defaults_api_schema();
    my @defaults_differ;
    for my $key (sort keys $defaults->%*) {
        next if $key eq 'paths-expected';
        (my $keyword = $key) =~ tr/-/_/;
        my $got = $sections->{defaults}->{$keyword} // '(unset)';
        push @defaults_differ, "$keyword: $got" if $got ne shown($key, $defaults->{$key});
    }
    is_deeply(\@defaults_differ, [], "$name: every defaults value is in effect");

    my $opts = PVE::Multipath::Config::wwid_opts($cfg);
    my @wwids_differ;
    for my $wwid (sort keys $opts->%*) {
        my $entry = $sections->{multipaths}->{$wwid};
        my @keys = grep { $_ ne 'paths-expected' } keys $opts->{$wwid}->%*;
        if (!@keys) {
            push @wwids_differ, "$wwid: rendered without any option" if $entry;
            next;
        }
        for my $key (@keys) {
            (my $keyword = $key) =~ tr/-/_/;
            my $got = $entry->{$keyword} // '(unset)';
            push @wwids_differ, "$wwid $keyword: $got"
                if $got ne shown($key, $opts->{$wwid}->{$key});
        }
    }
    is_deeply(\@wwids_differ, [], "$name: every per-WWID value is in effect");
    ok(!grep({ defined && m/paths_expected/ } values $files->%*),
        "$name: paths-expected is never rendered");
}

# --- arbitrary strings for every knob, the alias and the WWID ---
my @atoms = (
    'a', 'Z', '0', '1',
    '9', '12', '-', '_',
    '.', ':', ' ', "\t",
    "\n", '"', "'", '{',
    '}', '#', '!', '\\',
    '/', '*', "\x{e9}", "\x{2603}",
    "\0", "\x7f", 'queue', 'fail',
    'manual', 'strict', 'service-time', 'round-robin 0',
    'yes', 'no', 'multibus', 'priorities',
);
my $seed = $ENV{PVE_MULTIPATH_TEST_SEED} // 20261124;
srand($seed);
my sub arbitrary {
    my $length = int(rand(6));
    return join('', map { $atoms[int(rand(@atoms))] } 0 .. $length);
}

my $WWID = '3600a098038314b2d4a5d4e6f2f6b4d31';
my $base = PVE::Multipath::Config->parse_config('multipath.cfg', "wwid: $WWID\n");
my $clear_error = qr/value|type check|property|reserved|WWID|must|characters/;

my (%accepted, %refused, @unclear, @wrong);
my sub try_value {
    my ($section, $id, $key, $value) = @_;
    my $cfg =
        eval { PVE::Multipath::Config::update_section($base, $section, $id, { $key => $value }); };
    if (my $err = $@) {
        $refused{$key}++;
        push @unclear, "$key=" . quotemeta($value) . ": $err"
            if $err !~ $clear_error || $err !~ m/\n\z/;
        return;
    }
    $accepted{$key}++;
    my ($complaints, $sections) = multipath_t(PVE::Multipath::Config::render_node_files($cfg, ''));
    my $stored = $cfg->{ids}->{$id}->{$key};
    (my $keyword = $key) =~ tr/-/_/;
    my $got =
          $section eq 'defaults'
        ? $sections->{defaults}->{$keyword}
        : $sections->{multipaths}->{$id}->{$keyword};
    my @problems;
    push @problems, "complaints: @$complaints" if $complaints->@*;
    # our own knobs are no multipathd keywords: never rendered
    my $ours = $key eq 'paths-expected' || $key =~ m/^notify(?:-|$)/;
    push @problems, "shows " . ($got // '(unset)') . " instead of $stored"
        if !$ours && ($got // '') ne shown($key, $stored);
    push @problems, "rendered as $got" if $ours && defined($got);
    # integers are stored numified, as SectionConfig does ('01' is 1)
    my $same = $value =~ m/^-?[0-9]+$/ ? $stored == $value : "$stored" eq "$value";
    push @problems, "value changed from '$value' to '$stored'" if !$same;
    # a per-WWID knob adds the multipaths section, nothing may add any other
    my @allowed = ($baseline_sections->@*, $section eq 'wwid' ? 'multipaths' : ());
    my $got_sections = join(' ', sort keys $sections->%*);
    push @problems, "sections $got_sections" if $got_sections ne join(' ', sort @allowed);
    push @wrong, "$key=" . quotemeta($value) . ": @problems" if @problems;
}

my $per_key = $ENV{PVE_MULTIPATH_TEST_CASES} // 40;
for my $key (sort keys PVE::Multipath::Config::defaults_api_schema()->%*) {
    try_value('defaults', 'defaults', $key, arbitrary()) for 1 .. $per_key;
}
for my $key (sort keys PVE::Multipath::Config::wwid_api_schema()->%*) {
    try_value('wwid', $WWID, $key, arbitrary()) for 1 .. $per_key;
}
# valid values from the API schema too, so both outcomes are exercised
for my $case (
    [defaults => 'no-path-retry', 'queue'],
    [defaults => 'path-selector', 'service-time 0'],
    [defaults => 'failback', '30'],
    [defaults => 'polling-interval', '7'],
    [wwid => 'alias', 'san-a.lun_0'],
    [wwid => 'rr-weight', 'uniform'],
    [wwid => 'rr-min-io-rq', '16'],
    )
{
    my ($section, $key, $value) = $case->@*;
    try_value($section, $section eq 'defaults' ? 'defaults' : $WWID, $key, $value);
}

# the WWID itself, as the section id
my @wwid_problems;
for (1 .. $per_key * 2) {
    my $id = arbitrary() . '36' . arbitrary();
    my $cfg =
        eval { PVE::Multipath::Config::update_section($base, 'wwid', $id, { alias => 'probe' }); };
    if (my $err = $@) {
        push @wwid_problems, quotemeta($id) . ": unclear: $err" if $err !~ $clear_error;
        next;
    }
    my ($complaints, $sections) = multipath_t(PVE::Multipath::Config::render_node_files($cfg, ''));
    my $entry = $sections->{multipaths}->{$id};
    push @wwid_problems, quotemeta($id) . ": complaints @$complaints" if $complaints->@*;
    push @wwid_problems, quotemeta($id) . ": not shown with its alias"
        if !$entry || ($entry->{alias} // '') ne 'probe';
}

# path-selector: we accept exactly what multipath-tools keeps ('<name> 0');
# any other argument count it drops with "invalid argument count"
my @selector_disagree;
for my $selector (
    'service-time 0', 'round-robin 0', 'queue-length 0', 'historical-service-time 0',
    'service-time 1', 'service-time 5', 'round-robin 2', 'queue-length 3',
    'service-time',   'service-time 0 0',
    )
{
    my $param = { 'path-selector' => $selector };
    my $ours = eval { PVE::Multipath::Config::update_section($base, 'wwid', $WWID, $param) }
        ? 'accepted'
        : 'refused';
    my $probe = "defaults {\n\tpath_selector \"$selector\"\n}\n";
    my ($complaints) = multipath_t({ 'probe.conf' => $probe });
    my $theirs = $complaints->@* ? 'refused' : 'accepted';
    push @selector_disagree, "'$selector': we $ours, multipath -t $theirs @$complaints"
        if $ours ne $theirs;
}
is_deeply(\@selector_disagree, [],
    'path-selector: we accept what multipath -t keeps, nothing else');

# the longest WWID a map can have renders and parses
my $longest = '3' . ('6' x 121);
my $long_cfg = PVE::Multipath::Config::update_section($base, 'wwid', $longest, { alias => 'long' });
my ($long_complaints, $long_sections) =
    multipath_t(PVE::Multipath::Config::render_node_files($long_cfg, ''));
is_deeply($long_complaints, [], 'a 122-character WWID: multipath -t has no complaint');
is($long_sections->{multipaths}->{$longest}->{alias}, 'long', 'and shows its entry');
eval { PVE::Multipath::Config::update_section($base, 'wwid', "${longest}6", { alias => 'x' }) };
like($@, qr/may only be 122 characters long/, 'one character more is refused');

is_deeply(\@unclear, [], "refused values get a clear message (seed $seed)");
is_deeply(\@wrong, [], "accepted values show exactly as set, nothing else changes (seed $seed)");
is_deeply(\@wwid_problems, [], "WWIDs are refused or rendered as themselves (seed $seed)");
ok((grep { $_ } values %accepted) && (grep { $_ } values %refused), 'both outcomes were exercised')
    or diag(explain({ accepted => \%accepted, refused => \%refused }));

done_testing();
