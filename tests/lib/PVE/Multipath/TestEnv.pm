package PVE::Multipath::TestEnv;

# What the tests need from the cluster around them, on the stand-ins of
# tests/lib as well as on the real pve-cluster/pve-common modules under
# ../shared/tools/real-pve/run (which emulates pmxcfs: /etc/pve is a temp
# dir, the cluster members and other nodes' KV values live below
# $REAL_PVE_IPCC_DIR). Only public API of the real modules is used, so a
# test written with these helpers runs unchanged on both.
#
#   use PVE::Multipath::TestEnv;        # before PVE::Cluster is first used
#   my $pve = PVE::Multipath::TestEnv::cfs_dir();
#   PVE::Multipath::TestEnv::set_members({ n1 => { online => 1 } });
#   PVE::Multipath::TestEnv::peer_kv('n2', 'multipath', $value);
#   PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', 'GET', 'status', {});

use strict;
use warnings;

use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use JSON qw(encode_json);

use PVE::Exception qw(raise);
use PVE::Tools qw(file_set_contents);

my $IPCC_DIR = $ENV{REAL_PVE_IPCC_DIR};

# Whether the real modules are in use (under the real-pve harness).
sub is_real { return defined($IPCC_DIR) ? 1 : 0 }

# Every test starts with an empty cluster: a fresh directory for the
# stand-in; under the harness (whose /etc/pve lives as long as one `run`,
# which may run many tests) the files and values the tests use are removed.
if (is_real()) {
    unlink(map { "/etc/pve/$_" } qw(multipath.cfg multipath-overrides.conf storage.cfg));
    unlink("$IPCC_DIR/members.json");
    remove_tree("$IPCC_DIR/kv");
} else {
    $ENV{PVE_CLUSTER_STANDIN_DIR} //= tempdir(CLEANUP => 1);
    $ENV{PVE_STANDIN_NODENAME} //= 'n1';    # as the harness names its node
}

# /etc/pve, or the directory standing in for it.
sub cfs_dir {
    require PVE::Cluster;
    return PVE::Cluster::base_dir();
}

# The cluster's members ({ node => { online => 0|1 } }), or undef for a node
# without a cluster (pmxcfs then reports no node list).
sub set_members {
    my ($members) = @_;
    my $path = is_real() ? "$IPCC_DIR/members.json" : cfs_dir() . "/.members";
    if ($members) {
        file_set_contents($path, encode_json($members));
    } else {
        unlink($path);
    }
    PVE::Cluster::cfs_update(1);
}

# A value another node has broadcast under $key (undef removes it).
sub peer_kv {
    my ($node, $key, $value) = @_;
    my ($dir, $file) =
        is_real() ? ("$IPCC_DIR/kv/$node", "kv%$key") : (cfs_dir() . "/.kv/$node", $key);
    if (!defined($value)) {
        unlink("$dir/$file");
        return;
    }
    make_path($dir);
    file_set_contents("$dir/$file", "$value\0");
}

# "METHOD path" below $class as the API server runs it: path lookup with the
# real find_handler, then handle() with parameter and result verification.
sub api_call {
    my ($class, $method, $path, $param) = @_;
    my $uri_param = {};
    my ($handler, $info) = $class->find_handler($method, $path, $uri_param);
    raise("Method '$method $path' not implemented\n", code => 501) if !$info;
    return $handler->handle($info, { ($param // {})->%*, $uri_param->%* }, 1);
}

1;
