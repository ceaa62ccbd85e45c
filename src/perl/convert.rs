//! Reading Perl data into [`serde_json::Value`] (the way back is
//! [`super::ser`]).
//!
//! Plain data is read directly. Magical data (a tied scalar, array or hash,
//! `%ENV`, ...) runs Perl code when read, and that code may die; it is read
//! through `pvemp_read_guarded` in the C glue, which catches the die before
//! it can unwind over these frames. The exception then comes back as
//! [`ReadError::Died`]; the caller drops what it built and rethrows it
//! unchanged. Containers are held (a mortal reference) while they are read,
//! so Perl code run meanwhile cannot free them under us.
//!
//! A call reads at most [`MAX_VALUES`] values, [`MAX_DEPTH`] levels deep,
//! [`MAX_GUARDED_READS`] of them magical:
//! a tied array that claims 2**31 elements, a hash whose `NEXTKEY` never
//! ends, or a 100,000-deep nest gets a clear error, not an abort, a hang or
//! a stack overflow.

use std::ffi::{c_char, c_int};
use std::fmt;
use std::ptr;

use serde_json::{Map, Number, Value};

use super::ffi::*;
use crate::text::quote_input;

/// Deeper nesting than this is refused, which also stops reference cycles.
pub const MAX_DEPTH: usize = 256;

/// The most values (scalars, arrays and hashes) one call reads: far above
/// what any export takes (1,024 maps with their paths are about 100,000),
/// far below what would exhaust memory.
pub const MAX_VALUES: usize = 1 << 22;

/// The most reads of magical data one call does: each runs Perl code (a
/// tied FETCH), so this bounds the time a call spends there to about a
/// second.
pub const MAX_GUARDED_READS: usize = 1 << 18;

/// How much room a magical (tied) array gets up front: its claimed size is
/// only a claim.
const MAGICAL_RESERVE: usize = 1024;

/// One step from an argument into its data, for messages.
#[derive(Debug)]
pub enum Step {
    Index(usize),
    Key(String),
}

/// Why an argument could not be read.
pub enum ReadError {
    /// Perl code run by magic died; its exception (a mortal copy), to be
    /// rethrown as it is.
    Died(*mut Sv),
    /// The data is not acceptable; `path` leads from the argument to the
    /// offending value (innermost step first).
    Refused { path: Vec<Step>, message: String },
}

impl ReadError {
    fn refused(message: impl Into<String>) -> Self {
        Self::Refused {
            path: Vec::new(),
            message: message.into(),
        }
    }

    fn within(mut self, step: Step) -> Self {
        if let Self::Refused { path, .. } = &mut self {
            path.push(step);
        }
        self
    }
}

/// Where a refused value is: ` at {maps}[3]{wwid}`, or nothing for the
/// argument itself.
pub struct PathDisplay<'a>(&'a [Step]);

impl<'a> PathDisplay<'a> {
    /// `path` innermost step first.
    pub fn new(path: &'a [Step]) -> Self {
        Self(path)
    }
}

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        // a deep path shows its first and last steps
        const SHOWN: usize = 4;
        f.write_str(" at ")?;
        let steps = self.0.len();
        for (position, step) in self.0.iter().rev().enumerate() {
            if position == SHOWN && steps > 3 * SHOWN {
                write!(f, "...({} levels)...", steps - 2 * SHOWN)?;
            }
            if position >= SHOWN && position < steps - SHOWN && steps > 3 * SHOWN {
                continue;
            }
            match step {
                Step::Index(index) => write!(f, "[{index}]")?,
                Step::Key(key) => write!(f, "{{{}}}", quote_input(key))?,
            }
        }
        Ok(())
    }
}

impl ReadError {
    /// The message for a refused value, `None` for a Perl exception.
    pub fn refusal(&self) -> Option<(PathDisplay<'_>, &str)> {
        match self {
            Self::Died(_) => None,
            Self::Refused { path, message } => Some((PathDisplay(path), message)),
        }
    }
}

type ReadResult<T> = Result<T, ReadError>;

/// Reads the arguments of one call, within one budget of [`MAX_VALUES`].
pub struct Reader {
    perl: *mut Interpreter,
    remaining: usize,
    guarded_remaining: usize,
}

