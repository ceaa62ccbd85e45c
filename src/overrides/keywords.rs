//! The keyword tables of the multipath-tools releases we know (0.9.4 of
//! Debian bookworm, 0.11.1 of Debian trixie), section by section, from one
//! source.
//!
//! ```text
//! devices {                      # Section::Devices
//!     device {                   # Section::Device
//!         vendor "PURE"          # Kind::Str
//!         no_path_retry 30       # Kind::NoPathRetry
//!         detect_pgpolicy yes    # FACTS: added in 0.9.6, so 0.9.4 refuses it
//!     }
//! }
//! ```
//!
//! The section tables hold every keyword any known release takes, with the
//! value kind of the handler it is installed with in `init_keywords()`
//! (libmultipath/dict.c). What differs between releases is listed once, in
//! [`FACTS`]: a keyword or value added, deprecated or silently ignored by a
//! release. Values a release crashes or hangs on are in [`CRASHES`]; those
//! are refused whatever releases a cluster runs. Keywords of releases after
//! the newest known one are in [`NEWER`], so that a refusal can name the
//! release that added them.

/// A multipath-tools release whose parser the tables describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    /// Debian bookworm (Proxmox VE 8).
    V0_9_4,
    /// Debian trixie (Proxmox VE 9).
    V0_11_1,
}

impl Release {
    /// Every known release, oldest first.
    pub const ALL: [Release; 2] = [Release::V0_9_4, Release::V0_11_1];

    pub fn name(self) -> &'static str {
        match self {
            Release::V0_9_4 => "0.9.4",
            Release::V0_11_1 => "0.11.1",
        }
    }

    /// The known release a version string names: `0.11.1`, `v0.11.1` or a
    /// Debian version such as `0.9.4-3+deb12u2`; `None` for any other.
    pub fn parse(version: &str) -> Option<Release> {
        let version = version.trim();
        let version = version.strip_prefix('v').unwrap_or(version);
        let upstream = version
            .split_once('-')
            .map_or(version, |(upstream, _)| upstream);
        Release::ALL
            .into_iter()
            .find(|release| release.name() == upstream)
    }
}

/// A block of multipath.conf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Root,
    Defaults,
    Blacklist,
    BlacklistExceptions,
    /// `device { vendor product }` inside a blacklist or its exceptions.
    BlacklistDevice,
    Devices,
    Device,
    Overrides,
    /// `protocol { type ... }` inside `overrides`.
    Protocol,
    Multipaths,
    Multipath,
}

impl Section {
    /// The keyword that opens the section.
    pub fn name(self) -> &'static str {
        match self {
            Section::Root => "top level",
            Section::Defaults => "defaults",
            Section::Blacklist => "blacklist",
            Section::BlacklistExceptions => "blacklist_exceptions",
            Section::BlacklistDevice | Section::Device => "device",
            Section::Devices => "devices",
            Section::Overrides => "overrides",
            Section::Protocol => "protocol",
            Section::Multipaths => "multipaths",
            Section::Multipath => "multipath",
        }
    }

    /// The subsection a keyword opens here, if it opens one.
    pub fn subsection(self, keyword: &str) -> Option<Section> {
        Some(match (self, keyword) {
            (Section::Root, "defaults") => Section::Defaults,
            (Section::Root, "blacklist") => Section::Blacklist,
            (Section::Root, "blacklist_exceptions") => Section::BlacklistExceptions,
            (Section::Root, "devices") => Section::Devices,
            (Section::Root, "overrides") => Section::Overrides,
            (Section::Root, "multipaths") => Section::Multipaths,
            (Section::Blacklist | Section::BlacklistExceptions, "device") => {
                Section::BlacklistDevice
            }
            (Section::Devices, "device") => Section::Device,
            (Section::Overrides, "protocol") => Section::Protocol,
            (Section::Multipaths, "multipath") => Section::Multipath,
            _ => return None,
        })
    }

    /// Whether a keyword may appear more than once in one block; all others
    /// draw a "duplicate keyword" complaint from multipath-tools.
    pub fn is_multi(self, keyword: &str) -> bool {
        match self {
            Section::Blacklist | Section::BlacklistExceptions => {
                matches!(
                    keyword,
                    "devnode" | "wwid" | "property" | "protocol" | "device"
                )
            }
            Section::Devices => keyword == "device",
            Section::Overrides => keyword == "protocol",
            Section::Multipaths => keyword == "multipath",
            _ => false,
        }
    }

    /// The value keywords of the section, with their value kinds.
    pub fn keywords(self) -> &'static [(&'static str, Kind)] {
        match self {
            Section::Root => &[],
            Section::Defaults => DEFAULTS,
            Section::Blacklist | Section::BlacklistExceptions => BLACKLIST,
            Section::BlacklistDevice => BLACKLIST_DEVICE,
            Section::Devices => &[],
            Section::Device => DEVICE,
            Section::Overrides => OVERRIDES,
            Section::Protocol => PROTOCOL,
            Section::Multipaths => &[],
            Section::Multipath => MULTIPATH,
        }
    }

    /// The kind of a value keyword here; `None` for an unknown keyword.
    pub fn kind(self, keyword: &str) -> Option<Kind> {
        self.keywords()
            .iter()
            .find(|(name, _)| *name == keyword)
            .map(|(_, kind)| *kind)
    }

    /// Every section, for listing the tables.
    pub const ALL: [Section; 11] = [
        Section::Root,
        Section::Defaults,
        Section::Blacklist,
        Section::BlacklistExceptions,
        Section::BlacklistDevice,
        Section::Devices,
        Section::Device,
        Section::Overrides,
        Section::Protocol,
        Section::Multipaths,
        Section::Multipath,
    ];
}

