package PVE::INotify;

# Test stand-in for pve-common's PVE::INotify: the node name, from
# PVE_STANDIN_NODENAME or else the host name (the real one reads
# /etc/hostname).

use strict;
use warnings;

use Sys::Hostname qw(hostname);

sub nodename {
    return $ENV{PVE_STANDIN_NODENAME} // (split(/\./, hostname()))[0];
}

1;