impl Reader {
    /// # Safety
    ///
    /// `perl` must be the running interpreter, and the reader only used on
    /// its thread during one XSUB call.
    pub unsafe fn new(perl: *mut Interpreter) -> Self {
        Self {
            perl,
            remaining: MAX_VALUES,
            guarded_remaining: MAX_GUARDED_READS,
        }
    }

    fn spend(&mut self, count: usize) -> ReadResult<()> {
        if count > self.remaining {
            return Err(ReadError::refused(format!(
                "more than {MAX_VALUES} values in one call"
            )));
        }
        self.remaining -= count;
        Ok(())
    }

    /// Read a Perl scalar (and whatever it references) into a [`Value`].
    ///
    /// # Safety
    ///
    /// `sv` must be a live scalar of the reader's interpreter.
    pub unsafe fn read(&mut self, sv: *mut Sv) -> ReadResult<Value> {
        // SAFETY: the caller's promise.
        unsafe { self.read_at(sv, 0) }
    }

    /// # Safety
    ///
    /// As [`Reader::read`].
    unsafe fn read_at(&mut self, sv: *mut Sv, depth: usize) -> ReadResult<Value> {
        if depth > MAX_DEPTH {
            return Err(ReadError::refused(format!(
                "data nested deeper than {MAX_DEPTH} levels (a reference cycle?)"
            )));
        }
        self.spend(1)?;
        // SAFETY: sv is live (caller); a magical one is replaced by a
        // mortal plain copy, which lives until the call is over.
        unsafe {
            let sv = if pvemp_sv_gmagical(sv) != 0 {
                self.guarded(self.request(ReadOp::Scalar, sv))?.value()?
            } else {
                sv
            };
            if pvemp_sv_rok(sv) != 0 {
                return self.read_reference(sv, depth);
            }
            read_plain_scalar(self.perl, sv)
        }
    }

    /// # Safety
    ///
    /// `sv` must be a live reference (`SvROK`) without get magic.
    unsafe fn read_reference(&mut self, sv: *mut Sv, depth: usize) -> ReadResult<Value> {
        // SAFETY: sv is a live reference (caller), so its target is live;
        // the hold keeps it so while Perl code may run.
        unsafe {
            let perl = self.perl;
            let target = pvemp_sv_rv(sv);
            if pvemp_sv_is_hash(target) != 0 {
                pvemp_sv_mortal_hold(perl, target);
                return self.read_hash(target as *mut Hv, depth);
            }
            if pvemp_sv_is_array(target) != 0 {
                pvemp_sv_mortal_hold(perl, target);
                return self.read_array(target as *mut Av, depth);
            }
            // a boolean holding a reference would test it through overloading
            if pvemp_sv_is_plain_scalar(target) != 0
                && pvemp_sv_rok(target) == 0
                && pvemp_sv_derived_from(perl, sv, c"JSON::PP::Boolean".as_ptr()) != 0
            {
                return Ok(Value::Bool(pvemp_sv_true(perl, target) != 0));
            }
            if pvemp_sv_is_code(target) != 0 {
                return Err(ReadError::refused("a code reference cannot be passed"));
            }
            Err(ReadError::refused(
                "unsupported reference (expected a hash or array reference)",
            ))
        }
    }

