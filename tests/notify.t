#!/usr/bin/perl

# The notifications end to end in Perl: three nodes' broadcasts in the
# directory-backed pmxcfs, PVE::Multipath::Notify::pass run on each node as
# its pvestatd would, and the PVE::Notify stand-in recording what would be
# sent (checked against our templates in templates/).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Test::More;

use PVE::Multipath::TestEnv;
use PVE::Cluster;

BEGIN {
    # the real PVE::Notify needs proxmox-notify's Perl binding (Proxmox::RS::Notify)
    eval { require PVE::Notify; 1 }
        or plan(skip_all => "PVE::Notify cannot be loaded here: " . ($@ =~ s/ \(you may need.*//sr));
}
use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::API2::Multipath;
use PVE::Multipath;
use PVE::Multipath::Notify;
use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Status;

my $ROOT = abs_path(dirname(__FILE__) . '/..');
my $LUN = '35000c50015ea71ac';    # the WWID of the real captures
my @NODES = qw(n1 n2 n3);
my $T0 = 1_764_043_200;
my $HOLD = 60;    # notify::RECOVERY_HOLD

my $tmp = PVE::Multipath::TestEnv::cfs_dir();
mkdir("$tmp/priv");
$PVE::Notify::TEMPLATE_DIR = "$ROOT/templates";
file_set_contents("$tmp/storage.cfg", "multipath: san\n\tnodes n1,n2,n3\n\n");

my @warnings;
$SIG{__WARN__} = sub { push @warnings, $_[0] };

my sub members {
    my (%online) = @_;
    PVE::Multipath::TestEnv::set_members({ map { $_ => { online => $online{$_} // 1 } } @NODES });
}
members();

PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'POST', 'wwid',
    { wwid => $LUN, alias => 'vmstore' });

my %MAPS = map {
    my ($state, $file) = @$_;
    $state =>
        PVE::RS::Multipath::Maps::parse_maps_json(file_get_contents("$ROOT/fixtures/maps/$file"))
} (['optimal', 'scsi-01-optimal.json'], ['one-path-offline', 'scsi-02-one-path-offline.json']);

# One pvestatd pass on every node at $now: broadcast, then the hook.
my sub cluster_pass {
    my ($now, %state_of) = @_;
    for my $node (@NODES) {
        local $ENV{PVE_STANDIN_NODENAME} = $node;
        my $maps = $MAPS{ $state_of{$node} // 'optimal' };
        PVE::Cluster::broadcast_node_kv('multipath',
            PVE::RS::Multipath::Status::encode_broadcast($maps, $now, undef)->[0]);
    }
    for my $node (@NODES) {
        local $ENV{PVE_STANDIN_NODENAME} = $node;
        PVE::Multipath::Notify::pass(undef, $now);
    }
}

my sub sent_since {
    my ($count) = @_;
    return [map { "$_->{severity} $_->{fields}->{hostname}: $_->{data}->{title}" }
            @PVE::Notify::SENT[$count .. $#PVE::Notify::SENT]];
}

# --- one warning for a path lost, across three nodes ---
cluster_pass($T0);
is_deeply(sent_since(0), [], 'all optimal: nothing sent');

cluster_pass($T0 + 10, n2 => 'one-path-offline');
is_deeply(
    sent_since(0),
    ['warning n1: LUN vmstore lost redundancy'],
    'a path offline on n2: one warning, sent by n1 alone',
);
my $warning = $PVE::Notify::SENT[0];
is($warning->{template}, 'multipath', 'with our template');
is_deeply(
    $warning->{fields},
    {
        type => 'multipath',
        severity => 'warning',
        'cluster-state' => 'degraded',
        wwids => $LUN,
        hostname => 'n1',
    },
    'and the fields for matchers',
);
is($warning->{data}->{hostname}, 'n1', 'the common template data is merged in');
my $lun = $warning->{data}->{luns}->[0];
is_deeply(
    [map { "$_->{node} $_->{state} " . ($_->{paths} // '-') } $lun->{cells}->@*],
    ['n1 optimal 2/2', 'n2 degraded 1/2', 'n3 optimal 2/2'],
    'the LUN with each node\'s cell',
);
ok(-f "$tmp/priv/multipath-notify.json", 'the state is kept in pmxcfs');

# --- the path flaps: no more ---
for my $step (2 .. 6) {
    cluster_pass($T0 + $step * 10, n2 => $step % 2 ? 'optimal' : 'one-path-offline');
}
is_deeply(sent_since(1), [], 'a flapping path sends nothing more');

# --- the sender goes away; the next one continues ---
members(n1 => 0);
cluster_pass($T0 + 70, n2 => 'one-path-offline');
is_deeply(sent_since(1), [], 'n2 takes over without repeating the warning');

my $locks = 0;
{
    no warnings 'redefine';
    my $lock = \&PVE::Cluster::cfs_lock_domain;
    *PVE::Cluster::cfs_lock_domain = sub { $locks++; goto &$lock };
}
cluster_pass($T0 + 75, n2 => 'one-path-offline');
is($locks, 0, 'a pass that changes nothing takes no cluster lock');

my $count = scalar(@PVE::Notify::SENT);
my $now = $T0 + 80;
while ($now <= $T0 + 80 + $HOLD) {
    cluster_pass($now);
    $now += 10;
}
is_deeply(sent_since($count), ['info n2: LUN vmstore recovered'], 'the recovery: one info, by n2');
is($PVE::Notify::SENT[-1]->{fields}->{severity}, 'info', 'with its severity as a field');

# --- a broken state is reported, not fatal ---
file_set_contents("$tmp/priv/multipath-notify.json", '{"v":1,');
@warnings = ();
$count = scalar(@PVE::Notify::SENT);
cluster_pass($now += 10, n3 => 'one-path-offline');
is_deeply(sent_since($count), ['warning n2: LUN vmstore lost redundancy'],
    'a broken state: afresh');
like(
    join('', @warnings),
    qr/^multipath notifications: unreadable state: .*starting afresh$/m,
    'and says so'
);

# --- switched off in the defaults section ---
PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'PUT', 'defaults', { notify => 'no' });
$count = scalar(@PVE::Notify::SENT);
cluster_pass($now += 10, n1 => 'one-path-offline', n3 => 'one-path-offline');
for my $step (1 .. 10) {
    cluster_pass($now += 10);
}
is_deeply(sent_since($count), [], 'notify no: nothing sent');

# --- the minimum severity ---
PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'PUT', 'defaults',
    { notify => 'yes', 'notify-severity' => 'error' });
cluster_pass($now += 10, n3 => 'one-path-offline');
is_deeply(sent_since($count), [], 'a warning below the minimum severity is not sent');

@warnings = grep { !m/^multipath notifications: unreadable state/ } @warnings;
is_deeply(\@warnings, [], 'no other warnings');

# --- who sends, from PVE::Cluster::get_members ---
for my $case (
    [{ n2 => { online => 1, id => 2 }, n1 => { online => 1, id => 1 } }, 1, 'n1'],
    [{ n1 => { online => 0 }, n2 => { online => '1' }, n3 => {} }, 1, 'n2'],
    [{ n1 => { online => 1 } }, 0, undef],
    [undef, 1, undef],
    )
{
    my ($members, $quorate, $expected) = $case->@*;
    is(PVE::RS::Multipath::Notify::sender($members, $quorate),
        $expected, 'sender: ' . ($expected // 'none'));
}
eval { PVE::RS::Multipath::Notify::sender({ n1 => 'up' }, 1) };
like("$@", qr/^sender: .*members/, 'a members value that is no hash is refused');

# --- settings the schema refuses never get this far, but a hand edit may ---
eval {
    PVE::RS::Multipath::Notify::pass({
        defaults => { 'notify-reminders' => '1h,1x' },
        status => {},
        now => $T0,
    });
};
is(
    "$@",
    "notify-reminders: '1x' is not a duration like 30m, 6h or 1d\n",
    'a bad reminder schedule is named'
);
eval {
    PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'PUT', 'defaults',
        { 'notify-reminders' => '5m' });
};
like("$@", qr/notify-reminders: /, 'and the API refuses it');

# --- the stand-in is as strict as PVE::Notify ---
for my $case (
    [['critical', 'multipath', {}, {}], qr/^invalid severity 'critical'/],
    [['info', 'multipath', [], {}], qr/^template data must be a hash/],
    [['info', 'multipath', {}, { wwids => undef }], qr/^metadata field 'wwids' must be a string/],
    )
{
    eval { PVE::Notify::notify($case->[0]->@*) };
    like("$@", $case->[1], "PVE::Notify refuses: $case->[1]");
}

done_testing();