/// How a value is checked, after the handler dict.c installs for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any string, even empty.
    Str,
    /// A string without `/` (an alias or prefix; a `/` is refused).
    NoSlash,
    /// An absolute path.
    Path,
    /// `yes`, `no`, `1` or `0`.
    YesNo,
    /// A decimal integer in the range; out of range is capped with a
    /// complaint.
    Int(i64, i64),
    /// An unsigned decimal integer below 2^32.
    UInt,
    /// `off`, `0` or an integer from 1 to 5 (`max_retries`).
    MaxRetries,
    /// One of the words.
    Enum(&'static [&'static str]),
    /// A word starting with one of these (0.9.4 compares prefixes only).
    Prefix(&'static [&'static str]),
    /// `"N arg1 .. argN"`: the word at this index counts the words after
    /// it (`features`, `hardware_handler`: 0; `path_selector`: 1).
    ArgCount(usize),
    /// `manual`, `immediate`, `followover` or an integer >= 0.
    Failback,
    /// `fail`, `0`, `queue` or an integer >= 1.
    NoPathRetry,
    /// `off`, `0` or an integer >= 1 (`fast_io_fail_tmo`, `eh_deadline`).
    OffZeroInt,
    /// `no`, `0` or an integer >= 1 (`delay_watch_checks` and friends).
    NoInt,
    /// `infinity` or something starting like an unsigned integer.
    DevLoss,
    /// `max` or an integer >= 0.
    MaxFds,
    /// An octal file mode up to 0777.
    Mode,
    /// A user name or number; names cannot be checked here.
    Owner,
    /// A group number: multipath-tools looks a name up as a user name.
    Gid,
    /// A POSIX extended regular expression (blacklist entries).
    Regex,
    /// `file`, or a persistent reservation key: up to 16 hex digits after
    /// an optional `0x`, optionally followed by `:aptpl`.
    PrKey,
    /// Words of the form `prefix:attribute` (`uid_attrs`).
    UidAttrs,
}

impl Kind {
    /// A short name of the kind: `str`, `yes-no`, `int:MIN:MAX`,
    /// `enum:a|b`, `prefix:a|b`, `arg-count:I`, or the kind's name in
    /// kebab-case.
    pub fn describe(self) -> String {
        match self {
            Kind::Str => "str".into(),
            Kind::NoSlash => "no-slash".into(),
            Kind::Path => "path".into(),
            Kind::YesNo => "yes-no".into(),
            Kind::Int(min, max) => format!("int:{min}:{max}"),
            Kind::UInt => "uint".into(),
            Kind::MaxRetries => "max-retries".into(),
            Kind::Enum(words) => format!("enum:{}", words.join("|")),
            Kind::Prefix(words) => format!("prefix:{}", words.join("|")),
            Kind::ArgCount(index) => format!("arg-count:{index}"),
            Kind::Failback => "failback".into(),
            Kind::NoPathRetry => "no-path-retry".into(),
            Kind::OffZeroInt => "off-zero-int".into(),
            Kind::NoInt => "no-int".into(),
            Kind::DevLoss => "dev-loss".into(),
            Kind::MaxFds => "max-fds".into(),
            Kind::Mode => "mode".into(),
            Kind::Owner => "owner".into(),
            Kind::Gid => "gid".into(),
            Kind::Regex => "regex".into(),
            Kind::PrKey => "prkey".into(),
            Kind::UidAttrs => "uid-attrs".into(),
        }
    }
}

