/*
 * One-line wrappers around perlguts macros, so the Rust side never touches a
 * macro or a struct layout of perl. Every function takes the interpreter
 * (pTHX) where perl needs one; Debian's perl is built with ithreads.
 *
 * Ownership: functions named new_* return an SV the caller owns (refcount 1);
 * everything else borrows. hv_store and av_push take over the caller's
 * reference to the stored value.
 */

#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

/* argument stack */
I32 pvemp_popmark(pTHX) { return POPMARK; }
SV **pvemp_stack_base(pTHX) { return PL_stack_base; }
SV **pvemp_stack_sp(pTHX) { return PL_stack_sp; }
void pvemp_stack_set_sp(pTHX_ SV **sp) { PL_stack_sp = sp; }
SV **pvemp_stack_extend(pTHX_ SV **sp, SSize_t n) { EXTEND(sp, n); return sp; }

/* reading scalars */
void pvemp_sv_get_magic(pTHX_ SV *sv) { SvGETMAGIC(sv); }
int pvemp_sv_ok(SV *sv) { return SvOK(sv) ? 1 : 0; }
int pvemp_sv_pokp(SV *sv) { return SvPOKp(sv) ? 1 : 0; }
int pvemp_sv_iokp(SV *sv) { return SvIOKp(sv) ? 1 : 0; }
int pvemp_sv_nokp(SV *sv) { return SvNOKp(sv) ? 1 : 0; }
int pvemp_sv_is_uv(SV *sv) { return SvIsUV(sv) ? 1 : 0; }
int pvemp_sv_rok(SV *sv) { return SvROK(sv) ? 1 : 0; }
int pvemp_sv_utf8(SV *sv) { return SvUTF8(sv) ? 1 : 0; }
int pvemp_sv_true(pTHX_ SV *sv) { return SvTRUE_nomg(sv) ? 1 : 0; }
IV pvemp_sv_iv(pTHX_ SV *sv) { return SvIV_nomg(sv); }
UV pvemp_sv_uv(pTHX_ SV *sv) { return SvUV_nomg(sv); }
NV pvemp_sv_nv(pTHX_ SV *sv) { return SvNV_nomg(sv); }
const char *pvemp_sv_pv(pTHX_ SV *sv, STRLEN *len) { return SvPV_nomg(sv, *len); }
SV *pvemp_sv_rv(SV *sv) { return SvRV(sv); }
int pvemp_sv_is_hash(SV *sv) { return SvTYPE(sv) == SVt_PVHV ? 1 : 0; }
int pvemp_sv_is_array(SV *sv) { return SvTYPE(sv) == SVt_PVAV ? 1 : 0; }
int pvemp_sv_is_code(SV *sv) { return SvTYPE(sv) == SVt_PVCV ? 1 : 0; }
int pvemp_sv_is_plain_scalar(SV *sv) { return SvTYPE(sv) < SVt_PVAV ? 1 : 0; }
int pvemp_sv_derived_from(pTHX_ SV *sv, const char *name) { return sv_derived_from(sv, name) ? 1 : 0; }

/* reading containers */
I32 pvemp_hv_iterinit(pTHX_ HV *hv) { return hv_iterinit(hv); }
HE *pvemp_hv_iternext(pTHX_ HV *hv) { return hv_iternext(hv); }
char *pvemp_he_key(pTHX_ HE *he, STRLEN *len) { return HePV(he, *len); }
int pvemp_he_utf8(pTHX_ HE *he) { return HeUTF8(he) ? 1 : 0; }
SV *pvemp_hv_iterval(pTHX_ HV *hv, HE *he) { return hv_iterval(hv, he); }
SSize_t pvemp_av_top_index(pTHX_ AV *av) { return av_top_index(av); }
SV **pvemp_av_fetch(pTHX_ AV *av, SSize_t i) { return av_fetch(av, i, 0); }

/* creating values (the caller owns the result) */
SV *pvemp_new_undef(pTHX) { return newSV(0); }
SV *pvemp_new_iv(pTHX_ IV v) { return newSViv(v); }
SV *pvemp_new_uv(pTHX_ UV v) { return newSVuv(v); }
SV *pvemp_new_nv(pTHX_ NV v) { return newSVnv(v); }
SV *pvemp_new_pvn(pTHX_ const char *s, STRLEN len, int utf8) { return newSVpvn_flags(s, len, utf8 ? SVf_UTF8 : 0); }
HV *pvemp_new_hv(pTHX) { return newHV(); }
AV *pvemp_new_av(pTHX) { return newAV(); }
SV *pvemp_new_rv_noinc(pTHX_ SV *target) { return newRV_noinc(target); }
SV **pvemp_hv_store(pTHX_ HV *hv, const char *key, I32 klen_signed_utf8, SV *val) { return hv_store(hv, key, klen_signed_utf8, val, 0); }
void pvemp_av_extend(pTHX_ AV *av, SSize_t top) { av_extend(av, top); }
void pvemp_av_push(pTHX_ AV *av, SV *val) { av_push(av, val); }

/* reference counts */
SV *pvemp_sv_2mortal(pTHX_ SV *sv) { return sv_2mortal(sv); }
void pvemp_sv_refcnt_dec(pTHX_ SV *sv) { SvREFCNT_dec(sv); }

/* subs and exceptions */
CV *pvemp_new_xs(pTHX_ const char *name, XSUBADDR_t fn, const char *file) { return newXS(name, fn, file); }
void pvemp_cv_set_any(CV *cv, void *ptr) { CvXSUBANY(cv).any_ptr = ptr; }
void *pvemp_cv_any(CV *cv) { return CvXSUBANY(cv).any_ptr; }
void pvemp_croak_sv(pTHX_ SV *err) { croak_sv(err); }
SV *pvemp_sv_yes(pTHX) { return &PL_sv_yes; }
