package PVE::Multipath::TestCorpus;

# The test data several tests read: whole files, TSV tables (fixtures/maps/health.tsv,
# the corpus's SOURCES.tsv) and the real-world corpus of multipath.conf texts with
# the labels the real releases gave them.
#
#   use PVE::Multipath::TestCorpus qw(slurp tsv_rows corpus_dir labels);
#   my $labels = labels(corpus_dir($ROOT), 'LABELS.tsv');   # { name => { verdict, reason } }

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(slurp tsv_rows corpus_dir labels);

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "cannot open '$path': $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);
    return $text;
}

# The rows of a TSV file, comment and blank lines left out, each split at
# tabs into at most $fields fields (all, trailing empty ones dropped, without).
sub tsv_rows {
    my ($path, $fields) = @_;
    return
        map { [split(/\t/, $_, $fields // 0)] } grep { !m/^#/ && m/\S/ } split(/\n/, slurp($path));
}

# The corpus: PVE_MULTIPATH_CORPUS, else shared/corpus/overrides-real beside the checkout.
sub corpus_dir {
    my ($root) = @_;
    return $ENV{PVE_MULTIPATH_CORPUS} // "$root/../shared/corpus/overrides-real";
}

# { name => { verdict, reason } } of a labels file of the corpus (LABELS.tsv by
# 0.9.4, LABELS-trixie.tsv by 0.11.1); dies on a verdict that is neither
# accept nor reject.
sub labels {
    my ($corpus, $file) = @_;
    my %labels;
    for my $row (tsv_rows("$corpus/$file", 3)) {
        my ($name, $verdict, $reason) = $row->@*;
        die "$file: bad verdict '$verdict' for $name\n" if $verdict !~ m/^(?:accept|reject)$/;
        $labels{$name} = { verdict => $verdict, reason => $reason // '' };
    }
    return \%labels;
}

1;
