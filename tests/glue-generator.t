#!/usr/bin/perl

# PVE::Multipath::Generator against a directory-backed pmxcfs stand-in (or
# the real PVE::Cluster under ../shared/tools/real-pve),
# stand-in multipath/multipathd commands (tests/bin) that edit the wwids
# file as multipath-tools does, and a fake sysfs.

use strict;
use warnings;

use Cwd qw(abs_path);
use Encode ();
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Test::More;

use PVE::Multipath::TestEnv;

use PVE::Cluster;
use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Generator;
use PVE::Tools qw(file_get_contents file_set_contents);

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $LUN = '35000c50015ea71ac';    # the WWID of the real capture below

my $tmp = tempdir(CLEANUP => 1);
my %dir = map { $_ => "$tmp/$_" } qw(pve conf.d state sys);
make_path(values %dir);

$dir{pve} = PVE::Multipath::TestEnv::cfs_dir();
$PVE::Multipath::MULTIPATH = "$ROOT/tests/bin/multipath";
$PVE::Multipath::MULTIPATHD = "$ROOT/tests/bin/multipathd";
$PVE::Multipath::SYSFS = $dir{sys};
$PVE::Multipath::PROC_MOUNTS = "$tmp/mounts";
$PVE::Multipath::WWIDS_FILE = "$tmp/wwids";
$PVE::Multipath::STATE_DIR = $dir{state};
$PVE::Multipath::Generator::CONF_D_DIR = $dir{'conf.d'};
# the node's own files (none here), never the host's
$PVE::Multipath::Import::MULTIPATH_CONF = "$tmp/multipath.conf";
$PVE::Multipath::Import::BINDINGS_FILE = "$tmp/bindings";
$ENV{MULTIPATH_STANDIN_WWIDS} = "$tmp/wwids";
$ENV{MULTIPATH_STANDIN_LOG} = "$tmp/calls";
$ENV{MULTIPATHD_STANDIN_MAPS} = "$ROOT/fixtures/maps/scsi-01-optimal.json";
file_set_contents("$tmp/mounts", "/dev/vda / ext4 rw 0 0\n");

my @log;
$PVE::Multipath::Generator::LOG = sub { push @log, $_[0] };

my sub calls {
    my ($pattern) = @_;
    return 0 if !-e "$tmp/calls";
    return scalar(grep { m/$pattern/ } split(/\n/, file_get_contents("$tmp/calls")));
}

my sub listed { return PVE::Multipath::list_etc_multipath_wwids() }

my sub write_cluster_config {
    my ($raw) = @_;
    file_set_contents("$dir{pve}/multipath.cfg", $raw);
}

# every file below the node's conf.d and state dirs with its inode and mtime
my sub snapshot {
    my %files;
    for my $dir (@dir{qw(conf.d state)}, $tmp) {
        opendir(my $dh, $dir) or next;
        for my $name (grep { -f "$dir/$_" && $_ ne 'calls' } readdir($dh)) {
            my @stat = stat("$dir/$name");
            $files{"$dir/$name"} = "$stat[1]:$stat[9]:" . file_get_contents("$dir/$name");
        }
    }
    return \%files;
}

# --- first sync ---
file_set_contents("$tmp/wwids", "# Multipath wwids, Version : 1.0\n/boot-lun-foreign/\n");
write_cluster_config("defaults: defaults\n\tno-path-retry 12\n\n"
        . "wwid: $LUN\n\talias labmp0\n\nwwid: 3600a0b800000000000000000000000aa\n");