const YES_NO_WORDS: &[&str] = &["yes", "no", "1", "0"];
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;

/// `path_grouping_policy` values; multipath-tools matches them as
/// prefixes. `group_by_tpg` came with 0.9.6 ([`FACTS`]).
pub const PGPOLICIES: &[&str] = &[
    "failover",
    "multibus",
    "group_by_serial",
    "group_by_prio",
    "group_by_node_name",
    "group_by_tpg",
];

/// `flush_on_last_del`: 0.9.4 takes yes/no, 0.11.1 the words of 0.9.9 and
/// the old ones with a "deprecated value" complaint ([`FACTS`]).
const FLUSH_ON_LAST_DEL: Kind = Kind::Enum(&["yes", "no", "1", "0", "always", "never", "unused"]);

/// `type` values of an overrides `protocol` subsection (0.9.4's
/// `protocol_name` table).
pub const PROTOCOLS: &[&str] = &[
    "undef",
    "ccw",
    "cciss",
    "scsi:fcp",
    "scsi:spi",
    "scsi:ssa",
    "scsi:sbp",
    "scsi:srp",
    "scsi:iscsi",
    "scsi:sas",
    "scsi:adt",
    "scsi:ata",
    "scsi:usb",
    "scsi:unspec",
    "nvme:pcie",
    "nvme:rdma",
    "nvme:fc",
    "nvme:tcp",
    "nvme:loop",
    "nvme:apple-nvme",
    "nvme:unspec",
];

const RR_WEIGHT: Kind = Kind::Enum(&["priorities", "uniform"]);
const PGPOLICY: Kind = Kind::Prefix(PGPOLICIES);
const YES_NO: Kind = Kind::Enum(YES_NO_WORDS);
const NON_NEG: Kind = Kind::Int(0, INT_MAX);

