package PVE::API2::Disks::Multipath;

# /nodes/{node}/disks/multipath: this node's multipath maps with every path,
# their health against the expected path count, and the storage using each.

use strict;
use warnings;

use PVE::JSONSchema qw(get_standard_option);
use PVE::RESTHandler;
use PVE::Storage;

use PVE::API2::Multipath;

use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    name => 'index',
    path => '',
    method => 'GET',
    proxyto => 'node',
    protected => 1,
    description => "List this node's multipath maps and their paths.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => {
        additionalProperties => 0,
        properties => { node => get_standard_option('pve-node') },
    },
    returns => {
        type => 'array',
        items => {
            type => 'object',
            properties => {
                wwid => { type => 'string' },
                name => { type => 'string' },
                health => { type => 'string', enum => ['optimal', 'degraded', 'failed'] },
                'paths-active' => { type => 'integer' },
                'paths-total' => { type => 'integer' },
                'paths-expected' => { type => 'integer', optional => 1 },
                'path-groups' => { type => 'array' },
                'used-by' => { type => 'string', optional => 1 },
            },
        },
    },
    code => sub {
        return [] if !PVE::Multipath::is_running();
        my $cfg = eval { PVE::Multipath::ClusterConfig::read_config() };
        my $maps = PVE::Multipath::get_maps($cfg);
        my $used = PVE::API2::Multipath::consumers(PVE::Storage::config());
        for my $map ($maps->@*) {
            $map->{'used-by'} = $used->{ $map->{wwid} } if defined($used->{ $map->{wwid} // '' });
        }
        return $maps;
    },
});

1;
