package PVE::RS::Multipath;

# Loader of the Rust library (libpve_rs_multipath.so) and its root package.
#
# The library is loaded once per process; each PVE::RS::Multipath::* package
# then registers its functions through its boot symbol. Tests point
# PVE_MULTIPATH_LIB at a build-tree library; otherwise the installed one is
# found as auto/libpve_rs_multipath.so in @INC (perl's vendorarch).

use strict;
use warnings;

use DynaLoader;

my $LIBRARY_NAME = 'libpve_rs_multipath.so';
my $library_handle;

sub library_path {
    return $ENV{PVE_MULTIPATH_LIB} if defined($ENV{PVE_MULTIPATH_LIB});
    for my $dir (@INC) {
        next if ref($dir);
        my $path = "$dir/auto/$LIBRARY_NAME";
        return $path if -f $path;
    }
    die "$LIBRARY_NAME not found in \@INC and PVE_MULTIPATH_LIB is not set\n";
}

my sub load_library {
    return $library_handle if defined($library_handle);
    my $path = library_path();
    $library_handle = DynaLoader::dl_load_file($path, 0)
        or die "failed to load $path: " . DynaLoader::dl_error() . "\n";
    return $library_handle;
}

# Register the Rust functions of $package (called by each package's .pm).
sub bootstrap_package {
    my ($package) = @_;

    my $handle = load_library();
    (my $symbol_name = "boot_$package") =~ s/::/__/g;
    my $symbol = DynaLoader::dl_find_symbol($handle, $symbol_name)
        or die "$symbol_name not found in " . library_path() . "\n";
    my $boot = DynaLoader::dl_install_xsub("${package}::bootstrap", $symbol);
    $boot->($package);
    return;
}

bootstrap_package(__PACKAGE__);

1;
