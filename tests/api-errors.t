#!/usr/bin/perl

# The shape of errors, decided once: the library dies with the hash
# { property => message } for bad parameters and the API hands exactly that
# hash to raise_param_exc (no error text is parsed); every write path refuses
# a stale digest with pve-common's message and changes nothing; booleans are
# written and rendered as 1 and 0. Runs on the stand-ins of tests/lib and,
# under ../shared/tools/real-pve, on the real PVE modules.

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON qw(encode_json);
use Test::More;

use PVE::Multipath::TestEnv;

use PVE::Cluster;
use PVE::Tools qw(file_get_contents file_set_contents);

use PVE::API2::Multipath;
use PVE::Multipath;
use PVE::Multipath::ClusterConfig;
use PVE::Multipath::Config;
use PVE::RS::Multipath::Config;

my $STALE = "detected modified configuration - file changed by other user? Try again.\n";
my $LUN = '3600a098038314b2d4a5d4e6f2f6b4d31';
my $OTHER = '3600a098038314b2d4a5d4e6f2f6b4d32';

my $tmp = tempdir(CLEANUP => 1);
mkdir("$tmp/state");
$PVE::Multipath::STATE_DIR = "$tmp/state";
my $pve = PVE::Multipath::TestEnv::cfs_dir();
PVE::Multipath::TestEnv::set_members({ n1 => { online => 1 } });
file_set_contents("$pve/storage.cfg", "multipath: san\n\tnodes n1\n\n");

my sub api {
    my ($method, $path, $param) = @_;
    return PVE::Multipath::TestEnv::api_call('PVE::API2::Multipath', $method, $path, $param);
}

my $initial =
      "defaults: defaults\n\tno-path-retry queue\n\n"
    . "wwid: $LUN\n\talias lun-a\n\trr-weight uniform\n\n"
    . "wwid: $OTHER\n\n";
my sub reset_files {
    file_set_contents("$pve/multipath.cfg", $initial);
    file_set_contents("$pve/multipath-overrides.conf", "devices {\n}\n");
}
my sub files {
    return [map { file_get_contents("$pve/$_") } qw(multipath.cfg multipath-overrides.conf)];
}

# --- the binding: a hash for bad parameters, text for anything else ---