const DEFAULTS: &[(&str, Kind)] = &[
    ("verbosity", Kind::Int(0, 4)),
    ("polling_interval", Kind::UInt),
    ("max_polling_interval", Kind::UInt),
    ("reassign_maps", YES_NO),
    ("multipath_dir", Kind::Str),
    ("path_selector", Kind::ArgCount(1)),
    ("path_grouping_policy", PGPOLICY),
    ("uid_attrs", Kind::UidAttrs),
    ("uid_attribute", Kind::Str),
    ("getuid_callout", Kind::Str),
    ("prio", Kind::Str),
    ("prio_args", Kind::Str),
    ("features", Kind::ArgCount(0)),
    ("path_checker", Kind::Str),
    ("checker", Kind::Str),
    ("alias_prefix", Kind::NoSlash),
    ("failback", Kind::Failback),
    ("rr_min_io", NON_NEG),
    ("rr_min_io_rq", NON_NEG),
    ("max_fds", Kind::MaxFds),
    ("rr_weight", RR_WEIGHT),
    ("no_path_retry", Kind::NoPathRetry),
    ("queue_without_daemon", YES_NO),
    ("checker_timeout", NON_NEG),
    ("allow_usb_devices", YES_NO),
    ("pg_timeout", Kind::Str),
    ("flush_on_last_del", FLUSH_ON_LAST_DEL),
    ("user_friendly_names", YES_NO),
    ("mode", Kind::Mode),
    ("uid", Kind::Owner),
    ("gid", Kind::Gid),
    ("fast_io_fail_tmo", Kind::OffZeroInt),
    ("dev_loss_tmo", Kind::DevLoss),
    ("eh_deadline", Kind::OffZeroInt),
    ("max_retries", Kind::MaxRetries),
    ("bindings_file", Kind::Path),
    ("wwids_file", Kind::Path),
    ("prkeys_file", Kind::Path),
    ("log_checker_err", Kind::Enum(&["once", "always"])),
    ("reservation_key", Kind::PrKey),
    ("all_tg_pt", YES_NO),
    ("retain_attached_hw_handler", YES_NO),
    ("detect_prio", YES_NO),
    ("detect_checker", YES_NO),
    ("detect_pgpolicy", YES_NO),
    ("detect_pgpolicy_use_tpg", YES_NO),
    ("force_sync", YES_NO),
    ("strict_timing", YES_NO),
    ("deferred_remove", YES_NO),
    ("partition_delimiter", Kind::NoSlash),
    ("config_dir", Kind::Str),
    ("delay_watch_checks", Kind::NoInt),
    ("delay_wait_checks", Kind::NoInt),
    ("san_path_err_threshold", Kind::NoInt),
    ("san_path_err_forget_rate", Kind::NoInt),
    ("san_path_err_recovery_time", Kind::NoInt),
    ("marginal_path_err_sample_time", Kind::NoInt),
    ("marginal_path_err_rate_threshold", Kind::NoInt),
    ("marginal_path_err_recheck_gap_time", Kind::NoInt),
    ("marginal_path_double_failed_time", Kind::NoInt),
    (
        "find_multipaths",
        Kind::Enum(&[
            "off", "on", "strict", "greedy", "smart", "no", "0", "yes", "1",
        ]),
    ),
    ("uxsock_timeout", Kind::Int(4000, INT_MAX)),
    ("retrigger_tries", NON_NEG),
    ("retrigger_delay", NON_NEG),
    ("missing_uev_wait_timeout", NON_NEG),
    ("skip_kpartx", YES_NO),
    ("disable_changed_wwids", Kind::Str),
    ("remove_retries", NON_NEG),
    ("max_sectors_kb", NON_NEG),
    ("ghost_delay", Kind::NoInt),
    (
        "auto_resize",
        Kind::Enum(&["never", "grow_only", "grow_shrink"]),
    ),
    ("find_multipaths_timeout", Kind::Int(INT_MIN, INT_MAX)),
    ("enable_foreign", Kind::Str),
    // `fpin` only where FPIN support is built in ([`FACTS`]).
    (
        "marginal_pathgroups",
        Kind::Enum(&["off", "on", "fpin", "no", "0", "yes", "1"]),
    ),
    ("recheck_wwid", YES_NO),
];

const BLACKLIST: &[(&str, Kind)] = &[
    ("devnode", Kind::Regex),
    ("wwid", Kind::Regex),
    ("property", Kind::Regex),
    ("protocol", Kind::Regex),
];

const BLACKLIST_DEVICE: &[(&str, Kind)] = &[("vendor", Kind::Regex), ("product", Kind::Regex)];

const DEVICE: &[(&str, Kind)] = &[
    ("vendor", Kind::Str),
    ("product", Kind::Str),
    ("revision", Kind::Str),
    ("product_blacklist", Kind::Str),
    ("path_grouping_policy", PGPOLICY),
    ("uid_attribute", Kind::Str),
    ("getuid_callout", Kind::Str),
    ("path_selector", Kind::ArgCount(1)),
    ("path_checker", Kind::Str),
    ("checker", Kind::Str),
    ("alias_prefix", Kind::NoSlash),
    ("features", Kind::ArgCount(0)),
    ("hardware_handler", Kind::ArgCount(0)),
    ("prio", Kind::Str),
    ("prio_args", Kind::Str),
    ("failback", Kind::Failback),
    ("rr_weight", RR_WEIGHT),
    ("no_path_retry", Kind::NoPathRetry),
    ("rr_min_io", NON_NEG),
    ("rr_min_io_rq", NON_NEG),
    ("pg_timeout", Kind::Str),
    ("flush_on_last_del", FLUSH_ON_LAST_DEL),
    ("fast_io_fail_tmo", Kind::OffZeroInt),
    ("dev_loss_tmo", Kind::DevLoss),
    ("eh_deadline", Kind::OffZeroInt),
    ("user_friendly_names", YES_NO),
    ("retain_attached_hw_handler", YES_NO),
    ("detect_prio", YES_NO),
    ("detect_checker", YES_NO),
    ("detect_pgpolicy", YES_NO),
    ("detect_pgpolicy_use_tpg", YES_NO),
    ("deferred_remove", YES_NO),
    ("delay_watch_checks", Kind::NoInt),
    ("delay_wait_checks", Kind::NoInt),
    ("san_path_err_threshold", Kind::NoInt),
    ("san_path_err_forget_rate", Kind::NoInt),
    ("san_path_err_recovery_time", Kind::NoInt),
    ("marginal_path_err_sample_time", Kind::NoInt),
    ("marginal_path_err_rate_threshold", Kind::NoInt),
    ("marginal_path_err_recheck_gap_time", Kind::NoInt),
    ("marginal_path_double_failed_time", Kind::NoInt),
    ("skip_kpartx", YES_NO),
    ("max_sectors_kb", NON_NEG),
    ("ghost_delay", Kind::NoInt),
    ("all_tg_pt", YES_NO),
    ("vpd_vendor", Kind::Enum(&["undef", "hp3par"])),
    ("recheck_wwid", YES_NO),
];

