# Test-only exports, present in a library built with --features selftest.
package PVE::RS::Multipath::Selftest;

use strict;
use warnings;

use PVE::RS::Multipath;

PVE::RS::Multipath::bootstrap_package(__PACKAGE__);

1;
