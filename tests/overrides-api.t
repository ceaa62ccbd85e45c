#!/usr/bin/perl

# PUT /cluster/multipath/overrides checks a text for the multipath-tools
# versions the cluster runs: the `multipath-tools` of the status matrix's node
# rows (helper contract: a node's installed version string, e.g. "0.11.1";
# nodes without one are checked for every known release, and where no node
# reports one, every known release is checked). A refusal names the release
# and the nodes that run it; a value a release crashes on is refused whatever
# the nodes run; the strict check refuses a device section without product.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use PVE::Multipath::TestEnv;
use PVE::Cluster;
use PVE::Tools qw(file_set_contents);

use PVE::API2::Multipath;
use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;
use PVE::RS::Multipath::Status;

my $tmp = tempdir(CLEANUP => 1);
mkdir("$tmp/state");
$PVE::Multipath::STATE_DIR = "$tmp/state";
PVE::Multipath::TestEnv::set_members({ map { $_ => { online => 1 } } qw(n1 n2 n3) });
file_set_contents(PVE::Multipath::TestEnv::cfs_dir() . "/storage.cfg",
    "multipath: san\n\tnodes n1,n2,n3\n\n");

# The versions the nodes report: each node's broadcast announces its own, as
# its pvestatd pass publishes it (a node without one publishes nothing).
my sub report_versions {
    my (%versions) = @_;
    for my $node (qw(n1 n2 n3)) {
        my $version = $versions{$node};
        my $value =
            defined($version)
            ? PVE::RS::Multipath::Status::encode_broadcast([], time(), undef, undef, $version)->[0]
            : undef;
        PVE::Multipath::TestEnv::peer_kv($node, 'multipath', $value);
    }
}

my sub put {
    my ($text) = @_;
    eval {
        PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'PUT', 'overrides',
            { text => $text });
    };
    return $@;
}

my sub stored {
    return PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'GET', 'overrides', {})
        ->{text};
}

my $tpg = "defaults {\n\tdetect_pgpolicy yes\n}\n";
my $flush_yes = "defaults {\n\tflush_on_last_del yes\n}\n";
my $crash = "defaults {\n\tpolling_interval 0\n}\n";
my $vendor_only = "devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n";

my @cases = (
    [
        {},
        $tpg,
        qr/^text: multipath overrides: line 2: 'detect_pgpolicy' is not supported by multipath-tools 0\.9\.4 \(added in 0\.9\.6\) \(no node reports its multipath-tools version, so every known release is checked\)$/m,
        'no node reports a version: every known release is checked'
    ],
    [
        { n1 => '0.11.1', n2 => '0.11.1-2', n3 => '0.11.1-1' },
        $tpg, undef, 'a trixie cluster takes a keyword of 0.11.1'
    ],
    [
        { n1 => '0.11.1', n2 => '0.11.1', n3 => '0.11.1' },
        $flush_yes,
        qr/line 2: 'flush_on_last_del yes' is deprecated in multipath-tools 0\.11\.1.*\(nodes with 0\.11\.1: n1, n2, n3\)$/,
        'a trixie cluster refuses what 0.11.1 deprecates, naming its nodes'
    ],
    [
        { n1 => '0.9.4', n2 => '0.9.4', n3 => '0.9.4' },
        $flush_yes, undef, 'a bookworm cluster takes flush_on_last_del yes'
    ],
    [
        { n1 => '0.9.4-3+deb12u2', n2 => '0.11.1', n3 => '0.11.1' },
        $tpg,
        qr/not supported by multipath-tools 0\.9\.4 \(added in 0\.9\.6\) \(nodes with 0\.9\.4: n1\)$/,
        'a mixed cluster refuses what its bookworm node lacks, naming it'
    ],
    [
        { n1 => '0.11.1', n2 => '0.11.1', n3 => '0.10.2' },
        $tpg,
        qr/\(nodes with 0\.9\.4: n3 \(reports 0\.10\.2\)\)$/,
        'a node with a version we have no tables of is checked for every release'
    ],
    [
        { n1 => '0.11.1', n2 => '0.11.1' },
        $tpg,
        qr/\(nodes with 0\.9\.4: n3 \(reports no version\)\)$/,
        'a node reporting no version while others do is checked for every release'
    ],
    [
        { n1 => '0.9.4', n2 => '0.9.4', n3 => '0.9.4' },
        $crash,
        qr/polling_interval "0" makes multipath-tools 0\.11\.1 die of a division by zero.*refused for every release/,
        'a value 0.11.1 crashes on is refused on a bookworm cluster too'
    ],
    [
        { n1 => '0.9.4', n2 => '0.9.4', n3 => '0.9.4' },
        $vendor_only,
        qr/line 2: device section without both 'vendor' and 'product'/,
        'the API refuses a device section without product (strict check)'
    ],
);

for my $case (@cases) {
    my ($versions, $text, $expect, $name) = $case->@*;
    report_versions($versions->%*);
    my $before = stored();
    my $err = put($text);
    if (defined($expect)) {
        like($err, $expect, $name);
        is(stored(), $before, "$name: nothing stored");
    } else {
        is($err, '', $name);
        is(stored(), $text, "$name: stored");
    }
}

# The series' guard still lets the vendor-only section pass; where a text is
# stored, the strict check refuses it.
is(eval { PVE::Multipath::Config::check_overrides($vendor_only); 1 },
    1, 'guard: vendor only passes');
eval { PVE::Multipath::ClusterConfig::write_overrides($vendor_only) };
like($@, qr/device section without both/, 'write_overrides refuses it');
eval { PVE::Multipath::ClusterConfig::write_overrides($tpg, { n1 => '0.9.4' }) };
like($@, qr/\(nodes with 0\.9\.4: n1\)/, 'write_overrides checks for the versions it is given');

done_testing();
