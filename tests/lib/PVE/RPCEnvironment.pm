package PVE::RPCEnvironment;

# Test stand-in for pve-access-control's PVE::RPCEnvironment: one
# environment per process with a user; permission checks are recorded, and
# denied when the test says so.

use strict;
use warnings;

use PVE::Exception qw(raise_perm_exc);

my $environment;

sub init {
    my ($class, %param) = @_;
    $environment = bless { user => $param{user} // 'root@pam', checks => [], deny => {} }, $class;
    return $environment;
}

sub get {
    return $environment // __PACKAGE__->init();
}

sub get_user { return $_[0]->{user} }

sub set_user { $_[0]->{user} = $_[1] }

# check($user, $path, [privs], $noerr)
sub check {
    my ($self, $user, $path, $privs, $noerr) = @_;
    push $self->{checks}->@*, [$user, $path, $privs];
    my $denied = grep { $self->{deny}->{$_} } $privs->@*;
    return 1 if !$denied;
    return undef if $noerr;
    raise_perm_exc("$path, " . join('|', $privs->@*));
}

1;
