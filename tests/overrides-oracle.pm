package MultipathOracle;

# The real `multipath -t` as the oracle of the overrides tests
# (overrides-agree.t, overrides-fuzz.t): runs it on an empty main config plus
# conf.d drop-ins in a private mount namespace (tests/multipath-t-sandbox, or
# OVERRIDES_SANDBOX), always under a timeout, and says which release it is
# (OVERRIDES_ORACLE_RELEASE, else `multipath -V`, else dpkg).

use strict;
use warnings;

use File::Temp qw(tempdir);

# Seconds one `multipath -t` may take (it takes well under one).
our $TIMEOUT = $ENV{OVERRIDES_ORACLE_TIMEOUT} // 60;

my sub multipath_binary {
    for my $path ('/usr/sbin/multipath', '/sbin/multipath') {
        return $path if -x $path;
    }
    return undef;
}

# Runs a command under timeout(1) (which kills the command's whole process
# group); returns (output with stderr, exit status as $? has it).
my sub run_timed {
    my ($seconds, @command) = @_;
    my $pid = open(my $out, '-|') // die "cannot fork: $!\n";
    if (!$pid) {
        open(STDERR, '>&', \*STDOUT) or die "cannot redirect stderr: $!\n";
        exec('timeout', '-k', '5', $seconds, @command) or die "cannot run timeout: $!\n";
    }
    local $/;
    my $output = <$out> // '';
    close($out);
    return ($output, $?);
}

sub new {
    my ($class, %args) = @_;
    my $custom = defined($ENV{OVERRIDES_SANDBOX});
    my $self = bless {
        sandbox => $ENV{OVERRIDES_SANDBOX} // "$args{root}/tests/multipath-t-sandbox",
        custom => $custom,
        dir => tempdir(CLEANUP => 1),
    }, $class;
    open(my $fh, '>', "$self->{dir}/multipath.conf")
        or die "cannot write $self->{dir}/multipath.conf: $!\n";
    close($fh);
    return $self;
}

# Why the oracle cannot run here, or undef.
sub unavailable {
    my ($self) = @_;
    return "no multipath -t sandbox at $self->{sandbox}" if !-x $self->{sandbox};
    return 'multipath-tools not installed' if !$self->{custom} && !multipath_binary();
    return undef;
}

# The installed multipath-tools version, e.g. "0.9.4" or "0.11.1-2".
sub version {
    my ($self) = @_;
    return $self->{version} //= do {
        my $version = $ENV{OVERRIDES_ORACLE_RELEASE};
        if (!defined($version) && (my $binary = multipath_binary())) {
            my ($output) = run_timed(10, $binary, '-V');
            ($version) = $output =~ m/multipath-tools v(\d+\.\d+\.\d+)/;
        }
        if (!defined($version)) {
            my ($output, $status) =
                run_timed(10, 'dpkg-query', '-W', '-f', '${Version}', 'multipath-tools');
            $version = $output if $status == 0 && $output =~ m/^\d/;
        }
        $version // 'unknown';
    };
}

# The known release (a name of overrides_keywords()->{releases}) the
# installed version is, or undef.
sub release {
    my ($self) = @_;
    my $tables = PVE::RS::Multipath::Config::overrides_keywords();
    (my $upstream = $self->version()) =~ s/^v//;
    $upstream =~ s/-.*//;
    my ($release) = grep { $_ eq $upstream } $tables->{releases}->@*;
    return $release;
}

# { output, complaints => [...], timeout => 0|1, signal => N|0, ran => 0|1 }
# of one run; `ran`: multipath -t printed its configuration. A run that did
# not get that far without dying or hanging (the sandbox shares /etc with
# whatever else runs it on this machine: a concurrent run may remove the
# mount point it created) is tried again, up to 5 times.
sub run_with_timeout {
    my ($self, $seconds, @dropins) = @_;
    my $result;
    for my $attempt (1 .. 5) {
        my ($output, $status) =
            run_timed($seconds, $self->{sandbox}, "$self->{dir}/multipath.conf", @dropins);
        my $code = $status >> 8;
        my $timeout = ($code == 124 || $code == 137) ? 1 : 0;
        my $signal = !$timeout && $code > 128 ? $code - 128 : ($status & 127);
        $result = {
            output => $output,
            complaints => [$output =~ m/^\s*\d+\.\d+ \| (.*)$/mg],
            timeout => $timeout,
            signal => $signal,
            ran => ($output =~ m/^defaults \{/m ? 1 : 0),
        };
        last if $result->{ran} || $timeout || $signal;
        select(undef, undef, undef, 0.2 * $attempt);
    }
    return $result;
}

sub run {
    my ($self, @dropins) = @_;
    return $self->run_with_timeout($TIMEOUT, @dropins);
}

1;
