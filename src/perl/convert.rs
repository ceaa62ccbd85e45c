//! Reading Perl data: each value once through [`Reader::node`], into a
//! [`serde_json::Value`] or by the argument deserializer (`de.rs`); the way
//! back is [`super::ser`].
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

use std::borrow::Cow;
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

    pub fn within(mut self, step: Step) -> Self {
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

type ReadResult<T> = Result<T, ReadError>;

/// Reads the arguments of one call, within one budget of [`MAX_VALUES`].
pub struct Reader {
    pub(super) perl: *mut Interpreter,
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
    unsafe fn read_at(&mut self, sv: *mut Sv, depth: usize) -> ReadResult<Value> {
        // SAFETY: the caller's promise.
        unsafe {
            let node = self.node(sv, depth)?;
            self.build(node, depth)
        }
    }

    /// Take one value of the budget and find what `sv` is; a magical one
    /// is read (its FETCH run, guarded) into a mortal plain copy first.
    /// Every value read, as a [`Value`] or by the argument deserializer,
    /// passes here once.
    ///
    /// # Safety
    ///
    /// As [`Reader::read_at`]; `depth` is the level of `sv` in its argument.
    pub unsafe fn node(&mut self, sv: *mut Sv, depth: usize) -> ReadResult<Node> {
        if depth > MAX_DEPTH {
            return Err(ReadError::refused(format!(
                "data nested deeper than {MAX_DEPTH} levels (a reference cycle?)"
            )));
        }
        self.spend(1)?;
        // SAFETY: sv is live (caller); a magical one is replaced by a
        // mortal plain copy, which lives until the call is over.
        unsafe {
            let mut len = 0usize;
            let ptr = pvemp_sv_plain_pv(self.perl, sv, &mut len);
            if !ptr.is_null() {
                return Ok(Node::Str(StrSv { sv, ptr, len }));
            }
            let sv = if pvemp_sv_gmagical(sv) != 0 {
                self.guarded(self.request(ReadOp::Scalar, sv))?.value()?
            } else {
                sv
            };
            if pvemp_sv_rok(sv) != 0 {
                return self.reference_node(sv);
            }
            plain_scalar_node(self.perl, sv)
        }
    }

    /// A missing value (an omitted argument, a hole in an array), as
    /// `undef`; it counts like any other.
    pub fn missing_node(&mut self) -> ReadResult<Node> {
        self.spend(1).map(|()| Node::Undef)
    }

    /// # Safety
    ///
    /// `node` must come from [`Reader::node`] of this reader, in this call.
    pub unsafe fn build(&mut self, node: Node, depth: usize) -> ReadResult<Value> {
        // SAFETY: the caller's promise; the node's SVs are live and held.
        unsafe {
            Ok(match node {
                Node::Undef => Value::Null,
                Node::Bool(flag) => Value::Bool(flag),
                Node::Int(number) => Value::Number(Number::from(number)),
                Node::UInt(number) => Value::Number(Number::from(number)),
                Node::Float(number) => Number::from_f64(number).map_or(Value::Null, Value::Number),
                Node::Str(text) => Value::String(text.text().into_owned()),
                Node::Hash(hv) => self.read_hash(hv, depth)?,
                Node::Array(av) => self.read_array(av, depth)?,
            })
        }
    }

    /// # Safety
    ///
    /// `sv` must be a live reference (`SvROK`) without get magic.
    unsafe fn reference_node(&mut self, sv: *mut Sv) -> ReadResult<Node> {
        // SAFETY: sv is a live reference (caller), so its target is live;
        // the hold keeps it so while Perl code may run.
        unsafe {
            let perl = self.perl;
            let target = pvemp_sv_rv(sv);
            if pvemp_sv_is_hash(target) != 0 {
                pvemp_sv_mortal_hold(perl, target);
                return Ok(Node::Hash(target as *mut Hv));
            }
            if pvemp_sv_is_array(target) != 0 {
                pvemp_sv_mortal_hold(perl, target);
                return Ok(Node::Array(target as *mut Av));
            }
            // a boolean holding a reference would test it through overloading
            if pvemp_sv_is_plain_scalar(target) != 0
                && pvemp_sv_rok(target) == 0
                && pvemp_sv_derived_from(perl, sv, c"JSON::PP::Boolean".as_ptr()) != 0
            {
                return Ok(Node::Bool(pvemp_sv_true(perl, target) != 0));
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
        // SAFETY: the caller's promise.
        unsafe {
            let mut entries = self.hash_entries(hv)?;
            while let Some((key, value)) = entries.next(self)? {
                let value = self
                    .read_at(value, depth + 1)
                    .map_err(|err| err.within(Step::Key(key.clone())))?;
                map.insert(key, value);
            }
        }
        Ok(Value::Object(map))
    }

    /// Start walking a hash's entries (its iterator is reset).
    ///
    /// # Safety
    ///
    /// `hv` must be a live hash of the reader's interpreter, held for the
    /// call.
    pub unsafe fn hash_entries(&mut self, hv: *mut Hv) -> ReadResult<HashEntries> {
        // SAFETY: the caller's promise. A plain hash runs no Perl code
        // while iterated; a magical one is iterated through guarded reads.
        unsafe {
            let magical = pvemp_sv_magical(hv as *mut Sv) != 0;
            if magical {
                self.guarded(self.request(ReadOp::HashInit, hv as *mut Sv))?;
            } else {
                pvemp_hv_iterinit(self.perl, hv);
            }
            Ok(HashEntries { hv, magical })
        }
    }

    /// # Safety
    ///
    /// `av` must be a live array of the reader's interpreter, held for the
    /// call.
    unsafe fn read_array(&mut self, av: *mut Av, depth: usize) -> ReadResult<Value> {
        // SAFETY: the caller's promise.
        unsafe {
            let elements = self.array_elements(av)?;
            let mut list = Vec::with_capacity(elements.reserve());
            for index in 0..elements.len {
                let value = match elements.get(self, index) {
                    Ok(Some(sv)) => self.read_at(sv, depth + 1),
                    Ok(None) => self.missing_node().map(|_| Value::Null),
                    Err(err) => Err(err),
                };
                list.push(value.map_err(|err| err.within(Step::Index(index)))?);
            }
            Ok(Value::Array(list))
        }
    }

    /// An array's size, refused when it is more than the call can read.
    ///
    /// # Safety
    ///
    /// `av` must be a live array of the reader's interpreter, held for the
    /// call.
    pub unsafe fn array_elements(&mut self, av: *mut Av) -> ReadResult<ArrayElements> {
        // SAFETY: the caller's promise. A magical array's size comes from a
        // guarded read.
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
            Ok(ArrayElements { av, magical, len })
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

/// What one Perl value is, as [`Reader::node`] found it. The SVs are live
/// for the call: plain ones without magic (a magical value's copy), so
/// reading them runs no Perl code; containers are held.
#[derive(Clone, Copy)]
pub enum Node {
    Undef,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// Finite and not integral (integral floats are [`Node::Int`]).
    Float(f64),
    /// A string (or a scalar read as one), not a reference.
    Str(StrSv),
    Hash(*mut Hv),
    Array(*mut Av),
}

/// A string scalar and its buffer, as [`Reader::node`] read it: valid until
/// Perl code runs again, which every reader of a [`Node`] comes before.
#[derive(Clone, Copy)]
pub struct StrSv {
    pub sv: *mut Sv,
    ptr: *const c_char,
    pub len: usize,
}

impl StrSv {
    /// # Safety
    ///
    /// `sv` must be a live scalar of `perl` that is not a reference and has
    /// no get magic (so reading it runs no Perl code).
    pub unsafe fn read(perl: *mut Interpreter, sv: *mut Sv) -> Self {
        let mut len = 0usize;
        // SAFETY: the caller's promise.
        let ptr = unsafe { pvemp_sv_pv(perl, sv, &mut len) };
        Self { sv, ptr, len }
    }

    /// The text, borrowed from the buffer when that is UTF-8 (a character
    /// string, or a byte string that is valid UTF-8), else converted as
    /// [`bytes_to_string`] does.
    ///
    /// # Safety
    ///
    /// No Perl code ran since the buffer was read, and the text borrowed is
    /// not used once the SV may have changed.
    pub unsafe fn text<'a>(&self) -> Cow<'a, str> {
        // SAFETY: the caller's promise: the buffer is the SV's, unchanged.
        unsafe {
            let bytes = raw_bytes(self.ptr, self.len);
            // the long texts read (KV values, multipathd's JSON) are ASCII,
            // and testing that costs ~0.3 instructions a byte less than
            // validating UTF-8
            if bytes.is_ascii() {
                return Cow::Borrowed(std::str::from_utf8_unchecked(bytes));
            }
            match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => Cow::Owned(bytes_to_string(bytes, pvemp_sv_utf8(self.sv) != 0)),
            }
        }
    }
}

/// The entries of a hash being read, see [`Reader::hash_entries`].
pub struct HashEntries {
    hv: *mut Hv,
    magical: bool,
}

impl HashEntries {
    /// The next key and its value (a live SV, held or a mortal copy).
    ///
    /// # Safety
    ///
    /// `reader` must be the one that started the walk, in the same call.
    pub unsafe fn next(&mut self, reader: &mut Reader) -> ReadResult<Option<(String, *mut Sv)>> {
        // SAFETY: the caller's promise; see Reader::hash_entries.
        unsafe {
            if self.magical {
                let read = reader.guarded(reader.request(ReadOp::HashNext, self.hv as *mut Sv))?;
                let Some(key) = read.key() else {
                    return Ok(None);
                };
                let value = read.value()?;
                return Ok(Some((plain_key(reader.perl, key)?, value)));
            }
            let entry = pvemp_hv_iternext(reader.perl, self.hv);
            if entry.is_null() {
                return Ok(None);
            }
            let mut len = 0usize;
            let key = pvemp_he_key(reader.perl, entry, &mut len);
            let key = bytes_to_string(raw_bytes(key, len), pvemp_he_utf8(reader.perl, entry) != 0);
            Ok(Some((key, pvemp_hv_iterval(reader.perl, self.hv, entry))))
        }
    }
}

/// The elements of an array being read, see [`Reader::array_elements`].
pub struct ArrayElements {
    av: *mut Av,
    magical: bool,
    pub len: usize,
}

impl ArrayElements {
    /// How much room to reserve: a magical (tied) array's size is only a claim.
    pub fn reserve(&self) -> usize {
        if self.magical {
            self.len.min(MAGICAL_RESERVE)
        } else {
            self.len
        }
    }

    /// The element at `index` (a live SV), `None` for a hole.
    ///
    /// # Safety
    ///
    /// `reader` must be the one that sized the array, in the same call.
    pub unsafe fn get(&self, reader: &mut Reader, index: usize) -> ReadResult<Option<*mut Sv>> {
        // SAFETY: the caller's promise; a magical array's elements come
        // from guarded reads, a plain one's run no Perl code (their own
        // magic is guarded by Reader::node).
        unsafe {
            if self.magical {
                let mut read = reader.request(ReadOp::Element, self.av as *mut Sv);
                read.raw.index = index as isize;
                return Ok(reader.guarded(read)?.value_or_missing());
            }
            let sv = pvemp_av_elem(self.av, index as isize);
            Ok((!sv.is_null()).then_some(sv))
        }
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
        Ok(sv_text(perl, key).into_owned())
    }
}

/// A scalar that is not a reference and has no get magic.
///
/// # Safety
///
/// `sv` must be such a live scalar of `perl`.
unsafe fn plain_scalar_node(perl: *mut Interpreter, sv: *mut Sv) -> ReadResult<Node> {
    // SAFETY: the caller's promise; none of these run Perl code.
    unsafe {
        if pvemp_sv_ok(sv) == 0 {
            return Ok(Node::Undef);
        }
        if pvemp_sv_pokp(sv) != 0 {
            return Ok(Node::Str(StrSv::read(perl, sv)));
        }
        if pvemp_sv_iokp(sv) != 0 {
            return Ok(if pvemp_sv_is_uv(sv) != 0 {
                Node::UInt(pvemp_sv_uv(perl, sv))
            } else {
                Node::Int(pvemp_sv_iv(perl, sv))
            });
        }
        if pvemp_sv_nokp(sv) != 0 {
            return float_node(pvemp_sv_nv(perl, sv)).map_err(ReadError::refused);
        }
        Ok(Node::Str(StrSv::read(perl, sv)))
    }
}

/// Integral floats (as `2**40` yields) become integers, so they serve where
/// a count or a size is meant. Inf and NaN are refused: no export means them.
fn float_node(nv: f64) -> Result<Node, String> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if nv.fract() == 0.0 && nv > -LIMIT && nv < LIMIT {
        return Ok(Node::Int(nv as i64));
    }
    if nv.is_finite() {
        return Ok(Node::Float(nv));
    }
    let shown = if nv.is_nan() {
        "NaN"
    } else if nv > 0.0 {
        "Inf"
    } else {
        "-Inf"
    };
    Err(format!("not a finite number ({shown})"))
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

/// A string scalar's text, as [`StrSv::text`] has it.
///
/// # Safety
///
/// `sv` must be a live scalar of `perl` that is not a reference and has no
/// get magic (so no Perl code runs); the text borrowed is its buffer, valid
/// while it lives unchanged.
pub unsafe fn sv_text<'a>(perl: *mut Interpreter, sv: *mut Sv) -> Cow<'a, str> {
    // SAFETY: the caller's promise.
    unsafe { StrSv::read(perl, sv).text() }
}

/// A string scalar's private copy, mortal: sharing the buffer where perl
/// can (copy-on-write), so a big string costs no copy. Perl code run later
/// in the call cannot reach it; changing or freeing the original leaves it
/// as it is.
///
/// # Safety
///
/// `sv` must be a live scalar of `perl` without get magic.
pub unsafe fn private_copy(perl: *mut Interpreter, sv: *mut Sv) -> *mut Sv {
    // SAFETY: the caller's promise; the copy is new, and mortal from here.
    unsafe { pvemp_sv_2mortal(perl, pvemp_new_sv_copy_nomg(perl, sv)) }
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
        assert!(matches!(
            float_node(1099511627776.0),
            Ok(Node::Int(1099511627776))
        ));
        assert!(matches!(float_node(1.5), Ok(Node::Float(number)) if number == 1.5));
    }

    #[test]
    fn inf_and_nan_are_refused() {
        for (nv, shown) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(
                float_node(nv).err(),
                Some(format!("not a finite number ({shown})"))
            );
        }
    }
}
