package PVE::API2::Disks::Multipath;

# /nodes/{node}/disks/multipath: this node's multipath maps with every path,
# their health against the expected path count, and the storage using each.

use strict;
use warnings;

use PVE::JSONSchema qw(get_standard_option);
use PVE::RESTHandler;
use PVE::Storage;

use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;

use base qw(PVE::RESTHandler);

# { wwid => storage } for the LVM storages on multipath LUNs and the
# multipath storages themselves.
my sub used_by {
    my $ids = PVE::Storage::config()->{ids};
    my $used = {};
    for my $storeid (sort keys $ids->%*) {
        my $scfg = $ids->{$storeid};
        next if $scfg->{type} ne 'lvm' || !defined($scfg->{base});
        my ($base_id, $wwid) = PVE::Storage::parse_volume_id($scfg->{base}, 1);
        next if !defined($wwid) || ($ids->{$base_id}->{type} // '') ne 'multipath';
        $used->{$wwid} = $storeid;
    }
    return $used;
}

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
        my $maps = PVE::Multipath::apply_expected_paths(PVE::Multipath::get_maps(), $cfg);
        my $used = used_by();
        for my $map ($maps->@*) {
            $map->{'used-by'} = $used->{ $map->{wwid} } if defined($used->{ $map->{wwid} // '' });
        }
        return $maps;
    },
});

1;
