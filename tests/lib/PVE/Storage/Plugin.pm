package PVE::Storage::Plugin;

# Test stand-in for pve-storage's PVE::Storage::Plugin base class: the
# defaults a plugin inherits (the methods our plugin overrides die here, as
# unimplemented ones do in the real base), @SHARED_STORAGE, parse_volume_id
# and the content defaults of the built-in types the tests' storage.cfg
# files use (dir, lvm, iscsi).

use strict;
use warnings;

our @SHARED_STORAGE =
    ('iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs',);

my $content_defaults = {
    dir => { images => 1, rootdir => 1 },
    lvm => { images => 1 },
    iscsi => { images => 1 },
};

# The content a section of $type has when it names none.
sub default_content {
    my ($class, $type) = @_;
    if (my $plugin = PVE::Storage->can('plugin_for') && PVE::Storage::plugin_for($type)) {
        my $content = $plugin->plugindata()->{content};
        return { $content->[1]->%* } if $content;
    }
    my $default = $content_defaults->{$type};
    return $default ? { $default->%* } : undef;
}

sub parse_volume_id {
    my ($volid, $noerr) = @_;
    if ($volid =~ m/^([a-z][a-z0-9\-\_\.]*[a-z0-9]):(.+)$/i) {
        return wantarray ? ($1, $2) : $1;
    }
    return undef if $noerr;
    die "unable to parse volume ID '$volid'\n";
}

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