const OVERRIDES: &[(&str, Kind)] = &[
    ("path_grouping_policy", PGPOLICY),
    ("uid_attribute", Kind::Str),
    ("getuid_callout", Kind::Str),
    ("path_selector", Kind::ArgCount(1)),
    ("path_checker", Kind::Str),
    ("checker", Kind::Str),
    ("alias_prefix", Kind::NoSlash),
    ("features", Kind::ArgCount(0)),
    ("prio", Kind::Str),
    ("prio_args", Kind::Str),
    ("failback", Kind::Failback),
    ("rr_weight", RR_WEIGHT),
    ("no_path_retry", Kind::NoPathRetry),
    ("rr_min_io", NON_NEG),
    ("rr_min_io_rq", NON_NEG),
    ("flush_on_last_del", FLUSH_ON_LAST_DEL),
    ("fast_io_fail_tmo", Kind::OffZeroInt),
    ("dev_loss_tmo", Kind::DevLoss),
    ("eh_deadline", Kind::OffZeroInt),
    ("user_friendly_names", YES_NO),
    ("retain_attached_hw_handler", YES_NO),
    ("detect_prio", YES_NO),
    ("detect_checker", YES_NO),
    ("detect_pgpolicy", YES_NO),
    ("detect_pgpolicy_use_tpg", YES_NO),
    ("deferred_remove", YES_NO),
    ("delay_watch_checks", Kind::NoInt),
    ("delay_wait_checks", Kind::NoInt),
    ("san_path_err_threshold", Kind::NoInt),
    ("san_path_err_forget_rate", Kind::NoInt),
    ("san_path_err_recovery_time", Kind::NoInt),
    ("marginal_path_err_sample_time", Kind::NoInt),
    ("marginal_path_err_rate_threshold", Kind::NoInt),
    ("marginal_path_err_recheck_gap_time", Kind::NoInt),
    ("marginal_path_double_failed_time", Kind::NoInt),
    ("skip_kpartx", YES_NO),
    ("max_sectors_kb", NON_NEG),
    ("ghost_delay", Kind::NoInt),
    ("all_tg_pt", YES_NO),
    ("recheck_wwid", YES_NO),
];

const PROTOCOL: &[(&str, Kind)] = &[
    ("type", Kind::Enum(PROTOCOLS)),
    ("fast_io_fail_tmo", Kind::OffZeroInt),
    ("dev_loss_tmo", Kind::DevLoss),
    ("eh_deadline", Kind::OffZeroInt),
];

