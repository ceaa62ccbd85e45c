package PVE::Exception;

# Test stand-in for pve-common's PVE::Exception: an exception object with an
# HTTP code and per-parameter errors, stringified the way the real one is.

use strict;
use warnings;

use Exporter qw(import);

use overload
    '""' => sub { $_[0]->stringify() },
    'cmp' => sub {
    my ($a, $b, $swap) = @_;
    return $swap ? "$b" cmp "$a" : "$a" cmp "$b";
    };

our @EXPORT_OK = qw(raise raise_param_exc raise_perm_exc);

sub new {
    my ($class, $msg, %param) = @_;
    return bless { msg => $msg, %param }, $class;
}

sub raise {
    my ($msg, %param) = @_;
    die PVE::Exception->new($msg, %param);
}

sub raise_param_exc {
    my ($errors, $usage) = @_;
    raise("Parameter verification failed.\n", code => 400, errors => $errors, usage => $usage);
}

sub raise_perm_exc {
    my ($what) = @_;
    my $msg = "Permission check failed";
    $msg .= " ($what)" if $what;
    raise("$msg\n", code => 403);
}

sub stringify {
    my ($self) = @_;
    my $msg = $self->{msg};
    $msg .= "\n" if $msg !~ m/\n$/;
    if (my $errors = $self->{errors}) {
        $msg .= "$_: $errors->{$_}\n" for sort keys $errors->%*;
    }
    return $msg;
}

1;
