/*
 * One-line wrappers around perlguts macros, so the Rust side never touches a
 * macro or a struct layout of perl. Every function takes the interpreter
 * (pTHX) where perl needs one; Debian's perl is built with ithreads.
 *
 * Ownership: functions named new_* return an SV the caller owns (refcount 1);
 * everything else borrows. hv_store and av_push take over the caller's
 * reference to the stored value.
 *
 * Reading tied or otherwise magical data runs Perl code (FETCH, FETCHSIZE,
 * FIRSTKEY, NEXTKEY, a __WARN__ handler, ...) that may die. A die must never
 * unwind over Rust frames: it would skip their destructors and leak what they
 * hold. So such reads, and only those, go through pvemp_read_guarded: it calls
 * a small XSUB with G_EVAL (perlcall's documented way to catch a die in C),
 * which stops the die before it reaches Rust and hands the exception over.
 * Each guarded read yields mortal copies without magic: reading them runs no
 * Perl code, and they are freed (with any DESTROY they trigger) after the
 * call, never inside Rust frames.
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
int pvemp_sv_ok(SV *sv) { return SvOK(sv) ? 1 : 0; }
int pvemp_sv_pokp(SV *sv) { return SvPOKp(sv) ? 1 : 0; }
int pvemp_sv_iokp(SV *sv) { return SvIOKp(sv) ? 1 : 0; }
int pvemp_sv_nokp(SV *sv) { return SvNOKp(sv) ? 1 : 0; }
int pvemp_sv_is_uv(SV *sv) { return SvIsUV(sv) ? 1 : 0; }
int pvemp_sv_rok(SV *sv) { return SvROK(sv) ? 1 : 0; }
int pvemp_sv_utf8(SV *sv) { return SvUTF8(sv) ? 1 : 0; }
int pvemp_sv_gmagical(SV *sv) { return SvGMAGICAL(sv) ? 1 : 0; }
int pvemp_sv_magical(SV *sv) { return SvMAGICAL(sv) ? 1 : 0; }
int pvemp_sv_true(pTHX_ SV *sv) { return SvTRUE_nomg(sv) ? 1 : 0; }
IV pvemp_sv_iv(pTHX_ SV *sv) { return SvIV_nomg(sv); }
UV pvemp_sv_uv(pTHX_ SV *sv) { return SvUV_nomg(sv); }
NV pvemp_sv_nv(pTHX_ SV *sv) { return SvNV_nomg(sv); }
const char *pvemp_sv_pv(pTHX_ SV *sv, STRLEN *len) { return SvPV_nomg(sv, *len); }
/* The text of a string scalar without get magic that is not a reference, else NULL: the common
 * case of a read in one call instead of five. */
const char *pvemp_sv_plain_pv(pTHX_ SV *sv, STRLEN *len) { return (SvFLAGS(sv) & (SVs_GMG | SVf_ROK | SVp_POK)) == SVp_POK ? SvPV_nomg(sv, *len) : NULL; }
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
/* An element (index >= 0) of an array without magic, as av_fetch finds it: NULL past the end, for
 * a hole, or for an element of @_ freed meanwhile. Never runs Perl code, even for an array tied
 * since it was sized. */
SV *pvemp_av_elem(AV *av, SSize_t i) { SV *sv = i <= AvFILLp(av) ? AvARRAY(av)[i] : NULL; return sv && AvREIFY(av) && SvIS_FREED(sv) ? NULL : sv; }

/* creating values (the caller owns the result) */
SV *pvemp_new_undef(pTHX) { return newSV(0); }
SV *pvemp_new_iv(pTHX_ IV v) { return newSViv(v); }
SV *pvemp_new_uv(pTHX_ UV v) { return newSVuv(v); }
SV *pvemp_new_nv(pTHX_ NV v) { return newSVnv(v); }
SV *pvemp_new_pvn(pTHX_ const char *s, STRLEN len, int utf8) { return newSVpvn_flags(s, len, utf8 ? SVf_UTF8 : 0); }
SV *pvemp_new_shared_pvn(pTHX_ const char *s, STRLEN len, int utf8) { return newSVpvn_share(s, utf8 ? -(I32)len : (I32)len, 0); }
/* A copy of a shared string (from pvemp_new_shared_pvn) that shares its buffer, made the short way
 * newSVsv takes for one after its general checks: as `my $key = (keys %h)[0]` gets. */
SV *pvemp_new_shared_copy(pTHX_ SV *shared) { return newSVhek(SvSHARED_HEK_FROM_PV(SvPVX_const(shared))); }
/* Copies share the string buffer where perl can, as `my $copy = $string` does in the core
 * (copy-on-write; a shared hash key string's too): newSVsv() outside the core copies it. Nothing
 * here writes into a buffer it did not allocate, which is what perl's COW asks of XS code. */
