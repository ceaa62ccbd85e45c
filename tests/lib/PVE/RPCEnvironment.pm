package PVE::RPCEnvironment;

# Test stand-in for pve-access-control's PVE::RPCEnvironment: one
# environment per process (init once, get dies before), with a user;
# check() records each permission check and denies the privileges a test
# lists in $env->{deny}. Differences: init() takes a missing type as
# 'cli', and no ACLs are evaluated.

use strict;
use warnings;

use PVE::Exception qw(raise_perm_exc);

my $environment;

sub init {
    my ($class, $type, %param) = @_;
    die "already initialized" if $environment;
    $type //= 'cli';
    die "unknown environment type" if $type !~ m/^(cli|pub|priv|ha)$/;
    $environment = bless { type => $type, user => undef, checks => [], deny => {} }, $class;
    return $environment;
}

sub get {
    die "REST environment not initialized" if !$environment;
    return $environment;
}

sub get_user {
    my ($self) = @_;
    die "user name not set\n" if !$self->{user};
    return $self->{user};
}

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
