package PVE::Multipath::Generator;

# Applies the cluster-wide multipath configuration on this node: renders the
# drop-ins in /etc/multipath/conf.d, reconciles /etc/multipath/wwids through
# the real `multipath -a`/`-w` and reloads multipathd when anything changed.
# pvestatd calls sync() every update cycle, so a steady state writes nothing
# and reloads nothing.
#
# Adoption is safe: only WWIDs this node added itself (recorded in the state
# directory) are ever removed, and never one whose map is in use.

use strict;
use warnings;

use Encode qw(encode);
use File::Path qw(make_path);

use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;

our $CONF_D_DIR = '/etc/multipath/conf.d';
our $LOG = sub { warn "multipath: $_[0]\n" };

my sub node_state { return PVE::Multipath::read_node_state($_[0]) }

# Node state is only written when it changes (pvestatd runs every 10 s).
my sub set_state {
    my ($name, $data) = @_;
    my $json = JSON->new->canonical;
    my $old = node_state($name);
    return if defined($old) && $json->encode([$old]) eq $json->encode([$data]);
    PVE::Multipath::write_node_state($name, $data);
}

my sub record_apply_error {
    my ($error) = @_;
    chomp($error) if defined($error);
    set_state('apply-error.json', { error => $error });
}

sub last_apply_error {
    return (node_state('apply-error.json') // {})->{error};
}

# Set when the files changed, cleared by a successful reload: a reload that
# failed is retried on every pass, though nothing changes on disk any more.
my sub reload_pending {
    return (node_state('reload-pending.json') // {})->{pending} ? 1 : 0;
}

my sub set_reload_pending {
    my ($pending) = @_;
    set_state('reload-pending.json', { pending => $pending ? 1 : 0 });
}

# Write the drop-ins that changed (atomically), remove the ones that must not
# exist; returns the names of the files touched. Rendering happens first and
# fails as a whole, so an invalid config never leaves a half-written set.
sub regenerate {
    my ($cfg, $overrides) = @_;
    $cfg //= PVE::Multipath::ClusterConfig::read_config();
    $overrides //= PVE::Multipath::ClusterConfig::read_overrides();

    my $files = PVE::Multipath::Config::render_node_files($cfg, $overrides);
    my $changed = [];
    for my $name (sort keys $files->%*) {
        my $path = "$CONF_D_DIR/$name";
        # the rendered text is characters; the file holds its UTF-8 bytes
        my $content = defined($files->{$name}) ? encode('UTF-8', $files->{$name}) : undef;
        if (!defined($content)) {
            next if !-e $path;
            unlink($path) or die "unable to remove '$path' - $!\n";
            push $changed->@*, $name;
            next;
        }
        next if -e $path && file_get_contents($path) eq $content;
        make_path($CONF_D_DIR);
        file_set_contents($path, $content);
        push $changed->@*, $name;
    }
    return $changed;
}

# Where the node's own multipath files contradict the cluster config (or
# repeat it, after an import), kept for the node's status and broadcast with
# its health (PVE::Multipath::broadcast_health); each is logged once, when it
# first shows.
my sub record_conflicts {
    my ($cfg) = @_;
    require PVE::Multipath::Import;
    my $conflicts = eval { PVE::Multipath::Import::conflicts($cfg) }
        // ["cannot compare the node's own multipath files - " . ("$@" =~ s/\n$//r)];
    my %known = map { $_ => 1 } (node_state('conflicts.json') // [])->@*;
    $LOG->($_) for grep { !$known{$_} } $conflicts->@*;
    set_state('conflicts.json', $conflicts);
}

sub node_conflicts {
    return node_state('conflicts.json') // [];
}

my sub why_in_use {
    my ($map) = @_;
    return 'map state unknown (multipathd not answering)' if !$map;
    return "in use by " . join(', ', $map->{holders}->@*) if $map->{holders} && $map->{holders}->@*;
    return "mounted at $map->{mountpoint}" if defined($map->{mountpoint});
    return undef;
}

my sub managed_files_present {
    return grep { -e "$CONF_D_DIR/$_" } qw(pve-defaults.conf pve-overrides.conf pve-aliases.conf);
}

# Bring the allow-list in line with the plan; one failing WWID never stops
# the others (it is retried next pass). Returns (changed, errors).
my sub reconcile_wwids {
    my ($wwids) = @_;

    my $current =
        -e $PVE::Multipath::WWIDS_FILE ? file_get_contents($PVE::Multipath::WWIDS_FILE) : '';
    my $added = node_state('added-wwids.json') // [];
    my $plan = PVE::Multipath::Config::plan_wwids($wwids, $current, $added);
    my %ours = map { $_ => 1 } $added->@*;
    my ($changed, @errors) = (0);

    for my $wwid ($plan->{add}->@*) {
        eval { PVE::Multipath::add_wwid($wwid) };
        if (my $err = $@) {
            push @errors, "adding WWID $wwid failed - $err";
            next;
        }
        $ours{$wwid} = 1;
        $changed = 1;
        $LOG->("allow-listed WWID $wwid");
    }

    my @kept = map { "$_->{wwid} ($_->{reason})" } $plan->{keep}->@*;
    if ($plan->{remove}->@*) {
        my $maps = eval { PVE::Multipath::get_maps() };
        my %map_by_wwid = map { ($_->{wwid} // '') => $_ } ($maps // [])->@*;
        for my $wwid ($plan->{remove}->@*) {
            my $map = $map_by_wwid{$wwid};
            my $reason = $maps ? ($map ? why_in_use($map) : undef) : why_in_use(undef);
            if (defined($reason)) {
                push @kept, "$wwid ($reason)";
                next;
            }
            eval { PVE::Multipath::remove_wwid($wwid) };
            if (my $err = $@) {
                push @errors, "removing WWID $wwid failed - $err";
                next;
            }
            delete $ours{$wwid};
            $changed = 1;
            $LOG->("removed WWID $wwid from the allow-list");
            next if !$map;
            eval { PVE::Multipath::flush_map($map->{name}) };
            push @errors, "flushing map $map->{name} of WWID $wwid failed - $@" if $@;
        }
    }

    my $kept_before = node_state('kept-wwids.json') // [];
    $LOG->("kept WWIDs not in the cluster config: " . join(', ', @kept))
        if @kept && join("\n", @kept) ne join("\n", $kept_before->@*);
    set_state('kept-wwids.json', \@kept);
    set_state('added-wwids.json', [sort keys %ours]);
    return ($changed, @errors);
}

my sub sync_once {
    my $cfg = PVE::Multipath::ClusterConfig::read_config();
    my $overrides = PVE::Multipath::ClusterConfig::read_overrides() // '';
    my $managed = scalar(keys $cfg->{ids}->%*);
    my $added = node_state('added-wwids.json') // [];

    if (!$managed && !$added->@* && !managed_files_present() && !reload_pending()) {
        record_apply_error(undef) if defined(last_apply_error());
        set_state('conflicts.json', []);    # nothing managed, nothing to contradict
        return { changed => [] };
    }
    die "multipath-tools not installed\n" if $managed && !PVE::Multipath::is_supported();

    my $changed = regenerate($cfg, $overrides);
    record_conflicts($cfg);
    my ($wwids_changed, @errors) = (0);
    if (PVE::Multipath::is_supported()) {
        ($wwids_changed, @errors) = reconcile_wwids(PVE::Multipath::Config::wwid_list($cfg));
    }
    set_reload_pending(1) if $changed->@* || $wwids_changed;
    set_reload_pending(0) if !PVE::Multipath::is_supported();    # no daemon to reload
    if (reload_pending()) {
        if (!PVE::Multipath::is_running()) {
            push @errors, "multipathd is not running - reload pending";
        } elsif (!eval { PVE::Multipath::reconfigure(); 1 }) {
            push @errors, "reloading multipathd failed - $@";
        } else {
            set_reload_pending(0);
            $LOG->("reloaded multipathd");
        }
    }
    die join('', map { m/\n$/ ? $_ : "$_\n" } @errors) if @errors;
    record_apply_error(undef) if defined(last_apply_error());
    return { changed => $changed, 'wwids-changed' => $wwids_changed };
}

# Apply the cluster config on this node. Never throws; the error is kept for
# the health broadcast and returned as { error => ... }.
sub sync {
    my $result = eval { sync_once() };
    if (my $err = $@) {
        record_apply_error($err);
        $LOG->("applying the cluster config failed - $err");
        return { error => $err };
    }
    return $result;
}

use JSON ();

1;