    /// # Safety
    ///
    /// `hv` must be a live hash of the reader's interpreter, held for the
    /// call; its iterator is reset.
    unsafe fn read_hash(&mut self, hv: *mut Hv, depth: usize) -> ReadResult<Value> {
        let mut map = Map::new();
        // SAFETY: hv is live (caller). Plain hashes run no Perl code while
        // iterated; magical ones are iterated through guarded reads.
        unsafe {
            if pvemp_sv_magical(hv as *mut Sv) != 0 {
                self.guarded(self.request(ReadOp::HashInit, hv as *mut Sv))?;
                loop {
                    let read = self.guarded(self.request(ReadOp::HashNext, hv as *mut Sv))?;
                    let Some(key) = read.key() else { break };
                    let value = read.value()?;
                    let key = plain_key(self.perl, key)?;
                    let value = self
                        .read_at(value, depth + 1)
                        .map_err(|err| err.within(Step::Key(key.clone())))?;
                    map.insert(key, value);
                }
                return Ok(Value::Object(map));
            }
            pvemp_hv_iterinit(self.perl, hv);
            loop {
                let entry = pvemp_hv_iternext(self.perl, hv);
                if entry.is_null() {
                    break;
                }
                let mut len = 0usize;
                let key = pvemp_he_key(self.perl, entry, &mut len);
                let key =
                    bytes_to_string(raw_bytes(key, len), pvemp_he_utf8(self.perl, entry) != 0);
                let value = self
                    .read_at(pvemp_hv_iterval(self.perl, hv, entry), depth + 1)
                    .map_err(|err| err.within(Step::Key(key.clone())))?;
                map.insert(key, value);
            }
        }
        Ok(Value::Object(map))
    }

    /// # Safety
    ///
    /// `av` must be a live array of the reader's interpreter, held for the
    /// call.
    unsafe fn read_array(&mut self, av: *mut Av, depth: usize) -> ReadResult<Value> {
        // SAFETY: av is live (caller). A magical array's size and elements
        // come from guarded reads; a plain one runs no Perl code except in
        // its elements' magic, which read_at guards.
        unsafe {
            let magical = pvemp_sv_magical(av as *mut Sv) != 0;
            let top = if magical {
                let mut read = self.request(ReadOp::TopIndex, av as *mut Sv);
                self.guarded_in_place(&mut read)?;
                read.raw.index
            } else {
                pvemp_av_top_index(self.perl, av)
            };
            let len = usize::try_from(top.saturating_add(1)).unwrap_or(0);
            if len > self.remaining {
                return Err(ReadError::refused(format!(
                    "an array of {len} elements is more than the {MAX_VALUES} values one call takes"
                )));
            }
            let mut list = Vec::with_capacity(if magical {
                len.min(MAGICAL_RESERVE)
            } else {
                len
            });
            for index in 0..len {
                let value = if magical {
                    let mut read = self.request(ReadOp::Element, av as *mut Sv);
                    read.raw.index = index as isize;
                    match self.guarded(read)?.value_or_missing() {
                        Some(copy) => self.read_at(copy, depth + 1),
                        None => self.spend(1).map(|()| Value::Null),
                    }
                } else {
                    let slot = pvemp_av_fetch(self.perl, av, index as isize);
                    if slot.is_null() || (*slot).is_null() {
                        self.spend(1).map(|()| Value::Null)
                    } else {
                        self.read_at(*slot, depth + 1)
                    }
                };
                list.push(value.map_err(|err| err.within(Step::Index(index)))?);
            }
            Ok(Value::Array(list))
        }
    }

    fn request(&self, op: ReadOp, sv: *mut Sv) -> Read {
        Read::new(op, sv)
    }

    /// Run one guarded read; its (mortal) results come back in the [`Read`].
    fn guarded(&mut self, mut read: Read) -> ReadResult<Read> {
        self.guarded_in_place(&mut read)?;
        Ok(read)
    }

    fn guarded_in_place(&mut self, read: &mut Read) -> ReadResult<()> {
        if self.guarded_remaining == 0 {
            return Err(ReadError::refused(format!(
                "more than {MAX_GUARDED_READS} reads of tied or magical values in one call"
            )));
        }
        self.guarded_remaining -= 1;
        let mut error = ptr::null_mut();
        // SAFETY: read.sv is live (every caller passes a live SV) and of the
        // kind its op reads; the glue stores mortal SVs or NULL into key,
        // value and error.
        let died = unsafe { pvemp_read_guarded(self.perl, &mut read.raw, &mut error) } != 0;
        if died {
            return Err(ReadError::Died(error));
        }
        Ok(())
    }
}

/// The operations of `pvemp_read_guarded` (`PVEMP_READ_*` in the glue).
#[derive(Clone, Copy)]
enum ReadOp {
    Scalar = 0,
    TopIndex = 1,
    Element = 2,
    HashInit = 3,
    HashNext = 4,
}