const MULTIPATH: &[(&str, Kind)] = &[
    ("wwid", Kind::Str),
    ("alias", Kind::NoSlash),
    ("path_grouping_policy", PGPOLICY),
    ("path_selector", Kind::ArgCount(1)),
    ("prio", Kind::Str),
    ("prio_args", Kind::Str),
    ("failback", Kind::Failback),
    ("rr_weight", RR_WEIGHT),
    ("no_path_retry", Kind::NoPathRetry),
    ("rr_min_io", NON_NEG),
    ("rr_min_io_rq", NON_NEG),
    ("pg_timeout", Kind::Str),
    ("flush_on_last_del", FLUSH_ON_LAST_DEL),
    ("features", Kind::ArgCount(0)),
    ("mode", Kind::Mode),
    ("uid", Kind::Owner),
    ("gid", Kind::Gid),
    ("reservation_key", Kind::PrKey),
    ("user_friendly_names", YES_NO),
    ("deferred_remove", YES_NO),
    ("delay_watch_checks", Kind::NoInt),
    ("delay_wait_checks", Kind::NoInt),
    ("san_path_err_threshold", Kind::NoInt),
    ("san_path_err_forget_rate", Kind::NoInt),
    ("san_path_err_recovery_time", Kind::NoInt),
    ("marginal_path_err_sample_time", Kind::NoInt),
    ("marginal_path_err_rate_threshold", Kind::NoInt),
    ("marginal_path_err_recheck_gap_time", Kind::NoInt),
    ("marginal_path_double_failed_time", Kind::NoInt),
    ("skip_kpartx", YES_NO),
    ("max_sectors_kb", NON_NEG),
    ("ghost_delay", Kind::NoInt),
];

/// How a release differs from the section tables for a keyword, or for
/// some of its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Unknown before `first` (the oldest known release that has it);
    /// `upstream` is the upstream release that added it.
    Added {
        upstream: &'static str,
        first: Release,
    },
    /// From `first` on, taken with a "deprecated" complaint; `instead`
    /// says what to write instead.
    Deprecated {
        first: Release,
        instead: &'static str,
    },
    /// From `first` on, accepted and ignored without a word; `until` is the
    /// first release that complains about it instead, if any.
    Ignored {
        first: Release,
        until: Option<Release>,
    },
}

impl Change {
    /// Whether `release` refuses (complains about) what this change covers.
    pub fn refused_by(self, release: Release) -> bool {
        match self {
            Change::Added { first, .. } => release < first,
            Change::Deprecated { first, .. } => release >= first,
            Change::Ignored { .. } => false,
        }
    }
}

/// One fact of [`FACTS`]: `keyword` (in `sections`, or wherever the
/// section tables have it when empty), restricted to `values` when given
/// (matched as the keyword's kind matches: prefixes for
/// `path_grouping_policy`, whole words otherwise).
#[derive(Clone, Copy, Debug)]
pub struct Fact {
    pub keyword: &'static str,
    pub sections: &'static [Section],
    pub values: Option<&'static [&'static str]>,
    pub change: Change,
}

const fn keyword(keyword: &'static str, change: Change) -> Fact {
    Fact {
        keyword,
        sections: &[],
        values: None,
        change,
    }
}

