package PVE::Tools;

# Test stand-in for pve-common's PVE::Tools: the subset pve-multipath uses,
# with the real module's behaviour and messages: run_command's
# outfunc/errfunc line callbacks, input, timeout and noerr (returning the
# exit code), "command '...' failed: exit code N" / "got signal N" / "got
# timeout"; file_get_contents refusing more than 1 MiB (pmxcfs' limit) and
# "can't open '...'"; atomic file_set_contents (mode 0644 unless given);
# file_read_firstline undef for a missing file, dying for one it cannot
# read; split_list. Not modelled: run_command's logfunc/umask/errmsg.

use strict;
use warnings;

use Exporter qw(import);
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use IO::Select;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);

our @EXPORT_OK = qw(
    run_command
    file_get_contents
    file_set_contents
    file_read_firstline
    extract_param
    split_list
);

my sub command_string {
    my ($cmd) = @_;
    return ref($cmd) ? join(' ', map { m/[^\w\/.:=,+-]/ ? "'$_'" : $_ } $cmd->@*) : $cmd;
}

my sub feed_lines {
    my ($buffer_ref, $func, $flush) = @_;
    while ($$buffer_ref =~ s/^([^\n]*)\n//) {
        $func->($1);
    }
    if ($flush && length($$buffer_ref)) {
        $func->($$buffer_ref);
        $$buffer_ref = '';
    }
}

sub run_command {
    my ($cmd, %param) = @_;

    my $cmdstr = command_string($cmd);
    my $outfunc = $param{outfunc} // sub { print "$_[0]\n" };
    my $errfunc = $param{errfunc} // sub { print STDERR "$_[0]\n" };
    my $timeout = $param{timeout};

    my ($writer, $reader, $error) = (undef, undef, gensym());
    my $pid =
        eval { open3($writer, $reader, $error, ref($cmd) ? $cmd->@* : ('/bin/sh', '-c', $cmd)) };
    die "command '$cmdstr' failed: $@" if $@;
    print $writer $param{input} if defined($param{input});
    close($writer);

    my $select = IO::Select->new($reader, $error);
    my %buffer = ($reader => '', $error => '');
    my %func = ($reader => $outfunc, $error => $errfunc);
    my $deadline = defined($timeout) ? time() + $timeout : undef;
    my $timed_out;
    while ($select->count()) {
        my $wait = defined($deadline) ? $deadline - time() : undef;
        if (defined($wait) && $wait <= 0) {
            $timed_out = 1;
            kill('KILL', $pid);
            last;
        }
        for my $fh ($select->can_read($wait)) {
            my $count = sysread($fh, my $chunk, 65536);
            if (!$count) {
                feed_lines(\$buffer{$fh}, $func{$fh}, 1);
                $select->remove($fh);
                next;
            }
            $buffer{$fh} .= $chunk;
            feed_lines(\$buffer{$fh}, $func{$fh}, 0);
        }
    }
    waitpid($pid, 0);
    my $status = $?;

    die "command '$cmdstr' failed: got timeout\n" if $timed_out;
    my $exit_code = $status >> 8;
    my $err =
          ($status & 127) ? "got signal " . ($status & 127) . "\n"
        : $exit_code ? "exit code $exit_code\n"
        : undef;
    die "command '$cmdstr' failed: $err" if defined($err) && !$param{noerr};
    return $exit_code;
}

sub extract_param {
    my ($param, $key) = @_;
    return delete $param->{$key};
}

sub file_get_contents {
    my ($filename, $max) = @_;
    $max ||= 1024 * 1024;
    open(my $fh, '<', $filename) or die "can't open '$filename' - $!\n";
    my ($content, $count) = ('', 0);
    while ($count = sysread($fh, $content, 8192, length($content))) {
        die "file '$filename' too long - aborting\n" if length($content) > $max;
    }
    die "unable to read file '$filename' - $!\n" if !defined($count);
    close($fh);
    return $content;
}

sub file_set_contents {
    my ($filename, $data, $perm, $force_utf8) = @_;
    $perm //= 0644;
    my $tmp = "$filename.tmp.$$";
    eval {
        unlink($tmp);
        sysopen(my $fh, $tmp, O_WRONLY | O_CREAT | O_EXCL, $perm)
            or die "unable to open file '$tmp' - $!\n";
        if ($force_utf8) {
            utf8::encode($data);
        } else {
            utf8::downgrade($data, 1) or utf8::encode($data);    # print's wide-char fallback
        }
        print $fh $data or die "unable to write '$tmp' - $!\n";
        close($fh) or die "closing file '$tmp' failed - $!\n";
        rename($tmp, $filename) or die "rename '$tmp' to '$filename' failed - $!\n";
    };
    if (my $err = $@) {
        unlink($tmp);
        die $err;
    }
    return;
}

sub file_read_firstline {
    my ($filename) = @_;
    my $fh;
    if (!open($fh, '<', $filename)) {
        return undef if $!{ENOENT};
        die "file '$filename' exists but open for reading failed - $!\n";
    }
    my $line = <$fh>;
    close($fh);
    chomp($line) if $line;
    return $line;
}

sub split_list {
    my ($text) = @_;
    $text //= '';
    return split(/\0/, $text) if $text =~ m/\0/;
    $text =~ s/[,;]/ /g;
    $text =~ s/^\s+//;
    return split(/\s+/, $text);
}

1;
