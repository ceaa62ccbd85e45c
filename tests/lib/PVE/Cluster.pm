package PVE::Cluster;

# Test stand-in for pve-cluster's PVE::Cluster (with the pve-multipath patch,
# so pmxcfs observes multipath.cfg and multipath-overrides.conf), backed by a
# plain directory in place of /etc/pve:
#
#   $ENV{PVE_CLUSTER_STANDIN_DIR}  the directory; base_dir() returns it, as
#                                  the real one returns /etc/pve
#   <dir>/<file>                   the cluster files (cfs_read_file/...)
#   <dir>/priv/lock/<lockid>       cfs locks, mkdir'ed as pmxcfs locks are
#   <dir>/.kv/<node>/<key>         the node KV store (broadcast_node_kv)
#   <dir>/.members                 JSON { node => { online => 0|1 } } of a
#                                  cluster; absent: a node without a cluster,
#                                  for which pmxcfs reports no node list
#
# Behaves like the real module for every function pve-multipath uses: only
# observed files can be registered (once), read, written and locked, dying
# with the real messages otherwise; parsers and writers get
# "/etc/pve/<file>" (here "<dir>/<file>") and undef for a missing file;
# cfs_lock_file leaves an error of the locked code in $@ unchanged (a
# PVE::Exception stays one) and prefixes only locking errors; KV values are
# strings below 32 KiB, read back up to the first NUL, and only for nodes
# of the node list. Not modelled: the parse cache and file versions, the
# 60 s command timeout of cfs locks.

use strict;
use warnings;

use Exporter qw(import);
use File::Path qw(make_path);
use JSON qw(decode_json);
use Time::HiRes qw(usleep);

use PVE::INotify;
use PVE::Tools qw(file_get_contents file_set_contents);

our @EXPORT_OK = qw(cfs_register_file cfs_read_file cfs_write_file cfs_lock_file);

my $KV_MAX_SIZE = 32 * 1024;

# the observed files of the real module that the stand-in's users touch, plus ours
my $observed = { map { $_ => 1 } qw(storage.cfg datacenter.cfg replication.cfg user.cfg jobs.cfg) };
$observed->{$_} = 1 for qw(multipath.cfg multipath-overrides.conf);
my $file_info = {};

sub base_dir {
    my $dir = $ENV{PVE_CLUSTER_STANDIN_DIR} // die
        "PVE::Cluster stand-in: set PVE_CLUSTER_STANDIN_DIR (or use PVE::Multipath::TestEnv)\n";
    die "PVE::Cluster stand-in: '$dir' is not a directory\n" if !-d $dir;
    return $dir;
}

sub cfs_update { return }

sub cfs_register_file {
    my ($filename, $parser, $writer) = @_;
    $observed->{$filename} || die "unknown file '$filename'";
    die "file '$filename' already registered" if $file_info->{$filename};
    $file_info->{$filename} = { parser => $parser, writer => $writer };
    return;
}

my sub file_info {
    my ($filename) = @_;
    return $file_info->{$filename} || die "unknown file type '$filename'\n";
}

sub cfs_read_file {
    my ($filename) = @_;
    my $info = file_info($filename);
    my $path = base_dir() . "/$filename";
    my $raw = -e $path ? file_get_contents($path) : undef;
    return $info->{parser}->($path, $raw);
}

sub cfs_write_file {
    my ($filename, $data, $force_utf8) = @_;
    my $info = file_info($filename);
    my $writer = $info->{writer} || die "no writer defined";
    my $path = base_dir() . "/$filename";
    file_set_contents($path, $writer->($path, $data), undef, $force_utf8);
    return;
}

my sub cfs_lock {
    my ($lockid, $timeout, $code, @param) = @_;
    $timeout = 10 if !$timeout;
    my $lockdir = base_dir() . "/priv/lock";
    my $path = "$lockdir/$lockid";
    my ($res, $got_lock, $is_code_err);
    eval {
        make_path($lockdir);
        my $deadline = time() + $timeout;
        while (!($got_lock = mkdir($path))) {
            die "got lock request timeout\n" if time() >= $deadline;
            usleep(100_000);
        }
        $is_code_err = 1;
        $res = $code->(@param);
    };
    my $err = $@;
    rmdir($path) if $got_lock;
    if ($err) {
        $@ =
            ref($err) eq 'PVE::Exception' || $is_code_err ? $err : "cfs-lock '$lockid' error: $err";
        return undef;
    }
    $@ = undef;
    return $res;
}

sub cfs_lock_file {
    my ($filename, $timeout, $code, @param) = @_;
    $observed->{$filename} || die "unknown file '$filename'";
    (my $lockid = "file-$filename") =~ s/[.\/]/_/g;
    return cfs_lock($lockid, $timeout, $code, @param);
}

sub cfs_lock_domain {
    my ($domainname, $timeout, $code, @param) = @_;
    return cfs_lock("domain-$domainname", $timeout, $code, @param);
}

sub cfs_lock_storage {
    my ($storeid, $timeout, $code, @param) = @_;
    return cfs_lock("storage-$storeid", $timeout, $code, @param);
}

my sub members_file { return base_dir() . "/.members" }

# { node => { id, online } } of a cluster; undef on a node without one
sub get_members {
    return undef if !-e members_file();
    my $members = decode_json(file_get_contents(members_file()));
    return undef if !%$members;
    my $id = 0;
    return {
        map { $_ => { id => ++$id, online => $members->{$_}->{online} ? 1 : 0 } }
        sort keys $members->%*
    };
}

sub get_nodelist {
    my $nodelist = get_members();
    my $nodename = PVE::INotify::nodename();
    return [$nodename] if !$nodelist || !$nodelist->{$nodename};
    return [keys $nodelist->%*];
}

sub check_node_exists {
    my ($node, $noerr) = @_;
    my $nodelist = get_members();
    return 1 if $nodelist && $nodelist->{$node};
    return undef if $noerr;
    die "no such cluster node '$node'\n";
}

sub check_cfs_quorum {
    return 1;
}

sub broadcast_node_kv {
    my ($key, $data) = @_;
    my $dir = base_dir() . "/.kv/" . PVE::INotify::nodename();
    if (!defined($data)) {
        unlink("$dir/$key");
        return;
    }
    die "cannot send a reference\n" if ref($data);
    die "data for '$key' too big\n" if length($data) >= $KV_MAX_SIZE;
    make_path($dir);
    file_set_contents("$dir/$key", "$data\0");
    return;
}

sub get_node_kv {
    my ($key, $nodename) = @_;
    my $res = {};
    for my $node ($nodename ? ($nodename) : get_nodelist()->@*) {
        my $path = base_dir() . "/.kv/$node/$key";
        next if !-f $path;
        next if $node ne PVE::INotify::nodename() && !check_node_exists($node, 1);
        $res->{$node} = unpack('Z*', file_get_contents($path));
    }
    return $res;
}

1;