my $cfg = PVE::Multipath::Config->parse_config('multipath.cfg', $initial);
eval {
    PVE::RS::Multipath::Config::update_section($cfg, 'wwid', $OTHER,
        { alias => 'a b', 'rr-weight' => 'x' });
};
is(ref($@), 'HASH', 'the library dies with a plain hash for bad parameters');
is_deeply(
    $@,
    {
        alias => 'value does not match the regex pattern',
        'rr-weight' => "value 'x' does not have a value in the enumeration 'priorities, uniform'",
    },
    'one message per property'
);
eval {
    PVE::RS::Multipath::Config::update_section($cfg, 'wwid', $OTHER, { alias => 'b' },
        undef, 'f' x 40);
};
is($@, $STALE, 'and with a plain message for anything else');
eval { PVE::RS::Multipath::Config::assert_if_modified('00', $cfg->{digest}) };
is($@, $STALE, "'00' is a digest like any other");
# as PVE::Tools::assert_if_modified: a digest false to Perl, on either side, is none
for my $none (undef, '', '0') {
    eval { PVE::RS::Multipath::Config::assert_if_modified($none, $cfg->{digest}) };
    is($@, '', 'no digest, no check: ' . ($none // 'undef'));
    eval { PVE::RS::Multipath::Config::assert_if_modified($cfg->{digest}, $none) };
    is($@, '', 'no current digest, no check: ' . ($none // 'undef'));
}

# --- every bad parameter the library judges reaches raise_param_exc as its hash ---

my @param_cases = (
    [
        'PUT', 'defaults',
        { 'no-path-retry' => 'fail', delete => 'no-path-retry' },
        { delete => "cannot set and delete 'no-path-retry' at the same time" },
        'set and delete of one key',
    ],
    [
        'PUT', 'defaults',
        { delete => 'type,alias' },
        { delete => "'type' is not a settable option; 'alias' is not a settable option" },
        'keys that cannot be deleted, both named',
    ],
    [
        'POST', 'wwid',
        { wwid => 'defaults' },
        { wwid => "the id 'defaults' is reserved and cannot be a WWID" },
        'the reserved id',
    ],
    [
        'POST', 'wwid',
        { wwid => "3600b\n" },
        { wwid => "invalid WWID '3600b\\n': value does not match the regex pattern" },
        'a WWID with a newline the API schema lets through',
    ],
    [
        'POST', 'wwid',
        { wwid => '3600b', alias => 'lun-a' },
        { alias => "alias 'lun-a' is already used by WWID $LUN" },
        'an alias in use',
    ],
    [
        'POST', 'alias',
        { wwid => $OTHER, alias => $LUN },
        { alias => "alias '$LUN' of WWID $OTHER is the WWID of another allow-listed LUN" },
        'an alias that is another WWID',
    ],
    [
        'POST', 'wwid',
        { wwid => 'lun-a' },
        { wwid => "alias 'lun-a' of WWID $LUN is the WWID of another allow-listed LUN" },
        'a WWID that is the alias of another',
    ],
    [
        'PUT', "wwid/$LUN",
        { 'rr-weight' => 'uniform', delete => 'rr-weight', alias => 'lun-a' },
        { delete => "cannot set and delete 'rr-weight' at the same time" },
        'a PUT of a WWID',
    ],
    [
        'PUT',
        'overrides',
        { text => "multipaths {\n}\n" },
        {
            text => "multipath overrides: line 1: 'multipaths' is managed via aliases, do not"
                . " set it here (use the per-WWID sections of multipath.cfg)",
        },
        'overrides the library refuses: the whole message under text',
    ],
);
for my $case (@param_cases) {
    my ($method, $path, $param, $errors, $what) = $case->@*;
    reset_files();
    eval { api($method, $path, $param) };
    my $err = $@;
    ok(ref($err) && $err->isa('PVE::Exception') && $err->is_param_exc(),
        "$what: a parameter exception")
        or diag("$err");
    is_deeply(ref($err) ? $err->{errors} : undef, $errors, "$what: its errors");
    is_deeply(files(), [$initial, "devices {\n}\n"], "$what: nothing written");
}

# --- a stale digest: pve-common's message on every write path, nothing written ---

my $proposal = encode_json({ wwids => { '3600c' => {} } });
my @write_paths = (
    ['PUT', 'defaults', { 'no-path-retry' => 'fail' }],
    ['POST', 'wwid', { wwid => '3600c' }],
    ['PUT', "wwid/$LUN", { 'rr-weight' => 'priorities' }],
    ['POST', 'alias', { wwid => $OTHER, alias => 'lun-b' }],
    ['DELETE', "alias/$LUN", {}],
    ['DELETE', "wwid/$OTHER", {}],
    ['PUT', 'overrides', { text => "blacklist {\n}\n" }],
    ['POST', 'import', { proposal => $proposal }],
);
for my $case (@write_paths) {
    my ($method, $path, $param) = $case->@*;
    reset_files();
    my $current = $path eq 'overrides' ? api('GET', 'overrides', {}) : api('GET', '', {});
    eval { api($method, $path, { $param->%*, digest => '0' x 40 }) };
    is("$@", $STALE, "$method $path: a stale digest is refused");
    ok(!ref($@) || !$@->isa('PVE::Exception') || !$@->is_param_exc(),
        "$method $path: not as a parameter error");
    is_deeply(files(), [$initial, "devices {\n}\n"], "$method $path: nothing written");
    eval { api($method, $path, { $param->%*, digest => $current->{digest} }) };
    is("$@", '', "$method $path: the current digest is taken");
}

# --- booleans: written and rendered as 1 and 0, the one rule ---

my ($true, $false) = (JSON::true, JSON::false);
my $with_bools = PVE::Multipath::Config::update_section($cfg, 'wwid', $OTHER,
    { 'paths-expected' => $true, 'no-path-retry' => $true });
my @bool_cases = (
    [
        PVE::Multipath::Config->write_config('multipath.cfg', $with_bools),
        qr/^wwid: \Q$OTHER\E\n\tno-path-retry 1\n\tpaths-expected 1\n/m,
        'stored and written as 1',
    ],
    [
        PVE::Multipath::Config::write_config(
            'PVE::Multipath::Config', 'multipath.cfg',
            { ids => { $OTHER => { type => 'wwid', 'rr-min-io-rq' => $true } } },
        ),
        qr/^\trr-min-io-rq 1$/m,
        'a boolean in a config from Perl is written as 1',
    ],
    [
        PVE::Multipath::Config::generate_managed_conf({ 'no-path-retry' => $true }),
        qr/^\tno_path_retry 1$/m,
        'rendered as 1 in the defaults',
    ],
    [
        PVE::Multipath::Config::build_multipaths_block({ $OTHER => { 'no-path-retry' => $true } }),
        qr/^\t\tno_path_retry 1$/m,
        'and in a multipaths entry',
    ],
);
for my $case (@bool_cases) {
    my ($text, $expected, $what) = $case->@*;
    like($text, $expected, $what);
}
eval { PVE::Multipath::Config::generate_managed_conf({ 'polling-interval' => $false }) };
is($@, "polling-interval: value must have a minimum value of 1\n", 'false is 0');

done_testing();
