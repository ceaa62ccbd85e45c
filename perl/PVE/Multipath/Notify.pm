package PVE::Multipath::Notify;

# Multipath notifications through PVE::Notify (the admin's matchers and
# targets): once per pvestatd pass, on the one node that sends for the
# cluster, the health matrix is compared with the state the previous pass
# kept in pmxcfs, and what changed is sent. The matrix is aggregated and the
# decisions made in PVE::RS::Multipath::Notify, from the facts the status call
# gathers; this module moves those facts, the state and the notifications.
#
# The state lives in /etc/pve/priv/multipath-notify.json, written under the
# cluster lock 'domain-multipath-notify', so a node that becomes the sender
# (the online node with the lowest name, while quorate) continues where the
# last one stopped, and two nodes that both believe to be the sender during
# a membership change cannot send the same change twice. Not the KV store:
# pmxcfs keeps that in memory only, and a node's own values are gone after a
# restart of it.

use strict;
use warnings;

use PVE::Cluster;
use PVE::INotify;
use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::RS::Multipath::Notify;

our $STATE_FILE = 'priv/multipath-notify.json';
my $LOCK_DOMAIN = 'multipath-notify';
my $LOCK_TIMEOUT = 10;

sub is_sender {
    my $quorate = PVE::Cluster::check_cfs_quorum(1);
    my $sender = PVE::RS::Multipath::Notify::sender(PVE::Cluster::get_members(), $quorate);
    return defined($sender) && $sender eq PVE::INotify::nodename() ? 1 : 0;
}

my sub send_notification {
    my ($notification, $nodename) = @_;
    require PVE::Notify;
    my $data = { PVE::Notify::common_template_data()->%*, $notification->{data}->%* };
    my $fields = { $notification->{fields}->%*, hostname => $nodename };
    PVE::Notify::notify($notification->{severity}, $notification->{template}, $data, $fields);
    return;
}

my sub decide {
    my ($cfg, $status_options, $now) = @_;
    my $path = PVE::Cluster::base_dir() . "/$STATE_FILE";
    my $state = -e $path ? file_get_contents($path) : undef;
    my $result = PVE::RS::Multipath::Notify::pass({
        defaults => $cfg->{ids}->{defaults},
        state => $state,
        status => $status_options,
        now => $now,
    });
    return ($result, $path);
}

# Decided again under the lock (another node may have sent meanwhile), sent,
# and kept. A failed send is logged and not retried: a retry every pass
# would flood the targets that work. Sent before the state is written, so a
# sender that dies in between makes a duplicate, never a gap.
my sub pass_locked {
    my ($cfg, $status_options, $now) = @_;
    my ($result, $path) = decide($cfg, $status_options, $now);
    warn "multipath notifications: $_\n" for $result->{warnings}->@*;
    my $nodename = PVE::INotify::nodename();
    for my $notification ($result->{notifications}->@*) {
        eval { send_notification($notification, $nodename) };
        warn "multipath notifications: sending '$notification->{data}->{title}' failed - $@"
            if $@;
    }
    file_set_contents($path, $result->{state}) if $result->{changed};
    return;
}

# The pvestatd hook, after the node's own broadcast. Never throws. Most
# passes change nothing and take no cluster lock.
sub pass {
    my ($cfg, $now) = @_;
    eval {
        return if !is_sender();
        if (!defined($cfg)) {
            require PVE::Multipath::ClusterConfig;
            $cfg = PVE::Multipath::ClusterConfig::read_config();
        }
        $now //= time();
        require PVE::API2::Multipath;
        my $status_options = PVE::API2::Multipath::status_options($cfg, $now);
        my ($preview) = decide($cfg, $status_options, $now);
        return if !$preview->{changed} && !$preview->{notifications}->@*;
        PVE::Cluster::cfs_lock_domain($LOCK_DOMAIN, $LOCK_TIMEOUT, \&pass_locked, $cfg,
            $status_options, $now);
        die $@ if $@;
    };
    warn "multipath notifications: $@" if $@;
    return;
}

1;
