package PVE::API2::Multipath;

# /cluster/multipath: the cluster-wide multipath configuration (defaults,
# the allow-listed WWIDs with their alias and knobs, the admin's overrides)
# and the cluster health matrix. Every write is digest-guarded and runs
# under the file's cluster lock; the knob parameters come from the schema
# in the Rust library.

use strict;
use warnings;

use JSON;

use PVE::Cluster;
use PVE::Exception qw(raise raise_param_exc);
use PVE::INotify;
use PVE::JSONSchema qw(get_standard_option);
use PVE::RESTHandler;
use PVE::Storage;
use PVE::Storage::MultipathPlugin;
use PVE::Tools qw(extract_param);

use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;
use PVE::RS::Multipath::Status;

use base qw(PVE::RESTHandler);

my $WWID_PARAM = PVE::Multipath::Config::wwid_schema("The LUN's WWID, as multipath reports it.");

my $DELETE_PARAM = {
    description => "A list of settings you want to delete.",
    type => 'string',
    format => 'pve-configid-list',
    maxLength => 4096,
    optional => 1,
};

my sub digest_param { return get_standard_option('pve-config-digest') }

my sub flag_param {
    my ($description, $default) = @_;
    return { description => $description, type => 'boolean', optional => 1, default => $default };
}

my sub storage_nodes {
    my ($scfg, $all_nodes) = @_;
    return [] if $scfg->{disable};
    return $all_nodes if !$scfg->{nodes};
    return [grep { $scfg->{nodes}->{$_} } $all_nodes->@*];
}

# Where each LUN should be assembled: the nodes of the LVM storage consuming
# it, intersected with those of its multipath storage. LUNs nobody consumes
# are expected wherever a multipath storage is enabled.
my sub expected_nodes {
    my ($storage_cfg, $all_nodes) = @_;
    my $ids = $storage_cfg->{ids};
    my ($by_lun, %anywhere) = ({});
    for my $storeid (sort keys $ids->%*) {
        my $scfg = $ids->{$storeid};
        if ($scfg->{type} eq 'multipath') {
            $anywhere{$_} = 1 for storage_nodes($scfg, $all_nodes)->@*;
        }
        next if $scfg->{type} ne 'lvm' || !defined($scfg->{base});
        my ($base_id, $wwid) = PVE::Storage::parse_volume_id($scfg->{base}, 1);
        my $base = defined($wwid) ? $ids->{$base_id} : undef;
        next if !$base || $base->{type} ne 'multipath';
        my %on_base = map { $_ => 1 } storage_nodes($base, $all_nodes)->@*;
        $by_lun->{$wwid} = [grep { $on_base{$_} } storage_nodes($scfg, $all_nodes)->@*];
    }
    return ($by_lun, %anywhere ? [sort keys %anywhere] : undef);
}

