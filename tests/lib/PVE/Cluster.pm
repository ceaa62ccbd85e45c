package PVE::Cluster;

# Test stand-in for pve-cluster's PVE::Cluster, backed by a real directory
# in place of /etc/pve (pmxcfs):
#
#   $ENV{PVE_CLUSTER_STANDIN_DIR}  the directory (or set $PVE::Cluster::BASE)
#   <dir>/<file>                   the cluster files (cfs_read_file/...)
#   <dir>/.kv/<node>/<key>         the node KV store (broadcast_node_kv)
#   <dir>/.members                 JSON { node => { online => 0|1 } }; absent:
#                                  this node alone, online
#   <dir>/.lock-<file>             flock'ed by cfs_lock_file
#   <dir>/.lock-domain-<name>      flock'ed by cfs_lock_domain
#
# The node name is PVE::INotify::nodename() (PVE_STANDIN_NODENAME). Like
# the real module: parsers get ($filename, $raw) with $raw undef for a
# missing file; cfs_lock_file leaves errors in $@ instead of dying; KV
# values are limited to 32 KiB, as pmxcfs limits them.

use strict;
use warnings;

use Exporter qw(import);
use JSON qw(decode_json);

use PVE::INotify;
use PVE::Tools qw(file_get_contents file_set_contents);

our @EXPORT_OK = qw(cfs_register_file cfs_read_file cfs_write_file cfs_lock_file);

our $BASE;
my $KV_MAX_SIZE = 32 * 1024;
my $registered = {};

sub base_dir {
    my $dir = $BASE // $ENV{PVE_CLUSTER_STANDIN_DIR}
        // die "PVE::Cluster stand-in: set PVE_CLUSTER_STANDIN_DIR\n";
    die "PVE::Cluster stand-in: '$dir' is not a directory\n" if !-d $dir;
    mkdir("$dir/priv") if !-d "$dir/priv";    # pmxcfs always has it
    return $dir;
}

sub cfs_register_file {
    my ($filename, $parser, $writer) = @_;
    $registered->{$filename} = { parser => $parser, writer => $writer };
    return;
}

my sub registration {
    my ($filename) = @_;
    return $registered->{$filename} // die "file '$filename' is not registered\n";
}

sub cfs_read_file {
    my ($filename) = @_;
    my $info = registration($filename);
    my $path = base_dir() . "/$filename";
    my $raw = -e $path ? file_get_contents($path) : undef;
    return $info->{parser}->($filename, $raw);
}

sub cfs_write_file {
    my ($filename, $data) = @_;
    my $info = registration($filename);
    my $raw = $info->{writer}->($filename, $data);
    file_set_contents(base_dir() . "/$filename", $raw);
    return;
}

sub cfs_lock_file {
    my ($filename, $timeout, $code, @param) = @_;
    my $res = PVE::Tools::lock_file(base_dir() . "/.lock-$filename", $timeout // 10, $code, @param);
    $@ = "cfs-lock '$filename' error: $@" if $@;
    return $res;
}

# The real one locks with a directory under priv/lock in pmxcfs.
sub cfs_lock_domain {
    my ($domainname, $timeout, $code, @param) = @_;
    my $lock = base_dir() . "/.lock-domain-$domainname";
    my $res = PVE::Tools::lock_file($lock, $timeout // 10, $code, @param);
    $@ = "cfs-lock 'domain-$domainname' error: $@" if $@;
    return $res;
}

sub broadcast_node_kv {
    my ($key, $data) = @_;
    my $dir = base_dir() . "/.kv/" . PVE::INotify::nodename();
    if (!defined($data)) {
        unlink("$dir/$key");
        return;
    }
    die "broadcast_node_kv: value for '$key' too large (" . length($data) . " bytes)\n"
        if length($data) > $KV_MAX_SIZE;
    File::Path::make_path($dir) if !-d $dir;
    file_set_contents("$dir/$key", $data);
    return;
}

sub get_node_kv {
    my ($key, $nodename) = @_;
    my $base = base_dir() . "/.kv";
    my $res = {};
    opendir(my $dh, $base) or return $res;
    for my $node (sort grep { !m/^\./ } readdir($dh)) {
        next if defined($nodename) && $node ne $nodename;
        my $path = "$base/$node/$key";
        $res->{$node} = file_get_contents($path) if -f $path;
    }
    closedir($dh);
    return $res;
}

sub get_members {
    my $path = base_dir() . "/.members";
    return { PVE::INotify::nodename() => { online => 1 } } if !-e $path;
    return decode_json(file_get_contents($path));
}

sub get_nodelist {
    return [sort keys get_members()->%*];
}

sub check_node_exists {
    my ($node, $noerr) = @_;
    return 1 if get_members()->{$node};
    return undef if $noerr;
    die "no such cluster node '$node'\n";
}

sub check_cfs_quorum {
    return 1;
}

use File::Path ();

1;
