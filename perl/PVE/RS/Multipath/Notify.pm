package PVE::RS::Multipath::Notify;

use strict;
use warnings;

use PVE::RS::Multipath;

PVE::RS::Multipath::bootstrap_package(__PACKAGE__);

1;
