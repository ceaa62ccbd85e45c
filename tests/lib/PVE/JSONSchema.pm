package PVE::JSONSchema;

# Test stand-in for pve-common's PVE::JSONSchema: the standard options and
# formats pve-multipath uses, and validate() checking like the real
# check_prop, with its messages: a property is missing unless `optional`
# (a `default` does not make it optional); types are checked first
# (booleans are only 1 or 0, integers /^[+-]?\d+$/, a reference for a
# scalar "got ARRAY"), then format ("invalid format - ..."), pattern
# (anchored), maxLength, minLength, minimum/maximum and enum, stopping at
# the first failure; objects recurse into `properties` and
# `additionalProperties`, arrays into `items`; errors are keyed by path
# (`_root` for the value itself). Not modelled: oneOf/allOf, property
# strings, `requires`, aliases, cycle detection.

use strict;
use warnings;

use Exporter qw(import);
use JSON ();

use PVE::Exception qw(raise);
use PVE::Tools qw(split_list);

our @EXPORT_OK = qw(get_standard_option register_standard_option);

my $standard_options = {
    'pve-node' => {
        description => "The cluster node name.",
        type => 'string',
        format => 'pve-node',
    },
    'pve-storage-id' => {
        description => "The storage identifier.",
        type => 'string',
        format => 'pve-storage-id',
        format_description => 'storage ID',
    },
    'pve-config-digest' => {
        description => 'Prevent changes if current configuration file has a different digest. '
            . 'This can be used to prevent concurrent modifications.',
        type => 'string',
        optional => 1,
        maxLength => 64,
    },
};

sub register_standard_option {
    my ($name, $schema) = @_;
    die "standard option '$name' already registered\n" if $standard_options->{$name};
    $standard_options->{$name} = $schema;
}

sub get_standard_option {
    my ($name, $base) = @_;
    my $option = $standard_options->{$name} or die "no such standard option '$name'\n";
    my $res = $base || {};
    for my $key (keys $option->%*) {
        $res->{$key} = $option->{$key} if !defined($res->{$key});
    }
    return $res;
}

my sub verify_id {
    my ($id, $what) = @_;
    die "$what ID '$id' cannot be shorter than 2 characters\n" if length($id) < 2;
    die "$what ID '$id' contains illegal characters\n" if $id !~ m/^[a-z][a-z0-9\-\_\.]*[a-z0-9]$/i;
    return $id;
}

my $formats = {
    'pve-node' => sub {
        die "value does not look like a valid node name\n"
            if $_[0] !~ m/^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$/;
    },
    'pve-storage-id' => sub { verify_id($_[0], 'storage') },
    'pve-configid' => sub {
        die "invalid configuration ID '$_[0]'\n" if $_[0] !~ m/^[a-z][a-z0-9_-]+$/i;
    },
};