#define PVEMP_COW (SV_COW_SHARED_HASH_KEYS | SV_COW_OTHER_PVS)
SV *pvemp_new_sv_copy_nomg(pTHX_ SV *sv) { return newSVsv_flags(sv, SV_NOSTEAL | PVEMP_COW); }
HV *pvemp_new_hv(pTHX) { return newHV(); }
AV *pvemp_new_av(pTHX) { return newAV(); }
SV *pvemp_new_rv_noinc(pTHX_ SV *target) { return newRV_noinc(target); }
SV **pvemp_hv_store(pTHX_ HV *hv, const char *key, I32 klen_signed_utf8, SV *val) { return hv_store(hv, key, klen_signed_utf8, val, 0); }
int pvemp_hv_store_ent(pTHX_ HV *hv, SV *key, SV *val) { return hv_store_ent(hv, key, val, 0) ? 1 : 0; }
void pvemp_av_extend(pTHX_ AV *av, SSize_t top) { av_extend(av, top); }
void pvemp_hv_ksplit(pTHX_ HV *hv, IV keys) { hv_ksplit(hv, keys); }
void pvemp_av_push(pTHX_ AV *av, SV *val) { av_push(av, val); }

/* reference counts */
SV *pvemp_sv_2mortal(pTHX_ SV *sv) { return sv_2mortal(sv); }
void pvemp_sv_refcnt_dec(pTHX_ SV *sv) { SvREFCNT_dec(sv); }
SV *pvemp_sv_mortal_hold(pTHX_ SV *sv) { return sv_2mortal(SvREFCNT_inc_simple_NN(sv)); }

/* subs and exceptions */
CV *pvemp_new_xs(pTHX_ const char *name, XSUBADDR_t fn, const char *file) { return newXS(name, fn, file); }
void pvemp_cv_set_any(CV *cv, void *ptr) { CvXSUBANY(cv).any_ptr = ptr; }
void *pvemp_cv_any(CV *cv) { return CvXSUBANY(cv).any_ptr; }
void pvemp_croak_sv(pTHX_ SV *err) { croak_sv(err); }
SV *pvemp_sv_yes(pTHX) { return &PL_sv_yes; }

/* guarded reads of magical data (see the top of this file) */
enum { PVEMP_READ_SCALAR, PVEMP_READ_TOP_INDEX, PVEMP_READ_ELEMENT, PVEMP_READ_HASH_INIT, PVEMP_READ_HASH_NEXT };

struct pvemp_read {
    int op;        /* PVEMP_READ_* */
    SV *sv;        /* the scalar, array or hash to read */
    SSize_t index; /* in: the element; out: the highest index (TOP_INDEX) */
    SV *key;       /* out (HASH_NEXT): the key, mortal; NULL past the last entry */
    SV *value;     /* out: the value, mortal; NULL for a missing element */
};

/* An owned, magic-free copy of sv after its get magic ran; sv is kept alive meanwhile. */
static SV *pvemp_fetched_copy(pTHX_ SV *sv)
{
    sv_2mortal(SvREFCNT_inc_simple_NN(sv));
    SvGETMAGIC(sv);
    return newSVsv_nomg(sv);
}

static XSPROTO(pvemp_read_xsub)
{
    dXSARGS;
    struct pvemp_read *read = INT2PTR(struct pvemp_read *, SvIV(ST(0)));
    PERL_UNUSED_VAR(items);
    PERL_UNUSED_VAR(cv);
    switch (read->op) {
    case PVEMP_READ_SCALAR:
        read->value = pvemp_fetched_copy(aTHX_ read->sv);
        break;
    case PVEMP_READ_TOP_INDEX:
        read->index = av_top_index((AV *)read->sv);
        break;
    case PVEMP_READ_ELEMENT: {
        SV **slot = av_fetch((AV *)read->sv, read->index, 0);
        read->value = slot && *slot ? pvemp_fetched_copy(aTHX_ *slot) : NULL;
        break;
    }
    case PVEMP_READ_HASH_INIT:
        hv_iterinit((HV *)read->sv);
        break;
    case PVEMP_READ_HASH_NEXT: {
        HE *he = hv_iternext((HV *)read->sv);
        SV *key;
        if (!he) {
            read->key = read->value = NULL;
            break;
        }
        /* mortal until the value is read too: a dying FETCH frees it */
        key = sv_2mortal(newSVsv_nomg(hv_iterkeysv(he)));
        read->value = pvemp_fetched_copy(aTHX_ hv_iterval((HV *)read->sv, he));
        read->key = SvREFCNT_inc_simple_NN(key);
        break;
    }
    }
    XSRETURN_YES;
}

/* The anonymous guard XSUB, one per interpreter. */
static SV *pvemp_read_cv(pTHX)
{
    SV **slot = hv_fetchs(PL_modglobal, "PVE::RS::Multipath::read_guard", 1);
    if (!SvOK(*slot))
        sv_setiv(*slot, PTR2IV(newXS(NULL, pvemp_read_xsub, __FILE__)));
    return INT2PTR(SV *, SvIV(*slot));
}

/* 0 when the read worked; else it died, and *error is the exception ($@ is left as it was). */
int pvemp_read_guarded(pTHX_ struct pvemp_read *read, SV **error)
{
    dSP;
    int count;
    ENTER;
    SAVETMPS;
    save_scalar(PL_errgv);
    PUSHMARK(SP);
    mXPUSHi(PTR2IV(read));
    PUTBACK;
    count = call_sv(pvemp_read_cv(aTHX), G_LIST | G_EVAL);
    SPAGAIN;
    SP -= count;
    PUTBACK;
    if (count == 0)
        *error = newSVsv(ERRSV);
    FREETMPS;
    LEAVE;
    /* the results outlive this frame's temporaries, then go with the caller's */
    if (count == 0)
        sv_2mortal(*error);
    if (read->key)
        sv_2mortal(read->key);
    if (read->value)
        sv_2mortal(read->value);
    return count == 0;
}
