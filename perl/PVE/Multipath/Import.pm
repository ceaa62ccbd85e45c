package PVE::Multipath::Import;

# Importing a node's own multipath setup: this module reads the node's
# files and live maps; the proposal, its report and the merge into the
# cluster config are pure and live in the Rust library (see
# PVE::Multipath::Config::import_propose and import_apply).

use strict;
use warnings;

use PVE::Tools qw(file_get_contents);

use PVE::Multipath;
use PVE::Multipath::Config;
use PVE::Multipath::Generator;

# Paths of the system, package variables so tests can point them elsewhere
# (the wwids file is $PVE::Multipath::WWIDS_FILE, conf.d the Generator's).
our $MULTIPATH_CONF = '/etc/multipath.conf';
our $BINDINGS_FILE = '/etc/multipath/bindings';
our $UDEV_DATA_DIR = '/run/udev/data';

# An admin's multipath.conf is a few KiB; anything far larger is not one.
my $MAX_FILE_SIZE = 4 * 1024 * 1024;

# Mount points that make a map the node's own system disk.
my $SYSTEM_MOUNTS = qr{^/(?:boot(?:/efi)?|usr|var)?$};

my sub read_optional {
    my ($path) = @_;
    return undef if !-f $path;
    return file_get_contents($path, $MAX_FILE_SIZE);
}

# multipath-tools reads the *.conf files of conf.d in name order.
my sub conf_d_files {
    my $dir = $PVE::Multipath::Generator::CONF_D_DIR;
    opendir(my $dh, $dir) or return ();
    my @names = sort grep { m/\.conf$/ && -f "$dir/$_" } readdir($dh);
    closedir($dh);
    return map { "$dir/$_" } @names;
}

# A map holding a system mount is local, and so is a single-path map without
# a SAN transport (a local disk multipath took); a LUN seen through two paths
# is shared storage, whatever transport sysfs shows (virtio-scsi, SRP).
my sub is_local_map {
    my ($map) = @_;
    return 1 if defined($map->{mountpoint}) && $map->{mountpoint} =~ $SYSTEM_MOUNTS;
    return 1 if !defined($map->{transport}) && ($map->{'paths-total'} // 0) < 2;
    return 0;
}

# The node's own multipath.conf texts: /etc/multipath.conf and conf.d in
# the order multipath-tools reads them ([{ name, text }]).
sub read_node_files {
    my $files = [];
    for my $path ($MULTIPATH_CONF, conf_d_files()) {
        my $text = read_optional($path) // next;
        push $files->@*, { name => $path, text => $text };
    }
    return $files;
}

# Everything the proposal is made from, as PVE::Multipath::Config::import_propose
# takes it. The managed pve-*.conf drop-ins are passed too; the proposal
# skips them.
sub read_node_setup {
    my $files = read_node_files();
    my $maps = PVE::Multipath::is_running() ? PVE::Multipath::get_maps() : [];
    return {
        files => $files,
        wwids => read_optional($PVE::Multipath::WWIDS_FILE),
        bindings => read_optional($BINDINGS_FILE),
        maps => [
            map { { wwid => $_->{wwid}, local => is_local_map($_) } }
            grep { defined($_->{wwid}) } $maps->@*
        ],
    };
}

# The proposal for this node; with the cluster config, where they differ.
sub propose {
    my ($use_bindings, $cfg, $overrides) = @_;
    return PVE::Multipath::Config::import_propose(read_node_setup(), $use_bindings, $cfg,
        $overrides,);
}

# The names of a block device's udev properties, as libudev lists them: the
# udev database's (E: lines; S:, G:, Q: and I: lines stand for DEVLINKS, TAGS,
# CURRENT_TAGS and USEC_INITIALIZED) and the kernel's (the uevent file,
# DEVPATH, SUBSYSTEM).
my sub udev_property_names {
    my ($udev, $uevent) = @_;
    my %names = (DEVPATH => 1, SUBSYSTEM => 1);
    $names{$_} = 1 for $udev =~ m/^E:([^=\n]+)=/mg;
    $names{$_} = 1 for ($uevent // '') =~ m/^([^=\n]+)=/mg;
    my %derived = (S => 'DEVLINKS', G => 'TAGS', Q => 'CURRENT_TAGS', I => 'USEC_INITIALIZED');
    for my $type (keys %derived) {
        $names{ $derived{$type} } = 1 if $udev =~ m/^$type:/m;
    }
    return [sort keys %names];
}

# The node's block devices as multipath-tools sees them for its blacklist:
# kernel name, WWID (udev's ID_SERIAL, else ID_WWN), SCSI vendor and model,
# udev property names, where it hangs in sysfs and an NVMe transport.
my sub block_devices {
    my $sysfs = $PVE::Multipath::SYSFS;
    opendir(my $dh, "$sysfs/block") or return [];
    my @names = sort grep { !m/^\./ } readdir($dh);
    closedir($dh);
    my $devices = [];
    for my $dev (@names) {
        my $number = read_optional("$sysfs/block/$dev/dev") // next;
        chomp($number);
        my $udev = read_optional("$UDEV_DATA_DIR/b$number") // next;
        my ($wwid) = $udev =~ m/^E:ID_SERIAL=(.+)$/m;
        ($wwid) = $udev =~ m/^E:ID_WWN=(.+)$/m if !defined($wwid);
        next if !defined($wwid);
        my $device = {
            dev => $dev,
            wwid => $wwid,
            properties => udev_property_names($udev, read_optional("$sysfs/block/$dev/uevent")),
        };
        for my $field ([vendor => 'vendor'], [product => 'model']) {
            my $text = read_optional("$sysfs/block/$dev/device/$field->[1]") // next;
            $device->{ $field->[0] } = $text =~ s/\s+$//r;
        }
        my $sysfs_path = readlink("$sysfs/block/$dev");
        $device->{sysfs_path} = $sysfs_path if defined($sysfs_path);
        if ($dev =~ m/^nvme/) {
            my $transport = read_optional("$sysfs/block/$dev/device/transport");
            $device->{nvme_transport} = $transport =~ s/\s+$//r if defined($transport);
        }
        push $devices->@*, $device;
    }
    return $devices;
}

# Where the node's own files contradict the cluster config (the Generator
# records them on every pass; the admin's files are never edited). The block
# devices are read only when some file has a blacklist to judge them by.
sub conflicts {
    my ($cfg) = @_;
    my $files = read_node_files();
    my $devices = (grep { $_->{text} =~ m/\bblacklist/ } $files->@*) ? block_devices() : [];
    return PVE::Multipath::Config::import_conflicts($files, $cfg, $devices);
}

1;
