package PVE::API2::Disks::Multipath;

# /nodes/{node}/disks/multipath: this node's multipath maps with every path,
# their health against the expected path count, and the storage using each.
# The list is empty for three reasons; `state` tells which (multipath-tools
# not installed, multipathd not running, no maps), so the web UI can say so.

use strict;
use warnings;

use PVE::JSONSchema qw(get_standard_option);
use PVE::RESTHandler;
use PVE::Storage;
use PVE::Storage::MultipathPlugin;

use PVE::API2::Multipath;

use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;
use PVE::Multipath::Import;

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
        my $used = PVE::Storage::MultipathPlugin::consumers(PVE::Storage::config());
        for my $map ($maps->@*) {
            $map->{'used-by'} = $used->{ $map->{wwid} } if defined($used->{ $map->{wwid} // '' });
        }
        return $maps;
    },
});

__PACKAGE__->register_method({
    name => 'state',
    path => 'state',
    method => 'GET',
    proxyto => 'node',
    description => "Whether multipath-tools is installed and multipathd is running on this node.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => {
        additionalProperties => 0,
        properties => { node => get_standard_option('pve-node') },
    },
    returns => {
        type => 'object',
        properties => {
            installed => { type => 'boolean', description => 'multipath and multipathd exist.' },
            running => { type => 'boolean', description => 'multipathd answers.' },
        },
    },
    code => sub {
        return {
            installed => PVE::Multipath::is_supported() ? 1 : 0,
            running => PVE::Multipath::is_running() ? 1 : 0,
        };
    },
});

__PACKAGE__->register_method({
    name => 'import',
    path => 'import',
    method => 'GET',
    proxyto => 'node',
    protected => 1,
    description => "Propose a cluster multipath config from this node's own setup"
        . " (/etc/multipath.conf, conf.d, wwids, bindings, live maps), report what cannot be"
        . " carried over, where the node differs from the cluster config and where its own"
        . " files contradict it.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            node => get_standard_option('pve-node'),
            'use-bindings' => {
                description => "Take the node-local names of /etc/multipath/bindings as"
                    . " aliases where the multipaths section gives none.",
                type => 'boolean',
                optional => 1,
                default => 0,
            },
        },
    },
    returns => {
        type => 'object',
        properties => {
            proposal => { type => 'object' },
            report => { type => 'array', items => { type => 'object' } },
            changes => { type => 'array', items => { type => 'object' } },
            differences => { type => 'array', items => { type => 'object' } },
            conflicts => {
                description => "Where the node's own files contradict the cluster config.",
                type => 'array',
                items => { type => 'string' },
            },
        },
    },
    code => sub {
        my ($param) = @_;
        my $cfg = PVE::Multipath::ClusterConfig::read_config();
        my $overrides = PVE::Multipath::ClusterConfig::read_overrides();
        my $result = PVE::Multipath::Import::propose($param->{'use-bindings'}, $cfg, $overrides);
        $result->{conflicts} = PVE::Multipath::Import::conflicts($cfg);
        return $result;
    },
});

1;
