package PVE::Storage::Plugin;

# Test stand-in for pve-storage's PVE::Storage::Plugin base class: the
# defaults a plugin inherits (the methods our plugin overrides die here,
# as unimplemented ones do in the real base).

use strict;
use warnings;

sub api { return 15 }

sub type { die "type not implemented\n" }

sub plugindata { return {} }

sub properties { return {} }

sub options { return {} }

sub check_connection { return 1 }

sub activate_storage { return 1 }

sub deactivate_storage { return 1 }

sub volume_has_feature { return undef }

1;
