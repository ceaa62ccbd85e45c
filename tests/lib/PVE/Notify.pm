package PVE::Notify;

# Test stand-in for pve-cluster's PVE::Notify: the same subs and arguments
# (notify($severity, $template_name, $template_data, $fields, $config) and
# its info/notice/warning/error shorthands, common_template_data,
# read_config), but instead of matchers and targets it records what would
# be sent:
#
#   @PVE::Notify::SENT                  { severity, template, data, fields }
#   $ENV{PVE_NOTIFY_STANDIN_LOG}        the same as one JSON line per
#                                       notification (across processes and
#                                       nodes); default: .notifications in
#                                       PVE_CLUSTER_STANDIN_DIR when set
#
# Like the real module (Proxmox::RS::Notify underneath), a severity other
# than info, notice, warning, error or unknown dies, as does template data
# that is not a hash or a field value that is not a plain string; a
# template without its subject and text body files in the template
# directory ($TEMPLATE_DIR, PVE_NOTIFY_STANDIN_TEMPLATES, else pve-manager's
# /usr/share/pve-manager/templates/default where our package installs them,
# else the source tree's templates/) cannot be rendered: warned with the
# real renderer's message, and still recorded.

use strict;
use warnings;

use File::Basename qw(dirname);
use JSON ();

use PVE::Cluster;
use PVE::INotify;

our @SENT;
my $INSTALLED_TEMPLATES = '/usr/share/pve-manager/templates/default';
our $TEMPLATE_DIR = $ENV{PVE_NOTIFY_STANDIN_TEMPLATES}
    // (-d $INSTALLED_TEMPLATES ? $INSTALLED_TEMPLATES : dirname(__FILE__) . '/../../../templates');

my $SEVERITIES = { map { $_ => 1 } qw(info notice warning error unknown) };

my sub check_notification {
    my ($severity, $template_name, $template_data, $fields) = @_;
    die "invalid severity '" . ($severity // '') . "'\n"
        if !defined($severity) || !$SEVERITIES->{$severity};
    die "template name missing\n" if !defined($template_name) || ref($template_name);
    die "template data must be a hash\n" if ref($template_data) ne 'HASH';
    for my $key (sort keys(($fields // {})->%*)) {
        my $value = $fields->{$key};
        die "metadata field '$key' must be a string\n" if !defined($value) || ref($value);
    }
    my @missing = grep { !-f "$TEMPLATE_DIR/$template_name-$_" } qw(subject.txt.hbs body.txt.hbs);
    warn "failed to render notification template, all template candidates are erroneous"
        . " or missing\n"
        if @missing;
    return;
}

package PVE::Notify::Config {

    sub send {
        my ($self, $severity, $template_name, $template_data, $fields) = @_;
        check_notification($severity, $template_name, $template_data, $fields);
        my $record = {
            severity => $severity,
            template => $template_name,
            data => $template_data,
            fields => $fields // {},
        };
        push @PVE::Notify::SENT, $record;
        my $log = $ENV{PVE_NOTIFY_STANDIN_LOG};
        $log //= "$ENV{PVE_CLUSTER_STANDIN_DIR}/.notifications"
            if defined($ENV{PVE_CLUSTER_STANDIN_DIR});
        if ($log) {
            open(my $fh, '>>', $log) or die "cannot open '$log': $!\n";
            print $fh JSON->new->canonical->encode($record), "\n";
            close($fh) or die "cannot write '$log': $!\n";
        }
        return;
    }
}

sub read_config {
    return bless {}, 'PVE::Notify::Config';
}

sub notify {
    my ($severity, $template_name, $template_data, $fields, $config) = @_;
    $config = read_config() if !defined($config);
    $config->send($severity, $template_name, $template_data, $fields);
}

sub info { notify('info', @_) }
sub notice { notify('notice', @_) }
sub warning { notify('warning', @_) }
sub error { notify('error', @_) }

sub common_template_data {
    my $hostname = PVE::INotify::nodename();
    my $data = { hostname => $hostname, fqdn => $hostname };
    my $clinfo = PVE::Cluster->can('get_clinfo') ? PVE::Cluster::get_clinfo() : undef;
    $data->{'cluster-name'} = $clinfo->{cluster}->{name} if $clinfo && $clinfo->{cluster};
    return $data;
}

1;
