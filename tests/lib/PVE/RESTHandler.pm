package PVE::RESTHandler;

# Test stand-in for pve-common's PVE::RESTHandler, as far as pve-multipath
# uses it: register_method (methods and mounted subclasses in a path tree,
# `{name}` and `{name:regex}` components, GET as the default method),
# map_method_by_name, find_handler($method, $path, $uri_param) and
# handle($info, $param, $result_verification) like the real ones: handle()
# turns an array given for a `*-list` format into a comma-separated string
# (and a scalar given for an array into one), validates the parameters,
# runs the code and, when asked, validates the result against `returns`
# ("Result verification failed"). Like the real handle(), it does not check
# permissions: the API server does that before.

use strict;
use warnings;

use PVE::Exception qw(raise);
use PVE::JSONSchema;

my $path_tree = {};    # class => { folders => { name => node }, regex => node, METHOD => info }
my $by_name = {};    # class => { name => info }

sub register_method {
    my ($self, $info) = @_;

    my $method = $info->{subclass} ? 'SUBCLASS' : ($info->{method} //= 'GET');
    my $where = "register method ${self}/" . ($info->{path} // '');
    die "$where - no path" if !defined($info->{path});

    my $node = $path_tree->{$self} //= {};
    for my $component (split(/\/+/, $info->{path})) {
        die "$where - path compoment has zero length\n" if $component eq '';
        if ($component =~ m/^\{([\w-]+)(?::(.*))?\}$/) {
            my ($name, $regex) = ($1, $2 || '\S+');
            die "$where - path match error - regex and fixed items\n" if $node->{folders};
            my $next = $node->{regex} //= { match_name => $name, match_re => $regex };
            die "$where - found changed regex match name\n" if $next->{match_name} ne $name;
            die "$where - found changed regex\n" if $next->{match_re} ne $regex;
            $node = $next;
        } else {
            die "$where - path match error - regex and fixed items\n" if $node->{regex};
            $node = $node->{folders}->{$component} //= {};
        }
    }
    die "$where - duplicate method definition\n" if $node->{$method};
    $node->{$method} = $info;

    if (!$info->{subclass}) {
        my $name = $info->{name} // die "$where - missing method name\n";
        die "$where - method name '$name' already defined\n" if $by_name->{$self}->{$name};
        $by_name->{$self}->{$name} = $info;
    }
    return $info;
}

sub map_method_by_name {
    my ($self, $name) = @_;
    return $by_name->{$self}->{$name} // die "no such method '${self}::$name'\n";
}

# ($class, $info) of "$method $path" below $self, filling $uri_param with
# the path's `{name}` values; undef if there is none.
sub find_handler {
    my ($self, $method, $path, $uri_param) = @_;
    $uri_param //= {};
    my ($class, $node) = ($self, $path_tree->{$self});
    for my $component (grep { length } split(/\/+/, $path)) {
        return undef if !$node;
        if (my $regex_node = $node->{regex}) {
            return undef if $component !~ m/^($regex_node->{match_re})$/;
            $uri_param->{ $regex_node->{match_name} } = $1;
            $node = $regex_node;
        } elsif ($node->{folders}) {
            $node = $node->{folders}->{$component};
        } else {
            return undef;
        }
        return undef if !$node;
        if (my $mount = $node->{SUBCLASS}) {
            $class = $mount->{subclass};
            $node = $path_tree->{$class};
        }
    }
    my $info = $node && $node->{$method};
    return $info ? ($class, $info) : undef;
}

my sub normalize_list_params {
    my ($param, $schema) = @_;
    return if ref($param) ne 'HASH';
    my $properties = $schema->{properties} // {};
    for my $key (keys $param->%*) {
        my ($prop, $value) = ($properties->{$key}, $param->{$key});
        next if !$prop || !$value;
        my ($type, $format) = ($prop->{type} // '', $prop->{format} // '');
        if (ref($value) eq 'ARRAY' && $type eq 'string' && $format =~ m/-list$/) {
            $param->{$key} = join(',', $value->@*);
        } elsif (!ref($value) && $type eq 'array') {
            $param->{$key} = [$value];
        }
    }
}

sub handle {
    my ($self, $info, $param, $result_verification) = @_;
    raise("Method lookup failed ('" . ($info->{name} // '') . "')\n", code => 500)
        if !($info->{name} && $info->{code});
    if (my $schema = $info->{parameters}) {
        normalize_list_params($param, $schema);
        PVE::JSONSchema::validate($param, $schema);
    }
    my $result = $info->{code}->($param);
    if ($result_verification && (my $returns = $info->{returns})) {
        PVE::JSONSchema::validate($result, $returns, "Result verification failed\n");
    }
    return $result;
}

1;