/// One guarded read, its request and results (`struct pvemp_read`); the
/// results are mortal copies, freed by perl after the call.
struct Read {
    raw: RawRead,
}

impl Read {
    fn new(op: ReadOp, sv: *mut Sv) -> Self {
        Self {
            raw: RawRead {
                op: op as c_int,
                sv,
                index: 0,
                key: ptr::null_mut(),
                value: ptr::null_mut(),
            },
        }
    }

    /// The value read; for an array element `None` when there is none.
    fn value_or_missing(&self) -> Option<*mut Sv> {
        (!self.raw.value.is_null()).then_some(self.raw.value)
    }

    fn value(&self) -> ReadResult<*mut Sv> {
        self.value_or_missing()
            .ok_or_else(|| ReadError::refused("internal error: a guarded read lost its value"))
    }

    /// A hash entry's key; `None` past the last entry.
    fn key(&self) -> Option<*mut Sv> {
        (!self.raw.key.is_null()).then_some(self.raw.key)
    }
}

/// A hash key from magic (a tied hash's `NEXTKEY`) must be a plain string.
///
/// # Safety
///
/// `key` must be a live scalar without magic (a guarded read's copy).
unsafe fn plain_key(perl: *mut Interpreter, key: *mut Sv) -> ReadResult<String> {
    // SAFETY: the caller's promise; reading a non-reference without magic
    // runs no Perl code.
    unsafe {
        if pvemp_sv_rok(key) != 0 {
            return Err(ReadError::refused("a hash key is a reference"));
        }
        Ok(sv_to_string(perl, key))
    }
}

/// A scalar that is not a reference and has no get magic.
///
/// # Safety
///
/// `sv` must be such a live scalar of `perl`.
unsafe fn read_plain_scalar(perl: *mut Interpreter, sv: *mut Sv) -> ReadResult<Value> {
    // SAFETY: the caller's promise; none of these run Perl code.
    unsafe {
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
            return float_to_value(pvemp_sv_nv(perl, sv)).map_err(ReadError::refused);
        }
        Ok(Value::String(sv_to_string(perl, sv)))
    }
}

/// Integral floats (as `2**40` yields) become integers, so they serve where
/// a count or a size is meant. Inf and NaN are refused: no export means them.
fn float_to_value(nv: f64) -> Result<Value, String> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if nv.fract() == 0.0 && nv > -LIMIT && nv < LIMIT {
        return Ok(Value::Number(Number::from(nv as i64)));
    }
    Number::from_f64(nv).map(Value::Number).ok_or_else(|| {
        let shown = if nv.is_nan() {
            "NaN"
        } else if nv > 0.0 {
            "Inf"
        } else {
            "-Inf"
        };
        format!("not a finite number ({shown})")
    })
}

/// # Safety
///
/// `ptr` must point to `len` readable bytes that outlive `'a` (or be null
/// with `len` 0).
unsafe fn raw_bytes<'a>(ptr: *const c_char, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
}

/// # Safety
///
/// `sv` must be a live scalar of `perl` that is not a reference and has no
/// get magic (so no Perl code runs); its string buffer is read, not kept.
unsafe fn sv_to_string(perl: *mut Interpreter, sv: *mut Sv) -> String {
    let mut len = 0usize;
    // SAFETY: the caller's promise.
    unsafe {
        let ptr = pvemp_sv_pv(perl, sv, &mut len);
        bytes_to_string(raw_bytes(ptr, len), pvemp_sv_utf8(sv) != 0)
    }
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
    // SAFETY: the caller's promise; text is valid for text.len() bytes.
    unsafe {
        pvemp_new_pvn(
            perl,
            text.as_ptr() as *const c_char,
            text.len(),
            i32::from(!text.is_ascii()),
        )
    }
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
        let value = |nv| float_to_value(nv).ok();
        assert_eq!(value(1099511627776.0), Some(Value::from(1099511627776i64)));
        assert_eq!(value(1.5), Some(Value::from(1.5)));
    }

    #[test]
    fn inf_and_nan_are_refused() {
        for (nv, shown) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(
                float_to_value(nv),
                Err(format!("not a finite number ({shown})"))
            );
        }
    }
}