my sub check_format {
    my ($format, $value) = @_;
    return if $format eq 'regex';
    my ($name, $kind) = $format =~ m/^(.*?)(?:-(list|opt))?$/;
    my $check = $formats->{$name} // die "undefined format '$format'\n";
    if (($kind // '') eq 'list') {
        $check->($_) for split_list($value);
    } elsif (($kind // '') eq 'opt') {
        $check->($value) if $value;
    } else {
        $check->($value);
    }
}

sub is_number {
    return $_[0] =~ m/^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/;
}

sub is_integer {
    return $_[0] =~ m/^[+-]?\d+$/;
}

my sub add_error {
    my ($errors, $path, $msg) = @_;
    $path = '_root' if !$path;
    $errors->{$path} = $errors->{$path} ? join('\n', $errors->{$path}, $msg) : $msg;
}

# the type check; false (with the error added) when it fails
my sub check_type {
    my ($path, $type, $value, $errors) = @_;
    return 1 if !$type || $type eq 'any';
    if ($type eq 'null') {
        return 1 if !defined($value);
        add_error($errors, $path, "type check ('null') failed - value is not null");
        return 0;
    }
    my $ref = ref($value);
    my %want_ref = (array => 'ARRAY', object => 'HASH', coderef => 'CODE');
    if (my $want = $want_ref{$type}) {
        return 1 if $ref eq $want;
        add_error($errors, $path, "type check ('$type') failed");
        return 0;
    }
    if ($ref) {
        return 1 if $type eq 'string' && $ref eq 'Regexp';
        return 1 if $type eq 'boolean' && JSON::is_bool($value);
        add_error($errors, $path, "type check ('$type') failed - got $ref");
        return 0;
    }
    my $ok =
          $type eq 'boolean' ? ($value eq '1' || $value eq '0')
        : $type eq 'integer' ? is_integer($value)
        : $type eq 'number' ? is_number($value)
        : 1;
    add_error($errors, $path, "type check ('$type') failed - got '$value'") if !$ok;
    return $ok;
}

my sub check_scalar {
    my ($path, $value, $schema, $errors) = @_;
    if (my $format = $schema->{format}) {
        eval { check_format($format, $value) };
        return add_error($errors, $path, "invalid format - $@") if $@;
    }
    if (my $pattern = $schema->{pattern}) {
        return add_error($errors, $path, "value does not match the regex pattern")
            if $value !~ m/^$pattern$/;
    }
    if (defined(my $max = $schema->{maxLength})) {
        return add_error($errors, $path, "value may only be $max characters long")
            if length($value) > $max;
    }
    if (defined(my $min = $schema->{minLength})) {
        return add_error($errors, $path, "value must be at least $min characters long")
            if length($value) < $min;
    }
    if (is_number($value)) {
        if (defined(my $max = $schema->{maximum})) {
            return add_error($errors, $path, "value must have a maximum value of $max")
                if $value > $max;
        }
        if (defined(my $min = $schema->{minimum})) {
            return add_error($errors, $path, "value must have a minimum value of $min")
                if $value < $min;
        }
    }
    if (my $enum = $schema->{enum}) {
        add_error(
            $errors,
            $path,
            "value '$value' does not have a value in the enumeration '"
                . join(", ", $enum->@*) . "'",
        ) if !grep { $_ eq $value } $enum->@*;
    }
}

sub check_prop {
    my ($value, $schema, $path, $errors) = @_;
    if (ref($schema) ne 'HASH') {
        return add_error($errors, $path, "Invalid schema definition.");
    }
    if (!defined($value)) {
        return if ($schema->{type} // '') eq 'null';
        add_error($errors, $path, "property is missing and it is not optional")
            if !$schema->{optional};
        return;
    }
    return if !check_type($path, $schema->{type}, $value, $errors);

    my $ref = ref($value);
    if ($ref eq 'ARRAY') {
        if (my $items = $schema->{items}) {
            check_prop($value->[$_], $items, "${path}[$_]", $errors) for 0 .. $#$value;
        }
    } elsif ($ref && ($schema->{properties} || $schema->{additionalProperties})) {
        my $properties = $schema->{properties} // {};
        my $additional = $schema->{additionalProperties};
        return add_error($errors, $path, "an object is required") if $ref ne 'HASH';
        for my $key (keys $properties->%*) {
            check_prop($value->{$key}, $properties->{$key}, $path ? "$path.$key" : $key, $errors);
        }
        for my $key (keys $value->%*) {
            next if $properties->{$key};
            my $key_path = $path ? "$path.$key" : $key;
            if (defined($additional) && !$additional) {
                add_error($errors, $key_path,
                          "property is not defined in schema and the schema does not allow"
                        . " additional properties");
            } elsif (ref($additional)) {
                check_prop($value->{$key}, $additional, $key_path, $errors);
            }
        }
    } elsif (!$ref) {
        check_scalar($path, $value, $schema, $errors);
    }
}

sub validate {
    my ($instance, $schema, $errmsg) = @_;
    my $errors = {};
    check_prop($instance, $schema, '', $errors) if $schema;
    raise($errmsg || "Parameter verification failed.\n", code => 400, errors => $errors)
        if scalar(%$errors);
    return 1;
}

1;
