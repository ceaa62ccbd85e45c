//! The keyword tables of multipath-tools 0.9.4, section by section.
//!
//! ```text
//! devices {                      # Section::Devices
//!     device {                   # Section::Device
//!         vendor "PURE"          # Kind::Str
//!         no_path_retry 30       # Kind::NoPathRetry
//!     }
//! }
//! ```
//!
//! The names are facts read from `init_keywords()` in libmultipath/dict.c at
//! tag 0.9.4; the value kinds follow the handler each keyword is installed
//! with there. Keywords that only later releases know are listed apart in
//! [`NEWER`]: 0.9.4 complains about them as unknown, so we refuse them with
//! a message naming the release that added them.

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
    /// An absolute path; 0.9.4 also warns that the keyword is deprecated.
    DeprecatedPath,
    /// Ignored with a "deprecated" complaint.
    Deprecated,
    /// Accepted and ignored without a word (`disable_changed_wwids`).
    Ignored,
    /// `yes`, `no`, `1` or `0`.
    YesNo,
    /// A decimal integer in the range; out of range is capped with a
    /// complaint.
    Int(i64, i64),
    /// An unsigned decimal integer below 2^32.
    UInt,
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
    /// A user or group name or number; names cannot be checked here.
    Owner,
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
            Kind::DeprecatedPath => "deprecated-path".into(),
            Kind::Deprecated => "deprecated".into(),
            Kind::Ignored => "ignored".into(),
            Kind::YesNo => "yes-no".into(),
            Kind::Int(min, max) => format!("int:{min}:{max}"),
            Kind::UInt => "uint".into(),
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
            Kind::Regex => "regex".into(),
            Kind::PrKey => "prkey".into(),
            Kind::UidAttrs => "uid-attrs".into(),
        }
    }
}

const YES_NO_WORDS: &[&str] = &["yes", "no", "1", "0"];
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;

/// `path_grouping_policy` values; 0.9.4 matches them as prefixes.
pub const PGPOLICIES: &[&str] = &[
    "failover",
    "multibus",
    "group_by_serial",
    "group_by_prio",
    "group_by_node_name",
];

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
    ("multipath_dir", Kind::Deprecated),
    ("path_selector", Kind::ArgCount(1)),
    ("path_grouping_policy", PGPOLICY),
    ("uid_attrs", Kind::UidAttrs),
    ("uid_attribute", Kind::Str),
    ("getuid_callout", Kind::Deprecated),
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
    ("pg_timeout", Kind::Deprecated),
    ("flush_on_last_del", YES_NO),
    ("user_friendly_names", YES_NO),
    ("mode", Kind::Mode),
    ("uid", Kind::Owner),
    ("gid", Kind::Owner),
    ("fast_io_fail_tmo", Kind::OffZeroInt),
    ("dev_loss_tmo", Kind::DevLoss),
    ("eh_deadline", Kind::OffZeroInt),
    ("bindings_file", Kind::DeprecatedPath),
    ("wwids_file", Kind::DeprecatedPath),
    ("prkeys_file", Kind::DeprecatedPath),
    ("log_checker_err", Kind::Enum(&["once", "always"])),
    ("reservation_key", Kind::PrKey),
    ("all_tg_pt", YES_NO),
    ("retain_attached_hw_handler", YES_NO),
    ("detect_prio", YES_NO),
    ("detect_checker", YES_NO),
    ("force_sync", YES_NO),
    ("strict_timing", YES_NO),
    ("deferred_remove", YES_NO),
    ("partition_delimiter", Kind::NoSlash),
    ("config_dir", Kind::Deprecated),
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
    ("disable_changed_wwids", Kind::Ignored),
    ("remove_retries", NON_NEG),
    ("max_sectors_kb", NON_NEG),
    ("ghost_delay", Kind::NoInt),
    ("find_multipaths_timeout", Kind::Int(INT_MIN, INT_MAX)),
    ("enable_foreign", Kind::Str),
    // Debian's 0.9.4 is built without FPIN support: `fpin` draws a complaint.
    (
        "marginal_pathgroups",
        Kind::Enum(&["off", "on", "no", "0", "yes", "1"]),
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
    ("getuid_callout", Kind::Deprecated),
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
    ("pg_timeout", Kind::Deprecated),
    ("flush_on_last_del", YES_NO),
    ("fast_io_fail_tmo", Kind::OffZeroInt),
    ("dev_loss_tmo", Kind::DevLoss),
    ("eh_deadline", Kind::OffZeroInt),
    ("user_friendly_names", YES_NO),
    ("retain_attached_hw_handler", YES_NO),
    ("detect_prio", YES_NO),
    ("detect_checker", YES_NO),
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
    ("getuid_callout", Kind::Deprecated),
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
    ("flush_on_last_del", YES_NO),
    ("fast_io_fail_tmo", Kind::OffZeroInt),
    ("dev_loss_tmo", Kind::DevLoss),
    ("eh_deadline", Kind::OffZeroInt),
    ("user_friendly_names", YES_NO),
    ("retain_attached_hw_handler", YES_NO),
    ("detect_prio", YES_NO),
    ("detect_checker", YES_NO),
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
    ("pg_timeout", Kind::Deprecated),
    ("flush_on_last_del", YES_NO),
    ("features", Kind::ArgCount(0)),
    ("mode", Kind::Mode),
    ("uid", Kind::Owner),
    ("gid", Kind::Owner),
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

/// Keywords of releases after 0.9.4: (keyword, sections, release that added
/// it). Read from dict.c at the later tags.
pub const NEWER: &[(&str, &[Section], &str)] = &[
    (
        "detect_pgpolicy",
        &[Section::Defaults, Section::Device, Section::Overrides],
        "0.9.6",
    ),
    (
        "detect_pgpolicy_use_tpg",
        &[Section::Defaults, Section::Device, Section::Overrides],
        "0.9.6",
    ),
    ("max_retries", &[Section::Defaults], "0.9.7"),
    ("auto_resize", &[Section::Defaults], "0.9.7"),
    (
        "purge_disconnected",
        &[
            Section::Defaults,
            Section::Device,
            Section::Overrides,
            Section::Multipath,
        ],
        "a release after 0.9.9",
    ),
];

/// The release that added a keyword unknown to 0.9.4 in this section.
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

    #[test]
    fn newer_keywords_are_not_in_the_0_9_4_tables() {
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