# Each node's broadcast: one KV value, or all parts of a large summary (the
# library says which further keys a node's first value calls for).
my sub node_broadcasts {
    my $kv = PVE::Cluster::get_node_kv(PVE::RS::Multipath::Status::broadcast_key());
    my $further = PVE::RS::Multipath::Status::parts_to_fetch($kv);
    for my $node (keys $further->%*) {
        $kv->{$node} = [
            $kv->{$node},
            map { PVE::Cluster::get_node_kv($_, $node)->{$node} // '' } $further->{$node}->@*,
        ];
    }
    return $kv;
}

# Change the cluster config under its lock: $change gets the config as it is
# now, once the client's $digest (if any) matches it, and returns the config
# to write.
my sub edit_config {
    my ($digest, $change) = @_;
    PVE::Multipath::ClusterConfig::lock_config(sub {
        my $cfg = PVE::Multipath::ClusterConfig::read_config();
        PVE::Multipath::Config::assert_if_modified($digest, $cfg->{digest});
        PVE::Multipath::ClusterConfig::write_config($change->($cfg));
    });
    return;
}

my sub wwid_section {
    my ($cfg, $wwid) = @_;
    my $section = $cfg->{ids}->{$wwid};
    raise("no such WWID '$wwid'\n", code => 404)
        if !$section || $section->{type} ne 'wwid';
    return $section;
}

# Run an update of one section under the config lock and write the result.
my sub update_locked {
    my ($type, $id, $param, %opts) = @_;
    my $digest = extract_param($param, 'digest');
    my $delete = extract_param($param, 'delete');
    edit_config(
        $digest,
        sub {
            my ($cfg) = @_;
            $opts{check}->($cfg) if $opts{check};
            return PVE::Multipath::Config::update_section($cfg, $type, $id, $param, $delete,
                $digest);
        },
    );
    return undef;
}

# PUT wwid/{wwid}, POST alias and DELETE alias: change a WWID that must
# already exist.
my sub update_existing_wwid {
    my ($param) = @_;
    my $wwid = extract_param($param, 'wwid');
    return update_locked('wwid', $wwid, $param, check => sub { wwid_section($_[0], $wwid) });
}

my sub section_knobs {
    my ($section) = @_;
    return { map { $_ => $section->{$_} } grep { $_ ne 'type' } keys $section->%* };
}

__PACKAGE__->register_method({
    name => 'index',
    path => '',
    method => 'GET',
    description => "The cluster-wide multipath configuration.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => { additionalProperties => 0, properties => {} },
    returns => {
        type => 'object',
        properties => {
            digest => { type => 'string' },
            defaults => { type => 'object', description => 'The defaults section as set.' },
            effective => { type => 'object', description => 'The defaults in effect.' },
            wwids => { type => 'array', items => { type => 'object' } },
        },
    },
    code => sub {
        my $cfg = PVE::Multipath::ClusterConfig::read_config();
        my $opts = PVE::Multipath::Config::wwid_opts($cfg);
        return {
            digest => $cfg->{digest},
            defaults => section_knobs($cfg->{ids}->{defaults} // {}),
            effective => PVE::Multipath::Config::effective_defaults($cfg),
            wwids => [map { { wwid => $_, $opts->{$_}->%* } } sort keys $opts->%*],
        };
    },
});

__PACKAGE__->register_method({
    name => 'knobs',
    path => 'knobs',
    method => 'GET',
    description => "The settable options of the defaults and of a WWID, as the JSONSchema"
        . " properties the write methods take; the web UI builds its editors from them.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => { additionalProperties => 0, properties => {} },
    returns => {
        type => 'object',
        properties => {
            defaults => { type => 'object', description => 'Properties of PUT defaults.' },
            wwid => { type => 'object', description => 'Properties of POST/PUT wwid.' },
        },
    },
    code => sub {
        return {
            defaults => PVE::Multipath::Config::defaults_api_schema(),
            wwid => PVE::Multipath::Config::wwid_api_schema(),
        };
    },
});

__PACKAGE__->register_method({
    name => 'set_defaults',
    path => 'defaults',
    method => 'PUT',
    protected => 1,
    description => "Set the cluster-wide multipathd defaults.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            PVE::Multipath::Config::defaults_api_schema()->%*,
            delete => $DELETE_PARAM,
            digest => digest_param(),
        },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;
        return update_locked('defaults', 'defaults', $param);
    },
});

__PACKAGE__->register_method({
    name => 'wwid_index',
    path => 'wwid',
    method => 'GET',
    description => "The allow-listed WWIDs with their per-LUN options.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => { additionalProperties => 0, properties => {} },
    returns => {
        type => 'array',
        items => {
            type => 'object',
            properties => {
                wwid => { type => 'string' },
                'used-by' => { type => 'string', optional => 1 },
            },
        },
        links => [{ rel => 'child', href => '{wwid}' }],
    },
    code => sub {
        my $cfg = PVE::Multipath::ClusterConfig::read_config();
        my $opts = PVE::Multipath::Config::wwid_opts($cfg);
        my $consumers = PVE::Storage::MultipathPlugin::consumers(PVE::Storage::config());
        return [
            map { {
                wwid => $_,
                $opts->{$_}->%*,
                defined($consumers->{$_}) ? ('used-by' => $consumers->{$_}) : (),
            } } sort keys $opts->%*
        ];
    },
});

__PACKAGE__->register_method({
    name => 'add_wwid',
    path => 'wwid',
    method => 'POST',
    protected => 1,
    description => "Allow-list a LUN on every node, optionally with an alias and options.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            wwid => $WWID_PARAM,
            PVE::Multipath::Config::wwid_api_schema()->%*,
            digest => digest_param(),
        },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;
        my $wwid = extract_param($param, 'wwid');
        return update_locked(
            'wwid', $wwid, $param,
            check => sub {
                my ($cfg) = @_;
                my $section = $cfg->{ids}->{$wwid};
                die "WWID '$wwid' is already allow-listed\n"
                    if $section && $section->{type} eq 'wwid';
            },
        );
    },
});

