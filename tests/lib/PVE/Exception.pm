package PVE::Exception;

# Test stand-in for pve-common's PVE::Exception: an exception object with an
# HTTP code and per-parameter errors, stringified like the real one
# ("400 Parameter verification failed.\nkey: message\n"; a message without
# a final newline gets " at FILE line N"). One deliberate difference: the
# errors are listed sorted by key, where the real one lists them in hash
# order, so test output is stable.

use strict;
use warnings;

use Exporter qw(import);
use Storable qw(dclone);

use overload
    '""' => sub { local $@; $_[0]->stringify() },
    'cmp' => sub {
    my ($a, $b) = @_;
    local $@;
    return "$a" cmp "$b";
    };

our @EXPORT_OK = qw(raise raise_param_exc raise_perm_exc);

sub new {
    my ($class, $msg, %param) = @_;
    my $self = { msg => $msg };
    for my $key (keys %param) {
        next if defined($self->{$key});
        $self->{$key} = ref($param{$key}) ? dclone($param{$key}) : $param{$key};
    }
    return bless $self, ref($class) || $class;
}

my sub throw {
    my ($exception) = @_;
    (undef, $exception->{filename}, $exception->{line}) = caller(1);
    die $exception;
}

sub raise {
    throw(PVE::Exception->new(@_));
}

sub raise_param_exc {
    my ($errors, $usage) = @_;
    throw(PVE::Exception->new(
        "Parameter verification failed.\n",
        code => 400,
        errors => $errors,
        $usage ? (usage => $usage) : (),
    ));
}

sub raise_perm_exc {
    my ($what) = @_;
    my $msg = "Permission check failed" . ($what ? " ($what)" : '');
    throw(PVE::Exception->new("$msg\n", code => 403));
}

sub is_param_exc {
    my ($self) = @_;
    return $self->{code} && $self->{code} eq 400;
}

sub stringify {
    my ($self) = @_;
    my $msg = $self->{code} ? "$self->{code} $self->{msg}" : $self->{msg};
    if ($msg !~ m/\n$/) {
        $msg .= " at $self->{filename} line $self->{line}" if $self->{filename} && $self->{line};
        $msg .= "\n";
    }
    if (my $errors = $self->{errors}) {
        # in hash order, as the real one: nothing may rely on the order
        $msg .= "$_: $errors->{$_}\n" for keys $errors->%*;
    }
    if (my $usage = $self->{usage}) {
        $msg .= $usage;
        $msg .= "\n" if $msg !~ m/\n$/;
    }
    return $msg;
}

1;
