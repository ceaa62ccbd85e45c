//! Declarations of the C glue in `glue.c`; see there for who owns what.
//! Every function here is a one-line wrapper of the perlguts macro it is
//! named after, except `pvemp_sv_plain_pv` (three flag tests and `SvPV` in
//! one call, for the values read most), `pvemp_av_elem` (`av_fetch` without
//! its magic) and `pvemp_read_guarded`, the guarded read of magical data
//! (see `glue.c` and [`super::convert`]).

use std::ffi::{c_char, c_int, c_void};

macro_rules! opaque {
    ($($name:ident),*) => {$(
        #[repr(C)]
        pub struct $name {
            _private: [u8; 0],
        }
    )*};
}

opaque!(Interpreter, Sv, Hv, Av, Cv, He);

pub type XsubFn = extern "C" fn(*mut Interpreter, *mut Cv);

/// `struct pvemp_read` of the glue: one guarded read, request and results.
#[repr(C)]
pub struct RawRead {
    pub op: c_int,
    pub sv: *mut Sv,
    pub index: isize,
    pub key: *mut Sv,
    pub value: *mut Sv,
}

extern "C" {
    pub fn pvemp_popmark(perl: *mut Interpreter) -> i32;
    pub fn pvemp_stack_base(perl: *mut Interpreter) -> *mut *mut Sv;
    pub fn pvemp_stack_sp(perl: *mut Interpreter) -> *mut *mut Sv;
    pub fn pvemp_stack_set_sp(perl: *mut Interpreter, sp: *mut *mut Sv);
    pub fn pvemp_stack_extend(perl: *mut Interpreter, sp: *mut *mut Sv, n: isize) -> *mut *mut Sv;

    pub fn pvemp_sv_ok(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_pokp(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_iokp(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_nokp(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_is_uv(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_rok(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_utf8(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_gmagical(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_magical(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_true(perl: *mut Interpreter, sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_iv(perl: *mut Interpreter, sv: *mut Sv) -> i64;
    pub fn pvemp_sv_uv(perl: *mut Interpreter, sv: *mut Sv) -> u64;
    pub fn pvemp_sv_nv(perl: *mut Interpreter, sv: *mut Sv) -> f64;
    pub fn pvemp_sv_pv(perl: *mut Interpreter, sv: *mut Sv, len: *mut usize) -> *const c_char;
    pub fn pvemp_sv_plain_pv(perl: *mut Interpreter, sv: *mut Sv, len: *mut usize)
        -> *const c_char;
    pub fn pvemp_sv_rv(sv: *mut Sv) -> *mut Sv;
    pub fn pvemp_sv_is_hash(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_is_array(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_is_code(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_is_plain_scalar(sv: *mut Sv) -> c_int;
    pub fn pvemp_sv_derived_from(perl: *mut Interpreter, sv: *mut Sv, name: *const c_char)
        -> c_int;

    pub fn pvemp_hv_iterinit(perl: *mut Interpreter, hv: *mut Hv) -> i32;
    pub fn pvemp_hv_iternext(perl: *mut Interpreter, hv: *mut Hv) -> *mut He;
    pub fn pvemp_he_key(perl: *mut Interpreter, he: *mut He, len: *mut usize) -> *const c_char;
    pub fn pvemp_he_utf8(perl: *mut Interpreter, he: *mut He) -> c_int;
    pub fn pvemp_hv_iterval(perl: *mut Interpreter, hv: *mut Hv, he: *mut He) -> *mut Sv;
    pub fn pvemp_av_top_index(perl: *mut Interpreter, av: *mut Av) -> isize;
    pub fn pvemp_av_elem(av: *mut Av, index: isize) -> *mut Sv;

    pub fn pvemp_new_undef(perl: *mut Interpreter) -> *mut Sv;
    pub fn pvemp_new_iv(perl: *mut Interpreter, v: i64) -> *mut Sv;
    pub fn pvemp_new_uv(perl: *mut Interpreter, v: u64) -> *mut Sv;
    pub fn pvemp_new_nv(perl: *mut Interpreter, v: f64) -> *mut Sv;
    pub fn pvemp_new_pvn(
        perl: *mut Interpreter,
        s: *const c_char,
        len: usize,
        utf8: c_int,
    ) -> *mut Sv;
    pub fn pvemp_new_shared_pvn(
        perl: *mut Interpreter,
        s: *const c_char,
        len: usize,
        utf8: c_int,
    ) -> *mut Sv;
    pub fn pvemp_new_shared_copy(perl: *mut Interpreter, shared: *mut Sv) -> *mut Sv;
    pub fn pvemp_new_sv_copy_nomg(perl: *mut Interpreter, sv: *mut Sv) -> *mut Sv;
    pub fn pvemp_new_hv(perl: *mut Interpreter) -> *mut Hv;
    pub fn pvemp_new_av(perl: *mut Interpreter) -> *mut Av;
    pub fn pvemp_new_rv_noinc(perl: *mut Interpreter, target: *mut Sv) -> *mut Sv;
    pub fn pvemp_hv_store(
        perl: *mut Interpreter,
        hv: *mut Hv,
        key: *const c_char,
        klen_signed_utf8: i32,
        val: *mut Sv,
    ) -> *mut *mut Sv;
    pub fn pvemp_hv_store_ent(
        perl: *mut Interpreter,
        hv: *mut Hv,
        key: *mut Sv,
        val: *mut Sv,
    ) -> c_int;
    pub fn pvemp_av_extend(perl: *mut Interpreter, av: *mut Av, top: isize);
    pub fn pvemp_hv_ksplit(perl: *mut Interpreter, hv: *mut Hv, keys: isize);
    pub fn pvemp_av_push(perl: *mut Interpreter, av: *mut Av, val: *mut Sv);

    pub fn pvemp_sv_2mortal(perl: *mut Interpreter, sv: *mut Sv) -> *mut Sv;
    pub fn pvemp_sv_refcnt_dec(perl: *mut Interpreter, sv: *mut Sv);
    pub fn pvemp_sv_mortal_hold(perl: *mut Interpreter, sv: *mut Sv) -> *mut Sv;

    pub fn pvemp_read_guarded(
        perl: *mut Interpreter,
        read: *mut RawRead,
        error: *mut *mut Sv,
    ) -> c_int;

    pub fn pvemp_new_xs(
        perl: *mut Interpreter,
        name: *const c_char,
        xsub: XsubFn,
        file: *const c_char,
    ) -> *mut Cv;
    pub fn pvemp_cv_set_any(cv: *mut Cv, ptr: *mut c_void);
    pub fn pvemp_cv_any(cv: *mut Cv) -> *mut c_void;
    pub fn pvemp_croak_sv(perl: *mut Interpreter, err: *mut Sv) -> !;
    pub fn pvemp_sv_yes(perl: *mut Interpreter) -> *mut Sv;
}
