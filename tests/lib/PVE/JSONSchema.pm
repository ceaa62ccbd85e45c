package PVE::JSONSchema;

# Test stand-in for pve-common's PVE::JSONSchema: standard options and
# validate() with the real module's messages (patterns anchored, optional
# properties, additionalProperties, type/enum/range/length checks).

use strict;
use warnings;

use Exporter qw(import);

use PVE::Exception qw(raise);

our @EXPORT_OK = qw(get_standard_option);

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
    },
    'pve-config-digest' => {
        description => 'Prevent changes if current configuration file has a different digest.'
            . ' This can be used to prevent concurrent modifications.',
        type => 'string',
        optional => 1,
        maxLength => 64,
    },
};

my $formats = {
    'pve-node' => [
        qr/^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$/,
        "value does not look like a valid node name"
    ],
    'pve-storage-id' => [
        qr/^[a-z][a-z0-9\-\_\.]*[a-z0-9]$/i,
        "invalid format - storage ID contains illegal characters"
    ],
};

sub get_standard_option {
    my ($name, $base) = @_;
    my $option = $standard_options->{$name} or die "no such standard option '$name'\n";
    return { $option->%*, ($base // {})->%* };
}

my sub check_scalar {
    my ($value, $schema) = @_;
    my $type = $schema->{type} // 'string';
    return "type check ('$type') failed - got a reference"
        if ref($value) && $type ne 'object' && $type ne 'array';
    if ($type eq 'integer') {
        return "type check ('integer') failed - got '$value'" if $value !~ m/^-?\d+$/;
    } elsif ($type eq 'number') {
        return "type check ('number') failed - got '$value'"
            if $value !~ m/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
    } elsif ($type eq 'boolean') {
        return "type check ('boolean') failed - got '$value'"
            if $value !~ m/^(1|true|yes|on|0|false|no|off)$/i;
    }
    if (defined(my $min = $schema->{minimum})) {
        return "value must have a minimum value of $min" if $value < $min;
    }
    if (defined(my $max = $schema->{maximum})) {
        return "value must have a maximum value of $max" if $value > $max;
    }
    if (defined(my $max_length = $schema->{maxLength})) {
        return "value may only be $max_length characters long" if length($value) > $max_length;
    }
    if (my $enum = $schema->{enum}) {
        return
            "value '$value' does not have a value in the enumeration '"
            . join(', ', $enum->@*) . "'"
            if !grep { $_ eq $value } $enum->@*;
    }
    if (defined(my $pattern = $schema->{pattern})) {
        return "value does not match the regex pattern" if $value !~ m/^$pattern$/;
    }
    if (my $format = $schema->{format}) {
        my $check = $formats->{$format};
        return $check->[1] if $check && $value !~ $check->[0];
    }
    return undef;
}

my sub check_object {
    my ($instance, $schema, $errors) = @_;
    my $properties = $schema->{properties} // {};
    for my $key (sort keys $properties->%*) {
        my $property = $properties->{$key};
        if (!defined($instance->{$key})) {
            $errors->{$key} = "property is missing and it is not optional"
                if !$property->{optional} && !defined($property->{default});
            next;
        }
        my $err = check_scalar($instance->{$key}, $property);
        $errors->{$key} = $err if defined($err);
    }
    if (defined($schema->{additionalProperties}) && !$schema->{additionalProperties}) {
        for my $key (sort keys $instance->%*) {
            $errors->{$key} =
                  "property is not defined in schema and the schema does not allow"
                . " additional properties"
                if !$properties->{$key};
        }
    }
}

sub validate {
    my ($instance, $schema, $errmsg) = @_;
    my $errors = {};
    if (($schema->{type} // 'object') eq 'object') {
        check_object($instance // {}, $schema, $errors);
    } else {
        my $err = check_scalar($instance, $schema);
        $errors->{value} = $err if defined($err);
    }
    raise($errmsg // "Parameter verification failed.\n", code => 400, errors => $errors)
        if scalar(%$errors);
    return 1;
}

1;