my $result = PVE::Multipath::Generator::sync();
is($result->{error}, undef, 'first sync succeeds');
is_deeply(
    [sort $result->{changed}->@*],
    ['pve-aliases.conf', 'pve-defaults.conf'],
    'first sync writes the defaults and aliases drop-ins',
);
ok(!-e "$dir{'conf.d'}/pve-overrides.conf", 'no overrides, no overrides drop-in');
like(file_get_contents("$dir{'conf.d'}/pve-aliases.conf"), qr/alias labmp0/, 'alias rendered');
is_deeply(
    [sort { $a cmp $b } listed()->@*],
    [sort ('boot-lun-foreign', $LUN, '3600a0b800000000000000000000000aa')],
    'both WWIDs allow-listed through multipath -a, the foreign one untouched',
);
is(calls(qr/^multipathd reconfigure/), 1, 'multipathd reloaded once');
like(
    join("\n", @log),
    qr/kept WWIDs not in the cluster config: boot-lun-foreign \(not added/,
    'the log names the foreign WWID it keeps and why'
);

# --- steady state ---
my $before = snapshot();
my $calls_before = calls(qr/^multipath(d reconfigure| -[aw])/);
@log = ();
PVE::Multipath::Generator::sync() for 1 .. 10;
is_deeply(snapshot(), $before, 'ten syncs with an unchanged config write no file');
is(calls(qr/^multipath(d reconfigure| -[aw])/),
    $calls_before, 'ten syncs: no reload, no multipath call');
is_deeply(\@log, [], 'ten syncs: nothing logged');

# --- removal: only what PVE added, never what is in use ---
make_path("$dir{sys}/block/dm-0/holders/dm-1");    # LVM on top of the capture's map
write_cluster_config("defaults: defaults\n\tno-path-retry 12\n\n");
$result = PVE::Multipath::Generator::sync();
is($result->{error}, undef, 'sync after dropping the WWIDs succeeds');
is_deeply(
    [sort { $a cmp $b } listed()->@*],
    [sort ('boot-lun-foreign', $LUN)],
    'the unused WWID PVE added is removed, the in-use and the foreign one stay',
);
like(
    file_get_contents("$tmp/wwids"),
    qr{^#3600a0b800000000000000000000000aa/$}m,
    'removed with multipath -w (#WWID/)'
);
like(
    join("\n", @log),
    qr/\Q$LUN\E \(in use by dm-1\)/,
    'the log says the in-use WWID was kept and why'
);
ok(!-e "$dir{'conf.d'}/pve-aliases.conf", 'no WWID sections, no aliases drop-in');

rmdir("$dir{sys}/block/dm-0/holders/dm-1");
PVE::Multipath::Generator::sync();
is_deeply(listed(), ['boot-lun-foreign'], 'once the map is free, the WWID PVE added goes too');
is(calls(qr/^multipath -f labmp0$/), 1, 'and its map is flushed');

# --- a failing WWID is isolated and retried ---
{
    local $ENV{MULTIPATH_STANDIN_FAIL} = '3600bad';
    write_cluster_config("wwid: 3600bad\n\nwwid: 3600good\n");
    $result = PVE::Multipath::Generator::sync();
    like($result->{error}, qr/adding WWID 3600bad failed/, 'the failing WWID is reported');
    ok((grep { $_ eq '3600good' } listed()->@*), 'the other WWID is still allow-listed');
    like(PVE::Multipath::Generator::last_apply_error(), qr/3600bad/, 'the apply error is kept');
}
$result = PVE::Multipath::Generator::sync();
is($result->{error}, undef, 'the next pass retries and succeeds');
ok((grep { $_ eq '3600bad' } listed()->@*), 'the retried WWID is allow-listed');
is(PVE::Multipath::Generator::last_apply_error(), undef, 'the apply error is cleared');

# --- a failed reload is retried until it succeeds ---
{
    local $ENV{MULTIPATHD_STANDIN_RECONFIGURE_FAIL} = 1;
    my $reloads = calls(qr/^multipathd reconfigure/);
    write_cluster_config("wwid: 3600bad\n\nwwid: 3600good\n\talias good\n");
    $result = PVE::Multipath::Generator::sync();
    like($result->{error}, qr/reloading multipathd failed/, 'a failed reload is an apply error');
    $result = PVE::Multipath::Generator::sync();
    is(calls(qr/^multipathd reconfigure/), $reloads + 2, 'the next pass reloads again');
    like($result->{error}, qr/reloading multipathd failed/, 'and reports the failure again');
    like(
        PVE::Multipath::Generator::last_apply_error(),
        qr/reloading multipathd failed/,
        'the apply error is kept while the reload fails'
    );
}
{
    local $ENV{MULTIPATHD_STANDIN_STOPPED} = 1;
    $result = PVE::Multipath::Generator::sync();
    like(
        $result->{error},
        qr/multipathd is not running - reload pending/,
        'with multipathd stopped the reload stays pending'
    );
}
my $reloads = calls(qr/^multipathd reconfigure/);
$result = PVE::Multipath::Generator::sync();
is($result->{error}, undef, 'the reload succeeds once multipathd takes it');
is(calls(qr/^multipathd reconfigure/), $reloads + 1, 'with one more reload');
is(PVE::Multipath::Generator::last_apply_error(),
    undef, 'and only then the apply error is cleared');
PVE::Multipath::Generator::sync();
is(calls(qr/^multipathd reconfigure/), $reloads + 1, 'after that: no reload without a change');

# --- the overrides text is UTF-8 in pmxcfs and in the drop-in ---
for my $case (
    ['Latin-1 range', "# Pfad \x{fc}ber SAN-Fabric A\ndevices {\n}\n"],
    ['wide', "# Pfad \x{fc}ber Fabric A \x{2013} \x{2603}\ndevices {\n}\n"],
    )
{
    my ($what, $text) = $case->@*;
    my $bytes = Encode::encode('UTF-8', $text);
    file_set_contents("$dir{pve}/multipath-overrides.conf", $bytes);    # pmxcfs gives bytes
    $result = PVE::Multipath::Generator::sync();
    is($result->{error}, undef, "$what: non-ASCII overrides apply");
    my $written = file_get_contents("$dir{'conf.d'}/pve-overrides.conf");
    ok(index($written, $bytes) >= 0, "$what: the drop-in holds the exact UTF-8 bytes of the text")
        or diag(explain($written));
    my $before = snapshot();
    my $calls_before = calls(qr/^multipathd reconfigure/);
    PVE::Multipath::Generator::sync() for 1 .. 3;
    is_deeply(snapshot(), $before, "$what: three more syncs rewrite nothing");
    is(calls(qr/^multipathd reconfigure/), $calls_before, "$what: and reload nothing");
}
unlink("$dir{pve}/multipath-overrides.conf");
PVE::Multipath::Generator::sync();
ok(!-e "$dir{'conf.d'}/pve-overrides.conf", 'without overrides their drop-in goes');

# --- invalid overrides: nothing half-written ---
file_set_contents("$dir{pve}/multipath-overrides.conf", "devices {\n");
my $defaults_before = file_get_contents("$dir{'conf.d'}/pve-defaults.conf");
$result = PVE::Multipath::Generator::sync();
like($result->{error}, qr/unbalanced braces/, 'broken overrides fail the apply');
ok(!-e "$dir{'conf.d'}/pve-overrides.conf", 'no overrides drop-in is written');
is(file_get_contents("$dir{'conf.d'}/pve-defaults.conf"),
    $defaults_before, 'the baseline is untouched');
unlink("$dir{pve}/multipath-overrides.conf");

# --- config emptied: the drop-ins go away ---
write_cluster_config('');
$result = PVE::Multipath::Generator::sync();
is($result->{error}, undef, 'sync of an empty config succeeds');
opendir(my $dh, $dir{'conf.d'});
is_deeply([grep { !m/^\./ } readdir($dh)], [], 'every generated drop-in is removed');
is_deeply(listed(), ['boot-lun-foreign'], 'the WWIDs PVE added are removed, the foreign one stays');

# --- multipath-tools missing ---
{
    local $PVE::Multipath::MULTIPATH = "$tmp/does-not-exist";
    write_cluster_config("wwid: 3600abc\n");
    $result = eval { PVE::Multipath::Generator::sync() };
    is($@, '', 'sync never throws');
    like(
        $result->{error},
        qr/multipath-tools not installed/,
        'the missing tools are the apply error'
    );
}

# --- health broadcast: sent when changed, not re-sent when unchanged ---
{
    my @sent;
    no warnings 'redefine';
    my %conflicts_sent;
    local *PVE::Cluster::broadcast_node_kv = sub {
        my ($key, $value) = @_;
        return $conflicts_sent{ $value // '' }++ if $key eq 'multipath-conflicts';
        push @sent, [@_];
    };
    local $PVE::Multipath::BROADCAST_INTERVAL = 3600;
    write_cluster_config("wwid: $LUN\n");
    PVE::Multipath::Generator::sync();
    my $cfg = PVE::Multipath::ClusterConfig::read_config();
    PVE::Multipath::broadcast_health($cfg);
    is(scalar(@sent), 1, 'the first broadcast is sent');
    is_deeply(\%conflicts_sent, { "pmc1 0 0\n" => 1 }, 'with the node\'s conflicts: none');
    like($sent[0]->[1], qr/^pmp2 [0-9]+ 1\/1 0 \S+\n/, 'in the compact versioned format');
    PVE::Multipath::broadcast_health($cfg) for 1 .. 5;
    is(scalar(@sent), 1, 'an unchanged summary is not re-sent within the interval');
    local $ENV{MULTIPATHD_STANDIN_MAPS} = "$ROOT/fixtures/maps/scsi-02-one-path-offline.json";
    PVE::Multipath::broadcast_health($cfg);
    is(scalar(@sent), 2, 'a changed summary is sent at once');
    my $decoded = PVE::RS::Multipath::Status::decode_broadcast($sent[1]->[1]);
    is($decoded->{luns}->{$LUN}->{state}, 'degraded', 'the new state travels');
}

done_testing();
