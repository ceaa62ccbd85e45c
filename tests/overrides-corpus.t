#!/usr/bin/perl

# The real-world corpus (../shared/corpus/overrides-real/ beside the checkout,
# see its README): 92 multipath.conf texts as admins, vendors and
# distributions write them, each labelled by the real multipath-tools as a
# conf.d drop-in: LABELS.tsv by 0.9.4 (Debian bookworm), LABELS-trixie.tsv by
# 0.11.1 (Debian trixie). Every text gets the verdict of its label from the
# strict check (the one the API stores with) for that release, but for the
# deliberate refusals below. PVE_MULTIPATH_CORPUS=/path/to/overrides-real
# points elsewhere; without the corpus the test is skipped and says so.

use strict;
use warnings;

use Cwd qw(abs_path);
use FindBin;
use Test::More;

use PVE::Multipath::TestCorpus qw(corpus_dir labels slurp);
use PVE::RS::Multipath::Config;

my $ROOT = abs_path("$FindBin::Bin/..");
my $CORPUS = corpus_dir($ROOT);
plan(skip_all => "no real-world corpus at $CORPUS (clone shared/ beside the repository)")
    if !-d $CORPUS;

# Texts every release takes silently and we refuse on purpose (at most two).
my %DELIBERATE = (
    # `features "1 queue_if_no_path"` in defaults: `multipath -t` is silent
    # (it only complains where a device section merges with a built-in one),
    # but multipathd logs a deprecation for every map it sets up, and
    # no_path_retry says the same without it.
    'gh-csm-unity' => qr/'queue_if_no_path' is deprecated/,
);

my %by_release =
    ('0.9.4' => labels($CORPUS, 'LABELS.tsv'), '0.11.1' => labels($CORPUS, 'LABELS-trixie.tsv'));
my @names = sort keys $by_release{'0.9.4'}->%*;
cmp_ok(scalar(@names), '>=', 90, 'the corpus has its texts');
is_deeply([sort keys $by_release{'0.11.1'}->%*], \@names, 'both releases label the same texts',);

my %agree;
for my $release (sort keys %by_release) {
    my $labels = $by_release{$release};
    for my $name (@names) {
        my $label = $labels->{$name};
        my $text = slurp("$CORPUS/$name.conf");
        my $lint = PVE::RS::Multipath::Config::lint_overrides_for($text, [$release], 1);
        my @errors = map { "line $_->{line}: $_->{message}" } $lint->{errors}->@*;
        my $ours = @errors ? 'reject' : 'accept';
        if (my $why = $DELIBERATE{$name}) {
            is($label->{verdict}, 'accept', "$release $name: labelled accept");
            ok((grep { m/$why/ } @errors), "$release $name: deliberately refused")
                or diag(join("\n", @errors));
            next;
        }
        $agree{$release}++ if $ours eq $label->{verdict};
        is($ours, $label->{verdict}, "$release $name: $label->{verdict}ed as labelled")
            or diag(join("\n", "label: $label->{reason}", @errors));
        # Where multipath-tools named lines, we name one of them.
        my @their_lines = $label->{reason} =~ m/\bline (\d+)\b/g;
        if ($ours eq 'reject' && @their_lines) {
            my %ours = map { $_->{line} => 1 } $lint->{errors}->@*;
            ok((grep { $ours{$_} } @their_lines), "$release $name: we name a line it names")
                or diag(join("\n", "label: $label->{reason}", @errors));
        }
    }
}
note("agree: $_ on $agree{$_} texts") for sort keys %agree;

done_testing();
