#!/usr/bin/perl

# The import against the real multipath-tools parser: every host config
# (category B) and every text the installed release accepts, from
# ../shared/corpus/overrides-real (or PVE_MULTIPATH_CORPUS), as a node's
# /etc/multipath.conf. The effective configuration `multipath -t` prints for
# the node's file alone must equal the one for the rendered pve-*.conf
# drop-ins of the imported cluster config plus the remainder the report says
# stays behind (in a private mount namespace, every run under a timeout;
# see tests/overrides-oracle.pm). The managed defaults the node does not set
# are the one deliberate change; the import names them, and they are checked
# to have the managed value.

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use JSON;
use Test::More;

use PVE::Multipath::Config;
use PVE::Multipath::TestCorpus qw(corpus_dir slurp tsv_rows);
use PVE::RS::Multipath::Config;

require "$FindBin::Bin/overrides-oracle.pm";

my $ROOT = "$FindBin::Bin/..";
my $CORPUS = corpus_dir($ROOT);

my sub spew {
    my ($path, $text) = @_;
    open(my $fh, '>', $path) or die "cannot write '$path': $!\n";
    print $fh $text;
    close($fh);
}

# { section => { lines => [sorted], subs => [sorted blocks] } } of `multipath
# -t` output, complaints left out. Sorted: the import may move entries
# between the main file and the drop-ins, whose order in the output then
# changes, while each entry's content is printed in a fixed order.
my sub effective {
    my ($output) = @_;
    my ($section, $sub, %blocks);
    for my $line (split(/\n/, $output)) {
        next if $line =~ m/^\s*\d+\.\d+ \|/;
        if (!defined($section)) {
            ($section) = $line =~ m/^(\w+) \{$/;
            $blocks{$section} //= { lines => [], subs => [] } if defined($section);
        } elsif (defined($sub)) {
            if ($line eq "\t}") {
                push $blocks{$section}->{subs}->@*, $sub;
                undef $sub;
            } else {
                $sub .= "$line\n";
            }
        } elsif ($line =~ m/^\t(\w+) \{$/) {
            $sub = "$1\n";
        } elsif ($line eq '}') {
            undef $section;
        } else {
            push $blocks{$section}->{lines}->@*, $line;
        }
    }
    for my $block (values %blocks) {
        $block->{$_} = [sort $block->{$_}->@*] for qw(lines subs);
    }
    return \%blocks;
}

my sub eq_deeply_plain {
    my ($a, $b) = @_;
    return JSON->new->canonical->encode($a) eq JSON->new->canonical->encode($b);
}

my $oracle = MultipathOracle->new(root => $ROOT);
my $main_conf = "$oracle->{dir}/multipath.conf";    # the oracle's main config

# The output of one run, undef when it did not finish. The sandbox's mount
# point /etc/multipath.conf may vanish while another sandbox on the machine
# cleans up; a run where the sandbox's own commands failed is retried.
my sub multipath_t {
    my ($main, @dropins) = @_;
    spew($main_conf, $main);
    for (1 .. 10) {
        my $run = $oracle->run(@dropins);
        return undef if $run->{timeout} || $run->{signal};
        return $run->{output} if $run->{output} !~ m/^(?:mount|umount|unshare|mkdir|cp|rm|sh):/m;
        sleep(1);
    }
    return undef;
}

SKIP: {
    my $why = $oracle->unavailable();
    skip($why, 1) if $why;
    skip("no corpus at $CORPUS", 1) if !-d $CORPUS;
    my $release = $oracle->release();
    skip("no labels for the installed multipath-tools " . $oracle->version(), 1)
        if !defined($release);
    my $labels = $release eq '0.9.4' ? 'LABELS.tsv' : 'LABELS-trixie.tsv';
    my %accepted = map { $_->[0] => 1 } grep { $_->[1] eq 'accept' } tsv_rows("$CORPUS/$labels");
    my %host = map { $_->[0] => 1 } grep { $_->[2] =~ m/^\[B / } tsv_rows("$CORPUS/SOURCES.tsv");
    my @names = sort grep { $accepted{$_} || $host{$_} } (keys %accepted, keys %host);
    my %seen;
    @names = grep { !$seen{$_}++ } @names;
    note("oracle: multipath-tools " . $oracle->version() . ", " . scalar(@names) . " texts");

    my $dir = tempdir(CLEANUP => 1);
    for my $name (@names) {
        my $text = slurp("$CORPUS/$name.conf");
        my $node_output = multipath_t($text);
        if (!defined($node_output)) {
            fail("$name: multipath -t did not finish on the node's file");
            next;
        }
        if ($node_output !~ m/^defaults \{/m) {
            # multipathd would not start with this file; nothing to import.
            pass("$name: multipath -t refuses it as /etc/multipath.conf; not compared");
            next;
        }
        my $import = PVE::Multipath::Config::import_propose(
            { files => [{ name => '/etc/multipath.conf', text => $text }], maps => [] }, 0,);
        my $merged =
            PVE::Multipath::Config::import_apply(undef, '', $import->{proposal}, undef, 0, undef,);
        my $files =
            PVE::Multipath::Config::render_node_files($merged->{config}, $merged->{overrides});
        # Without any section the cluster config manages nothing and renders
        # nothing; the import then keeps the node as it is.
        my @dropins;
        for my $file (sort keys $files->%*) {
            next if !defined($files->{$file});
            spew("$dir/$file", $files->{$file});
            push @dropins, "$dir/$file";
        }
        my $remainder = $import->{remainder}->{'/etc/multipath.conf'} // '';
        if (!@dropins) {
            $remainder = $text;
            note("$name: nothing to manage, the file stays as it is");
        }
        my $cluster_output = multipath_t($remainder, @dropins);
        if (!defined($cluster_output)) {
            fail("$name: multipath -t did not finish on the imported config");
            next;
        }
        my ($node, $cluster) = (effective($node_output), effective($cluster_output));
        # On this shared machine a sandbox run now and then prints less than
        # it should; a real difference shows again in a second pair of runs.
        if (!eq_deeply_plain($node, $cluster)) {
            my ($again_node, $again_cluster) =
                (multipath_t($text), multipath_t($remainder, @dropins));
            ($node, $cluster) = (effective($again_node), effective($again_cluster))
                if defined($again_node) && defined($again_cluster);
        }

        my @changed;
        for my $change ($import->{changes}->@*) {
            my $keyword = $change->{keyword};
            my @lines = grep { !m/^\t\Q$keyword\E / } $cluster->{defaults}->{lines}->@*;
            my ($value) = map { m/^\t\Q$keyword\E "?([^"]*)"?$/ } $cluster->{defaults}->{lines}->@*;
            push @changed,
                "$keyword: rendered '" . ($value // '') . "', announced '$change->{value}'"
                if @dropins && ($value // '') ne $change->{value};
            $cluster->{defaults}->{lines} = \@lines;
            $node->{defaults}->{lines} =
                [grep { !m/^\t\Q$keyword\E / } $node->{defaults}->{lines}->@*];
        }
        is_deeply(\@changed, [], "$name: the announced changes are the rendered managed defaults");
        is_deeply($cluster, $node, "$name: drop-ins plus remainder configure what the file did")
            or diag("proposal:\n"
                . JSON->new->canonical->pretty->encode($import)
                . "remainder:\n$remainder");
    }
}

done_testing();