__PACKAGE__->register_method({
    name => 'read_wwid',
    path => 'wwid/{wwid}',
    method => 'GET',
    description => "The options of one allow-listed LUN.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => {
        additionalProperties => 0,
        properties => { wwid => $WWID_PARAM },
    },
    returns => { type => 'object' },
    code => sub {
        my ($param) = @_;
        my $cfg = PVE::Multipath::ClusterConfig::read_config();
        my $section = wwid_section($cfg, $param->{wwid});
        return { section_knobs($section)->%*, wwid => $param->{wwid}, digest => $cfg->{digest} };
    },
});

__PACKAGE__->register_method({
    name => 'update_wwid',
    path => 'wwid/{wwid}',
    method => 'PUT',
    protected => 1,
    description => "Change the alias or options of an allow-listed LUN.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            wwid => $WWID_PARAM,
            PVE::Multipath::Config::wwid_api_schema()->%*,
            delete => $DELETE_PARAM,
            digest => digest_param(),
        },
    },
    returns => { type => 'null' },
    code => \&update_existing_wwid,
});

__PACKAGE__->register_method({
    name => 'remove_wwid',
    path => 'wwid/{wwid}',
    method => 'DELETE',
    protected => 1,
    description => "Remove a LUN from the allow-list. Each node removes it from its wwids file"
        . " only where it added it and the map is not in use.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            wwid => $WWID_PARAM,
            force => flag_param("Remove it even though a storage is configured on it.", 0),
            digest => digest_param(),
        },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;
        my $wwid = $param->{wwid};
        edit_config(
            $param->{digest},
            sub {
                my ($cfg) = @_;
                wwid_section($cfg, $wwid);
                my $consumers = PVE::Storage::MultipathPlugin::consumers(PVE::Storage::config());
                my $storeid = $consumers->{$wwid};
                die "WWID '$wwid' is the base of storage '$storeid' - use 'force' to remove it"
                    . " anyway\n"
                    if defined($storeid) && !$param->{force};
                return PVE::Multipath::Config::remove_section($cfg, $wwid, $param->{digest});
            },
        );
        return undef;
    },
});

__PACKAGE__->register_method({
    name => 'set_alias',
    path => 'alias',
    method => 'POST',
    protected => 1,
    description => "Set the alias (the map name on every node) of an allow-listed LUN.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            wwid => $WWID_PARAM,
            alias => { PVE::Multipath::Config::wwid_api_schema()->{alias}->%*, optional => 0 },
            digest => digest_param(),
        },
    },
    returns => { type => 'null' },
    code => \&update_existing_wwid,
});

__PACKAGE__->register_method({
    name => 'remove_alias',
    path => 'alias/{wwid}',
    method => 'DELETE',
    protected => 1,
    description => "Remove the alias of an allow-listed LUN; its map is named by the WWID again.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => { wwid => $WWID_PARAM, digest => digest_param() },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;
        return update_existing_wwid({ $param->%*, delete => 'alias' });
    },
});

__PACKAGE__->register_method({
    name => 'read_overrides',
    path => 'overrides',
    method => 'GET',
    description => "The admin's free-form multipath.conf sections (devices, overrides, blacklist).",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => { additionalProperties => 0, properties => {} },
    returns => {
        type => 'object',
        properties => { text => { type => 'string' }, digest => { type => 'string' } },
    },
    code => sub {
        my $text = PVE::Multipath::ClusterConfig::read_overrides() // '';
        return { text => $text, digest => PVE::Multipath::ClusterConfig::overrides_digest($text) };
    },
});

__PACKAGE__->register_method({
    name => 'set_overrides',
    path => 'overrides',
    method => 'PUT',
    protected => 1,
    description => "Replace the override sections; they are checked against the multipath.conf"
        . " grammar and keyword tables of every multipath-tools version the nodes run first.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            text => { type => 'string', maxLength => 512 * 1024, description => 'The new text.' },
            digest => digest_param(),
        },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;
        # { node => version }: the `multipath-tools` of the status matrix's node
        # rows. Without them every known release is checked, the strictest choice.
        my $versions = eval { PVE::RS::Multipath::Status::tools_versions(status_options()) } // {};
        eval { PVE::Multipath::Config::check_overrides_in_cluster($param->{text}, $versions) };
        raise_param_exc({ text => $@ =~ s/\n$//r }) if $@;
        PVE::Multipath::ClusterConfig::lock_overrides(sub {
            my $current = PVE::Multipath::ClusterConfig::read_overrides() // '';
            PVE::Multipath::Config::assert_if_modified($param->{digest},
                PVE::Multipath::ClusterConfig::overrides_digest($current));
            PVE::Multipath::ClusterConfig::write_overrides($param->{text}, $versions);
        });
        return undef;
    },
});

