#!/usr/bin/perl

# A pve-cluster that does not observe multipath.cfg yet (older than
# pve-multipath): its cfs_register_file dies for our files. Loading our
# modules, and with them PVE::Storage, must still work; every use of the
# files says that pve-cluster needs the update. Runs on the stand-ins and,
# under ../shared/tools/real-pve, on the real PVE::Cluster.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

no warnings 'once';

use PVE::Multipath::TestEnv;

use PVE::Cluster;

# the real module's refusal of a file pmxcfs does not observe
{
    no warnings 'redefine';
    my $register = \&PVE::Cluster::cfs_register_file;
    *PVE::Cluster::cfs_register_file = sub {
        my ($filename) = @_;
        die "unknown file '$filename' at Cluster.pm line 527.\n" if $filename =~ m/^multipath/;
        return $register->(@_);
    };
}

my $UPDATE_TEXT =
      "pve-cluster on this node does not know the multipath configuration"
    . " ('multipath.cfg' is not observed by pmxcfs) - please update pve-cluster and"
    . " libpve-cluster-perl\n";
my $UPDATE = qr/^\Q$UPDATE_TEXT\E\z/;

my @warnings;
local $SIG{__WARN__} = sub { push @warnings, $_[0] };

ok(eval { require PVE::Storage; require PVE::Storage::MultipathPlugin; 1 },
    'PVE::Storage and the plugin load')
    or diag($@);
ok(eval { require PVE::API2::Multipath; require PVE::Multipath::Generator; 1 },
    'the API and the generator load')
    or diag($@);
is(PVE::Multipath::ClusterConfig::is_observed(), 0, 'the files are known to be unobserved');
is_deeply(\@warnings, [], 'loading warns nothing');

my $accesses = [
    [read_config => sub { PVE::Multipath::ClusterConfig::read_config() }],
    [read_overrides => sub { PVE::Multipath::ClusterConfig::read_overrides() }],
    [write_config => sub { PVE::Multipath::ClusterConfig::write_config({ ids => {} }) }],
    [
        lock_config => sub {
            PVE::Multipath::ClusterConfig::lock_config(sub { 1 });
        }
    ],
    [write_overrides => sub { PVE::Multipath::ClusterConfig::write_overrides("") }],
];
for my $access ($accesses->@*) {
    my ($name, $code) = $access->@*;
    eval { $code->() };
    like($@, $UPDATE, "$name names the update");
}

my $api = eval {
    PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'PUT', 'defaults',
        { 'no-path-retry' => 'queue' });
};
like($@, $UPDATE, 'an API write names the update');
eval { PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'GET', 'status', {}) };
like($@, $UPDATE, 'and so does the status');

$PVE::Multipath::STATE_DIR = tempdir(CLEANUP => 1);
my @log;
local $PVE::Multipath::Generator::LOG = sub { push @log, $_[0] };
my $result = PVE::Multipath::Generator::sync();
like($result->{error}, $UPDATE, 'the generator reports the update as its apply error');
like(
    PVE::Multipath::Generator::last_apply_error(),
    qr/please update pve-cluster/,
    'kept for the health broadcast'
);

done_testing();
