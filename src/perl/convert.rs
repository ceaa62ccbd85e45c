//! Reading Perl data into [`serde_json::Value`] (the way back is
//! [`super::ser`]).

use std::ffi::c_char;

use anyhow::{bail, Error};
use serde_json::{Map, Number, Value};

use super::ffi::*;

/// Deeper nesting than this is refused, which also stops reference cycles.
const MAX_DEPTH: usize = 256;

/// Read a Perl scalar (and whatever it references) into a [`Value`].
///
/// # Safety
///
/// `perl` must be the running interpreter and `sv` a live scalar of it. Get
/// magic runs on the way (a tied variable's FETCH may run Perl code).
pub unsafe fn sv_to_value(
    perl: *mut Interpreter,
    sv: *mut Sv,
    depth: usize,
) -> Result<Value, Error> {
    if depth > MAX_DEPTH {
        bail!("data nested deeper than {MAX_DEPTH} levels (a reference cycle?)");
    }
    pvemp_sv_get_magic(perl, sv);
    if pvemp_sv_rok(sv) != 0 {
        return reference_to_value(perl, sv, depth);
    }
    if pvemp_sv_ok(sv) == 0 {
        return Ok(Value::Null);
    }
    if pvemp_sv_pokp(sv) != 0 {
        return Ok(Value::String(sv_to_string(perl, sv)));
    }
    if pvemp_sv_iokp(sv) != 0 {
        let number = if pvemp_sv_is_uv(sv) != 0 {
            Number::from(pvemp_sv_uv(perl, sv))
        } else {
            Number::from(pvemp_sv_iv(perl, sv))
        };
        return Ok(Value::Number(number));
    }
    if pvemp_sv_nokp(sv) != 0 {
        return Ok(float_to_value(pvemp_sv_nv(perl, sv)));
    }
    Ok(Value::String(sv_to_string(perl, sv)))
}

/// Integral floats (as `2**40` yields) become integers, so they serve where
/// a count or a size is meant.
fn float_to_value(nv: f64) -> Value {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if nv.fract() == 0.0 && nv > -LIMIT && nv < LIMIT {
        return Value::Number(Number::from(nv as i64));
    }
    Number::from_f64(nv).map_or(Value::Null, Value::Number)
}

/// # Safety
///
/// `sv` must be a live reference (`SvROK`) of the running interpreter `perl`.
unsafe fn reference_to_value(
    perl: *mut Interpreter,
    sv: *mut Sv,
    depth: usize,
) -> Result<Value, Error> {
    let target = pvemp_sv_rv(sv);
    if pvemp_sv_is_hash(target) != 0 {
        return hash_to_value(perl, target as *mut Hv, depth);
    }
    if pvemp_sv_is_array(target) != 0 {
        return array_to_value(perl, target as *mut Av, depth);
    }
    if pvemp_sv_is_plain_scalar(target) != 0
        && pvemp_sv_derived_from(perl, sv, c"JSON::PP::Boolean".as_ptr()) != 0
    {
        return Ok(Value::Bool(pvemp_sv_true(perl, target) != 0));
    }
    if pvemp_sv_is_code(target) != 0 {
        bail!("a code reference cannot be passed");
    }
    bail!("unsupported reference (expected a hash or array reference)");
}

/// # Safety
///
/// `hv` must be a live hash of the running interpreter `perl`; its iterator
/// is reset.
unsafe fn hash_to_value(perl: *mut Interpreter, hv: *mut Hv, depth: usize) -> Result<Value, Error> {
    let mut map = Map::new();
    pvemp_hv_iterinit(perl, hv);
    loop {
        let entry = pvemp_hv_iternext(perl, hv);
        if entry.is_null() {
            break;
        }
        let mut len = 0usize;
        let key = pvemp_he_key(perl, entry, &mut len);
        let key = bytes_to_string(raw_bytes(key, len), pvemp_he_utf8(perl, entry) != 0);
        let value = sv_to_value(perl, pvemp_hv_iterval(perl, hv, entry), depth + 1)?;
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

/// # Safety
///
/// `av` must be a live array of the running interpreter `perl`.
unsafe fn array_to_value(
    perl: *mut Interpreter,
    av: *mut Av,
    depth: usize,
) -> Result<Value, Error> {
    let top = pvemp_av_top_index(perl, av);
    let mut list = Vec::with_capacity((top + 1).max(0) as usize);
    for index in 0..=top {
        let slot = pvemp_av_fetch(perl, av, index);
        if slot.is_null() || (*slot).is_null() {
            list.push(Value::Null);
        } else {
            list.push(sv_to_value(perl, *slot, depth + 1)?);
        }
    }
    Ok(Value::Array(list))
}

/// # Safety
///
/// `ptr` must point to `len` readable bytes that outlive `'a` (or be null
/// with `len` 0).
unsafe fn raw_bytes<'a>(ptr: *const c_char, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    std::slice::from_raw_parts(ptr as *const u8, len)
}

/// # Safety
///
/// `sv` must be a live scalar of the running interpreter `perl`; its string
/// buffer is read, not kept.
unsafe fn sv_to_string(perl: *mut Interpreter, sv: *mut Sv) -> String {
    let mut len = 0usize;
    let ptr = pvemp_sv_pv(perl, sv, &mut len);
    bytes_to_string(raw_bytes(ptr, len), pvemp_sv_utf8(sv) != 0)
}

/// Character strings carry UTF-8; byte strings are UTF-8 text when valid,
/// else Latin-1 (each byte one character), as Perl reads them.
fn bytes_to_string(bytes: &[u8], is_utf8: bool) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) if is_utf8 => String::from_utf8_lossy(bytes).into_owned(),
        Err(_) => bytes.iter().map(|&byte| byte as char).collect(),
    }
}

/// A new string scalar, flagged UTF-8 when it is not plain ASCII.
///
/// # Safety
///
/// `perl` must be the running interpreter.
pub unsafe fn new_string(perl: *mut Interpreter, text: &str) -> *mut Sv {
    pvemp_new_pvn(
        perl,
        text.as_ptr() as *const c_char,
        text.len(),
        i32::from(!text.is_ascii()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_strings_decode_as_utf8_or_latin1() {
        assert_eq!(bytes_to_string("grüße".as_bytes(), false), "grüße");
        assert_eq!(bytes_to_string(b"gr\xfc\xdfe", false), "grüße");
        assert_eq!(bytes_to_string("ü".as_bytes(), true), "ü");
    }

    #[test]
    fn integral_floats_become_integers() {
        assert_eq!(
            float_to_value(1099511627776.0),
            Value::from(1099511627776i64)
        );
        assert_eq!(float_to_value(1.5), Value::from(1.5));
        assert_eq!(float_to_value(f64::NAN), Value::Null);
    }
}
