package PVE::Multipath;

# The node's multipath glue: talking to multipathd and multipath, reading
# sysfs, and publishing this node's map health to the cluster. Parsing and
# all health logic live in the Rust library (PVE::RS::Multipath::Maps and
# ::Status); everything here keys on the WWID, never on node-local names.

use strict;
use warnings;

use JSON qw(decode_json encode_json);

use PVE::Tools qw(run_command file_get_contents file_read_firstline file_set_contents);

use PVE::Multipath::Config;
use PVE::Multipath::Notify;
use PVE::RS::Multipath::Maps;
use PVE::RS::Multipath::Status;

# HEALTH_OPTIMAL, HEALTH_DEGRADED, HEALTH_FAILED, from the one table in Rust.
use constant PVE::RS::Multipath::Maps::health_states();

# Paths of the system, package variables so tests can point them elsewhere.
our $MULTIPATH = '/sbin/multipath';
our $MULTIPATHD = '/sbin/multipathd';
our $SYSFS = '/sys';
our $PROC_MOUNTS = '/proc/self/mounts';
our $WWIDS_FILE = '/etc/multipath/wwids';
our $STATE_DIR = '/var/lib/pve-multipath';

# pvestatd's update interval; a broadcast is renewed at least this often so a
# healthy node never reads as stale (three missed intervals do).
our $BROADCAST_INTERVAL = 10;
our $DPKG_QUERY = 'dpkg-query';

sub is_supported {
    return -x $MULTIPATH && -x $MULTIPATHD ? 1 : 0;
}

sub assert_supported {
    die "no multipath support - please install 'multipath-tools'\n" if !is_supported();
    return 1;
}

# multipathd's exit codes say little (an unknown command prints its help and
# exits 0), so the output decides.
sub is_running {
    return 0 if !is_supported();
    my $running = 0;
    eval {
        run_command(
            [$MULTIPATHD, 'show', 'daemon'],
            outfunc => sub { $running = 1 if $_[0] =~ m/^pid [0-9]+ \S+/ },
            errfunc => sub { },
            timeout => 10,
        );
    };
    return $running;
}