const fn values(keyword: &'static str, values: &'static [&'static str], change: Change) -> Fact {
    Fact {
        keyword,
        sections: &[],
        values: Some(values),
        change,
    }
}

const fn deprecated(first: Release, instead: &'static str) -> Change {
    Change::Deprecated { first, instead }
}

const fn added(upstream: &'static str, first: Release) -> Change {
    Change::Added { upstream, first }
}

/// Every difference between the known releases and the section tables, read
/// from libmultipath/dict.c, pgpolicies.c and config.c at the tags 0.9.4 and
/// 0.11.1 (`upstream` releases from the tags that first hold each change).
pub const FACTS: &[Fact] = &[
    keyword(
        "getuid_callout",
        deprecated(Release::V0_9_4, "uid_attribute"),
    ),
    keyword(
        "multipath_dir",
        deprecated(Release::V0_9_4, "nothing: the path is built in"),
    ),
    keyword(
        "config_dir",
        deprecated(Release::V0_9_4, "nothing: the path is built in"),
    ),
    keyword(
        "pg_timeout",
        deprecated(Release::V0_9_4, "nothing: it has no effect"),
    ),
    keyword(
        "bindings_file",
        deprecated(Release::V0_9_4, "nothing: the path is built in"),
    ),
    keyword(
        "wwids_file",
        deprecated(Release::V0_9_4, "nothing: the path is built in"),
    ),
    keyword(
        "prkeys_file",
        deprecated(Release::V0_9_4, "nothing: the path is built in"),
    ),
    keyword(
        "disable_changed_wwids",
        Change::Ignored {
            first: Release::V0_9_4,
            until: Some(Release::V0_11_1),
        },
    ),
    keyword(
        "disable_changed_wwids",
        deprecated(Release::V0_11_1, "nothing: it has no effect"),
    ),
    keyword("detect_pgpolicy", added("0.9.6", Release::V0_11_1)),
    keyword("detect_pgpolicy_use_tpg", added("0.9.6", Release::V0_11_1)),
    keyword("max_retries", added("0.9.7", Release::V0_11_1)),
    keyword("auto_resize", added("0.9.7", Release::V0_11_1)),
    values(
        "path_grouping_policy",
        &["group_by_tpg"],
        added("0.9.6", Release::V0_11_1),
    ),
    values(
        "flush_on_last_del",
        &["always", "never", "unused"],
        added("0.9.9", Release::V0_11_1),
    ),
    values(
        "flush_on_last_del",
        &["yes", "1"],
        deprecated(Release::V0_11_1, "'always'"),
    ),
    values(
        "flush_on_last_del",
        &["no", "0"],
        deprecated(Release::V0_11_1, "'unused'"),
    ),
    // Debian builds 0.9.4 without FPIN support, 0.11.1 with it.
    values(
        "marginal_pathgroups",
        &["fpin"],
        added("0.8.5, where built with FPIN support", Release::V0_11_1),
    ),
];

/// Whether a fact covers `keyword` with `value` in `section`.
pub fn fact_applies(fact: &Fact, section: Section, keyword: &str, kind: Kind, value: &str) -> bool {
    if fact.keyword != keyword || !(fact.sections.is_empty() || fact.sections.contains(&section)) {
        return false;
    }
    match fact.values {
        None => true,
        Some(words) => words.iter().any(|word| match kind {
            Kind::Prefix(_) => value.starts_with(word),
            _ => value == *word,
        }),
    }
}

/// A value some known release crashes or hangs on. Refused whatever
/// releases a cluster runs: a text stored cluster-wide reaches every node,
/// and the next upgrade would take multipathd down with it.
#[derive(Clone, Copy, Debug)]
pub struct Crash {
    pub keyword: &'static str,
    pub section: Section,
    pub releases: &'static [Release],
    /// Whether the value is one of those.
    pub when: fn(&str) -> bool,
    /// What happens, for the message.
    pub what: &'static str,
}

/// What `set_uint` stores: leading whitespace, digits, trailing whitespace.
fn uint_value(value: &str) -> Option<u64> {
    let trimmed = value.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(trimmed.parse::<u64>().unwrap_or(u64::MAX))
}

/// Values multipath-tools crashes or hangs on, read from the source (and
/// each run against the real binary in tests/overrides-agree.t).
pub const CRASHES: &[Crash] = &[
    // init_config__: `max_checkint % checkint` with checkint 0.
    Crash {
        keyword: "polling_interval",
        section: Section::Defaults,
        releases: &[Release::V0_11_1],
        when: |value| uint_value(value) == Some(0),
        what: "die of a division by zero (SIGFPE) in init_config__",
    },
    // checkint_handler turns an unset (invalid) value into UINT_MAX - 1;
    // init_config__ then doubles it until it wraps to 0 and loops forever.
    Crash {
        keyword: "polling_interval",
        section: Section::Defaults,
        releases: &[Release::V0_11_1],
        when: |value| uint_value(value).is_none_or(|number| number >= u64::from(u32::MAX)),
        what: "loop forever in init_config__",
    },
    // A '/' is refused, leaving the delimiter NULL, which the handler then
    // passes to strcmp.
    Crash {
        keyword: "partition_delimiter",
        section: Section::Defaults,
        releases: &[Release::V0_9_4, Release::V0_11_1],
        when: |value| value.contains('/'),
        what: "crash (NULL pointer) unless an earlier line set a delimiter",
    },
];

/// Where multipath-tools 0.11.1's `init_config__` fails on the polling
/// intervals of the `defaults` section (`None`: not set): the config.c
/// arithmetic, in the same unsigned 32-bit integers. `Err` says what
/// 0.11.1 would do (as an infinitive): divide by zero there or later in
/// multipathd's checker loop (`adjust_int` 0), or loop forever.
pub fn check_polling_intervals(
    checkint: Option<u32>,
    max_checkint: Option<u32>,
) -> Result<(), &'static str> {
    const UNDEF: u32 = u32::MAX;
    const DEFAULT_CHECKINT: u32 = 5;
    let mut checkint = match checkint {
        None => UNDEF,
        // checkint_handler moves a stored UINT_MAX (also what an invalid
        // value leaves) off the "unset" marker.
        Some(UNDEF) => UNDEF - 1,
        Some(value) => value,
    };
    let mut max = max_checkint.unwrap_or(0);
    if max == 0 {
        if checkint == UNDEF {
            checkint = DEFAULT_CHECKINT;
        }
        max = if checkint < u32::MAX / 4 {
            checkint * 4
        } else {
            u32::MAX
        };
    } else if checkint == UNDEF {
        checkint = if max >= 4 { max / 4 } else { 1 };
    } else if checkint > max {
        checkint = max;
    }
    if checkint == 0 {
        return Err("die of a division by zero (SIGFPE) in init_config__");
    }
    let adjust = if max.checked_rem(checkint) == Some(0) {
        max
    } else {
        let mut adjust = checkint;
        let mut doublings = 0;
        while adjust.wrapping_mul(2) < max {
            adjust = adjust.wrapping_mul(2);
            doublings += 1;
            // After 32 doublings the value has wrapped to 0 and stays there.
            if doublings > 32 {
                return Err("loop forever in init_config__");
            }
        }
        adjust.wrapping_mul(max)
    };
    if adjust == 0 {
        return Err("compute a check interval of 0, which multipathd's checker loop divides by");
    }
    Ok(())
}

