package PVE::RESTHandler;

# Test stand-in for pve-common's PVE::RESTHandler: method registration,
# path lookup through mounted subclasses, and handle(), which validates the
# parameters against the method's schema (raising "Parameter verification
# failed." like the real server) before running the code, and checks the
# permission the method declares. call() is a test helper on top.

use strict;
use warnings;

use PVE::Exception qw(raise);
use PVE::JSONSchema;
use PVE::RPCEnvironment;

my $method_registry = {};

sub register_method {
    my ($self, $info) = @_;
    die "method without name or subclass\n" if !$info->{name} && !$info->{subclass};
    push $method_registry->{$self}->@*, {%$info};
    return;
}

sub method_list {
    my ($self) = @_;
    return $method_registry->{$self} // [];
}

my sub match_path {
    my ($template, $parts) = @_;
    my @template = grep { length } split(m{/}, $template);
    return undef if @template > @$parts;
    my $params = {};
    for my $i (0 .. $#template) {
        if ($template[$i] =~ m/^\{(\w+)\}$/) {
            $params->{$1} = $parts->[$i];
        } elsif ($template[$i] ne $parts->[$i]) {
            return undef;
        }
    }
    return ($params, scalar(@template));
}

# ($class, $info, $path_params) for an HTTP method and a path below $self.
sub find_handler {
    my ($self, $http_method, $path) = @_;
    my @parts = grep { length } split(m{/}, $path);
    for my $info ($self->method_list()->@*) {
        my ($params, $used) = match_path($info->{path}, \@parts);
        next if !$params;
        if ($info->{subclass}) {
            my @rest = @parts[$used .. $#parts];
            my ($class, $found, $more) =
                $info->{subclass}->find_handler($http_method, join('/', @rest));
            return ($class, $found, { %$params, %$more }) if $found;
            next;
        }
        next if $used != @parts || ($info->{method} // 'GET') ne $http_method;
        return ($self, $info, $params);
    }
    return;
}

sub handle {
    my ($self, $info, $param) = @_;
    PVE::JSONSchema::validate($param, $info->{parameters});
    if (my $check = $info->{permissions}->{check}) {
        my ($kind, $path, $privs) = $check->@*;
        if ($kind eq 'perm') {
            $path =~ s/\{(\w+)\}/$param->{$1}/g;
            my $rpcenv = PVE::RPCEnvironment::get();
            $rpcenv->check($rpcenv->get_user(), $path, $privs);
        }
    }
    return $info->{code}->($param);
}

# Test helper: call "METHOD path" with $param as the HTTP server would.
sub call {
    my ($self, $http_method, $path, $param) = @_;
    my ($class, $info, $path_params) = $self->find_handler($http_method, $path);
    raise("no such method '$http_method $path'\n", code => 501) if !$info;
    return $class->handle($info, { ($param // {})->%*, $path_params->%* });
}

1;