my sub query_multipathd_json {
    my (@command) = @_;
    assert_supported();
    my $output = '';
    run_command(
        [$MULTIPATHD, @command, 'json'],
        outfunc => sub { $output .= "$_[0]\n" },
        errfunc => sub { $output .= "$_[0]\n" },
        timeout => 30,
    );
    if ($output !~ m/^\s*\{/) {
        my ($first_line) = split(/\n/, $output);
        die "multipathd: unexpected reply to '@command json': "
            . ($first_line // '(nothing)') . "\n";
    }
    return $output;
}

sub parse_maps_json {
    my ($text) = @_;
    return PVE::RS::Multipath::Maps::parse_maps_json($text);
}

my sub list_dir {
    my ($dir) = @_;
    opendir(my $dh, $dir) or return [];
    my @entries = sort grep { $_ ne '.' && $_ ne '..' } readdir($dh);
    closedir($dh);
    return \@entries;
}

my sub mounted_devices {
    my $mounts = {};
    open(my $fh, '<', $PROC_MOUNTS) or return $mounts;
    while (my $line = <$fh>) {
        my ($device, $mountpoint) = split(/\s+/, $line);
        $mounts->{$device} = $mountpoint if defined($mountpoint);
    }
    close($fh);
    return $mounts;
}

# What the library needs from sysfs: the size of each dm device and where
# each other block device (the maps' paths among them) hangs, from which
# the library reads its transport.
my sub sysfs_facts {
    my ($sizes, $links) = ({}, {});
    for my $name (list_dir("$SYSFS/block")->@*) {
        if ($name =~ m/^dm-[0-9]+$/) {
            my $sectors = file_read_firstline("$SYSFS/block/$name/size");
            $sizes->{$name} = $sectors * 512 if defined($sectors) && $sectors =~ m/^[0-9]+$/;
        } elsif (defined(my $link = readlink("$SYSFS/block/$name"))) {
            $links->{$name} = $link;
        }
    }
    return { sizes => $sizes, links => $links };
}

my sub read_state {
    my ($name) = @_;
    my $raw = eval { file_get_contents("$STATE_DIR/$name") } // return undef;
    return eval { decode_json($raw) };
}

my sub write_state {
    my ($name, $data) = @_;
    mkdir($STATE_DIR) if !-d $STATE_DIR;
    file_set_contents("$STATE_DIR/$name", encode_json($data));
}

# The maps as the node's API shows them, judged against the config's
# expectations and the kept high-water mark, with what only this node
# knows: size, transports, the stable by-id path, and the holders (LVM,
# partitions) and mounts that make a map "in use".
sub get_maps {
    my ($cfg) = @_;
    my $result = PVE::RS::Multipath::Maps::node_maps({
        maps_json => query_multipathd_json('show', 'maps'),
        sysfs => sysfs_facts(),
        config => $cfg,
        high_water => read_state('high-water.json'),
    });
    my $mounts = mounted_devices();
    for my $map ($result->{maps}->@*) {
        my $sysfs_name = $map->{sysfs};
        $map->{path} = "/dev/disk/by-id/dm-uuid-mpath-$map->{wwid}" if defined($map->{wwid});
        next if !defined($sysfs_name);
        $map->{holders} = list_dir("$SYSFS/block/$sysfs_name/holders");
        my @names = ("/dev/$sysfs_name", "/dev/mapper/$map->{name}", $map->{path} // ());
        my ($mountpoint) = grep { defined } map { $mounts->{$_} } @names;
        $map->{mountpoint} = $mountpoint if defined($mountpoint);
        $map->{used} = (scalar($map->{holders}->@*) || defined($mountpoint)) ? 1 : 0;
    }
    return $result->{maps};
}

my $tools_version_cache = { stamp => '' };

# The installed multipath-tools version (upstream part, e.g. "0.11.1"), asked
# of dpkg once and again only after the multipath binary changed.
sub multipath_tools_version {
    my @stat = stat($MULTIPATH);
    my $stamp = @stat ? "$stat[1]:$stat[9]" : 'none';
    return $tools_version_cache->{version} if $tools_version_cache->{stamp} eq $stamp;
    my $version;
    if (@stat) {
        eval {
            run_command(
                [$DPKG_QUERY, '-W', '-f', '${Version}', 'multipath-tools'],
                outfunc => sub { $version //= $_[0] },
                errfunc => sub { },
                timeout => 10,
            );
        };
        $version = undef if $@;
        # epoch and Debian revision off: "1:0.11.1-2+b1" is 0.11.1
        $version = $1 if defined($version) && $version =~ m/^(?:[0-9]+:)?([0-9][^-\s]*)/;
    }
    $tools_version_cache = { stamp => $stamp, version => $version };
    return $version;
}

sub get_map_for_wwid {
    my ($wwid) = @_;
    my ($map) = grep { ($_->{wwid} // '') eq $wwid } get_maps()->@*;
    return $map;
}

# Poll for the map of a WWID (after a login or rescan), up to $timeout seconds.
sub wait_for_map {
    my ($wwid, $timeout) = @_;
    my $deadline = time() + ($timeout // 10);
    while (1) {
        my $map = eval { get_map_for_wwid($wwid) };
        return $map if $map;
        return undef if time() >= $deadline;
        sleep(1);
    }
}

# The WWIDs allow-listed in this node's /etc/multipath/wwids.
sub list_etc_multipath_wwids {
    return [] if !-e $WWIDS_FILE;
    return PVE::Multipath::Config::parse_wwids(file_get_contents($WWIDS_FILE));
}

# The series' name, kept for callers of the proof of concept.
sub list_wwids { return list_etc_multipath_wwids(); }

my sub run_multipath {
    my ($expect, @args) = @_;
    assert_supported();
    my $output = '';
    run_command(
        [$MULTIPATH, @args],
        outfunc => sub { $output .= "$_[0]\n" },
        errfunc => sub { $output .= "$_[0]\n" },
        timeout => 30,
    );
    die "multipath @args: unexpected reply: $output\n" if $output !~ $expect;
    return;
}

sub add_wwid {
    my ($wwid) = @_;
    run_multipath(qr/wwid '\Q$wwid\E' added/, '-a', $wwid);
}

sub remove_wwid {
    my ($wwid) = @_;
    run_multipath(qr/wwid '\Q$wwid\E' (?:removed|not in wwids file)/, '-w', $wwid);
}

# Flush the map of a WWID that left the allow-list (refused by multipath
# while the map is open).
sub flush_map {
    my ($name) = @_;
    assert_supported();
    run_command([$MULTIPATH, '-f', $name], outfunc => sub { }, errfunc => sub { }, timeout => 30);
}

sub reconfigure {
    assert_supported();
    run_command([$MULTIPATHD, 'reconfigure'], outfunc => sub { }, timeout => 60);
}

# The series' JSON summary, kept for its callers.
sub summarize_maps_for_broadcast {
    my ($maps) = @_;
    return PVE::RS::Multipath::Status::summarize_maps($maps);
}

# The series' positional form; node values may be decoded hashes or the raw
# strings PVE::Cluster::get_node_kv returns.
sub aggregate_cluster_status {
    return PVE::RS::Multipath::Status::aggregate_cluster_status(@_);
}

# The v2 form, see PVE::RS::Multipath::Status::aggregate_status: { luns, nodes }.
sub aggregate_status {
    my ($options) = @_;
    return PVE::RS::Multipath::Status::aggregate_status($options);
}

sub read_node_state { return read_state($_[0]); }

sub write_node_state { write_state($_[0], $_[1]); }

# Publish this node's health under the KV key 'multipath' (further parts of a
# very large summary under 'multipath-N'; the library names the keys). Sent
# when the content changed or the last send is one interval old. Never
# throws: pvestatd calls it.
sub broadcast_health {
    my ($cfg, $apply_error) = @_;
    eval {
        require PVE::Cluster;
        if (!defined($cfg)) {
            require PVE::Multipath::ClusterConfig;
            $cfg = eval { PVE::Multipath::ClusterConfig::read_config() };
        }
        $apply_error //= (read_state('apply-error.json') // {})->{error};

        my $maps_json;
        if (is_running()) {
            $maps_json = query_multipathd_json('show', 'maps');
        } elsif ($cfg && PVE::Multipath::Config::wwid_list($cfg)->@*) {
            $apply_error //=
                is_supported() ? 'multipathd is not running' : 'multipath-tools not installed';
        }

        my $last = read_state('broadcast.json') // {};
        my $high_water = read_state('high-water.json');
        my $pass = PVE::RS::Multipath::Status::node_pass({
            maps_json => $maps_json,
            defined($maps_json) ? (sysfs => sysfs_facts()) : (),
            config => $cfg,
            high_water => $high_water,
            now => time(),
            apply_error => $apply_error,
            multipath_tools => multipath_tools_version(),
            last => $last,
            conflicts => read_state('conflicts.json'),
        });
        write_state('high-water.json', $pass->{'high-water'}) if $pass->{'high-water-changed'};
        return if !$pass->{changed} && time() - ($last->{time} // 0) < $BROADCAST_INTERVAL;

        PVE::Cluster::broadcast_node_kv($_->[0], $_->[1]) for $pass->{publish}->@*;
        PVE::Cluster::broadcast_node_kv($_, undef) for $pass->{clear}->@*;
        write_state('broadcast.json',
            { 'content-key' => $pass->{'content-key'}, time => time(), parts => $pass->{parts} },
        );
    };
    warn "multipath: health broadcast failed - $@" if $@;
    PVE::Multipath::Notify::pass($cfg);
    return;
}

1;