/// Keywords of releases after the newest known one: (keyword, sections,
/// release that added it). Every known release refuses them as unknown.
pub const NEWER: &[(&str, &[Section], &str)] = &[(
    "purge_disconnected",
    &[
        Section::Defaults,
        Section::Device,
        Section::Overrides,
        Section::Multipath,
    ],
    "0.14.0",
)];

/// The release that added a keyword unknown to every known release.
pub fn newer_release(section: Section, keyword: &str) -> Option<&'static str> {
    NEWER
        .iter()
        .find(|(name, sections, _)| *name == keyword && sections.contains(&section))
        .map(|(_, _, release)| *release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_duplicates() {
        for section in Section::ALL {
            let names: Vec<&str> = section.keywords().iter().map(|(name, _)| *name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "{section:?}");
        }
    }

    /// A fact about a keyword no table has, or about a value its kind
    /// refuses, would never apply.
    #[test]
    fn facts_and_crashes_name_what_the_tables_have() {
        for fact in FACTS {
            let sections: Vec<Section> = Section::ALL
                .into_iter()
                .filter(|section| section.kind(fact.keyword).is_some())
                .collect();
            assert!(!sections.is_empty(), "{}", fact.keyword);
            for section in sections {
                let kind = section.kind(fact.keyword).expect("filtered");
                for value in fact.values.unwrap_or_default() {
                    assert!(
                        super::super::values::check(fact.keyword, kind, value).is_ok(),
                        "{} {value}",
                        fact.keyword
                    );
                }
            }
        }
        for crash in CRASHES {
            assert!(
                crash.section.kind(crash.keyword).is_some(),
                "{}",
                crash.keyword
            );
        }
    }

    #[test]
    fn known_releases_parse() {
        let cases = [
            ("0.9.4", Some(Release::V0_9_4)),
            ("0.9.4-3+deb12u2", Some(Release::V0_9_4)),
            (" v0.11.1 ", Some(Release::V0_11_1)),
            ("0.11.1-2", Some(Release::V0_11_1)),
            ("0.11", None),
            ("0.9.40", None),
            ("", None),
        ];
        for (version, release) in cases {
            assert_eq!(Release::parse(version), release, "{version:?}");
        }
    }

    #[test]
    fn newer_keywords_are_not_in_the_tables() {
        for (name, sections, _) in NEWER {
            for section in *sections {
                assert_eq!(section.kind(name), None, "{name} in {section:?}");
            }
        }
    }

    #[test]
    fn subsections() {
        assert_eq!(Section::Root.subsection("devices"), Some(Section::Devices));
        assert_eq!(Section::Devices.subsection("device"), Some(Section::Device));
        assert_eq!(
            Section::Blacklist.subsection("device"),
            Some(Section::BlacklistDevice)
        );
        assert_eq!(
            Section::Overrides.subsection("protocol"),
            Some(Section::Protocol)
        );
        assert_eq!(Section::Blacklist.subsection("protocol"), None);
        assert_eq!(Section::Defaults.subsection("device"), None);
    }
}