__PACKAGE__->register_method({
    name => 'import',
    path => 'import',
    method => 'POST',
    protected => 1,
    description => "Apply a node's import proposal (see GET /nodes/{node}/disks/multipath/import),"
        . " or the chosen parts of it, to the cluster config and the overrides.",
    permissions => { check => ['perm', '/', ['Sys.Modify']] },
    parameters => {
        additionalProperties => 0,
        properties => {
            proposal => {
                description => "The proposal, as JSON.",
                type => 'string',
                maxLength => 1024 * 1024,
            },
            wwids => {
                description => "Import only these WWIDs (default: all of the proposal).",
                type => 'string',
                pattern => '[a-zA-Z0-9._:,; -]*',
                maxLength => 64 * 1024,
                optional => 1,
            },
            defaults => flag_param("Import the default settings.", 1),
            overrides => flag_param("Import the overrides text.", 1),
            overwrite => flag_param("Replace existing entries that differ instead of refusing.", 0),
            digest => digest_param(),
        },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;
        my $proposal = eval { JSON::decode_json($param->{proposal}) };
        raise_param_exc({ proposal => "invalid JSON - $@" =~ s/\n$//r }) if $@;
        raise_param_exc({ proposal => "expected an object" }) if ref($proposal) ne 'HASH';
        my $parts = {
            defaults => $param->{defaults} // 1,
            overrides => $param->{overrides} // 1,
            defined($param->{wwids})
            ? (wwids => [grep { length } split(/[\s,;]+/, $param->{wwids})])
            : (),
        };
        edit_config(
            $param->{digest},
            sub {
                my ($cfg) = @_;
                return PVE::Multipath::ClusterConfig::lock_overrides(sub {
                    my $current = PVE::Multipath::ClusterConfig::read_overrides() // '';
                    my $merged = PVE::Multipath::Config::import_apply($cfg, $current, $proposal,
                        $parts, $param->{overwrite}, $param->{digest});
                    # Checked for every known release before anything is written; the
                    # overrides go first, the config last, as edit_config writes it.
                    PVE::Multipath::Config::check_overrides_in_cluster($merged->{overrides}, {});
                    PVE::Multipath::ClusterConfig::write_overrides($merged->{overrides}, {})
                        if $merged->{overrides} ne
                        PVE::Multipath::Config::write_overrides(undef, $current);
                    return $merged->{config};
                });
            },
        );
        return undef;
    },
});

__PACKAGE__->register_method({
    name => 'status',
    path => 'status',
    method => 'GET',
    description => "Cluster-wide multipath health: per LUN and node, and per node whether it"
        . " reports, how recently, and its last config-apply error.",
    permissions => { check => ['perm', '/', ['Sys.Audit']] },
    parameters => { additionalProperties => 0, properties => {} },
    returns => {
        type => 'object',
        properties => {
            luns => { type => 'array', items => { type => 'object' } },
            nodes => { type => 'object' },
        },
    },
    code => sub {
        return cluster_status();
    },
});

# What the matrix of GET status is aggregated from: the facts only this node can
# gather. The notifications are decided from the same, in one crossing.
sub status_options {
    my ($cfg, $now) = @_;
    $cfg //= PVE::Multipath::ClusterConfig::read_config();
    my $storage_cfg = PVE::Storage::config();
    my $members = PVE::Cluster::get_members();
    # a node without a cluster: pmxcfs knows no node list, the node itself is online
    my $nodename = PVE::INotify::nodename();
    $members = { $nodename => { online => 1 } } if !$members || !$members->{$nodename};
    my $all_nodes = [sort keys $members->%*];
    my ($by_lun, $anywhere) = expected_nodes($storage_cfg, $all_nodes);

    return {
        config => $cfg,
        used_by => PVE::Storage::MultipathPlugin::consumers($storage_cfg),
        kv => node_broadcasts(),
        conflicts => PVE::Cluster::get_node_kv(PVE::RS::Multipath::Status::conflicts_key()),
        online => { map { $_ => ($members->{$_}->{online} ? 1 : 0) } $all_nodes->@* },
        expected_by_lun => $by_lun,
        defined($anywhere) ? (expected_nodes => $anywhere) : (),
        now => $now // time(),
        interval => $PVE::Multipath::BROADCAST_INTERVAL,
    };
}

# The matrix of GET status.
sub cluster_status {
    my ($cfg, $now) = @_;
    return PVE::Multipath::aggregate_status(status_options($cfg, $now));
}

1;
