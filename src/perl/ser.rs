//! A serde [`Serializer`] that builds Perl data directly, so a large result
//! (a thousand maps with their paths) goes to Perl without an intermediate
//! `serde_json::Value` tree.
//!
//! The data mapping is the one of `serde_json::to_value` followed by
//! [`super::convert::value_to_sv`]: `None` and unit are `undef`, bools `1`/`0`,
//! enums as serde_json represents them (a unit variant is its name, the
//! others a one-key hash).

use std::cell::Cell;
use std::ffi::{c_char, c_int};
use std::fmt;

use serde::ser::{self, Serialize, Serializer};

use super::convert::new_string;
use super::ffi::*;

/// An owned reference to a new SV; dropped (refcount decremented) unless
/// handed over with [`SvBox::into_raw`].
pub struct SvBox {
    perl: *mut Interpreter,
    sv: *mut Sv,
}

impl SvBox {
    /// # Safety
    ///
    /// `sv` must be an SV of `perl` whose reference the caller owns.
    unsafe fn new(perl: *mut Interpreter, sv: *mut Sv) -> Self {
        Self { perl, sv }
    }

    pub fn into_raw(self) -> *mut Sv {
        let sv = self.sv;
        std::mem::forget(self);
        sv
    }
}

impl Drop for SvBox {
    fn drop(&mut self) {
        // SAFETY: we own this reference (see SvBox::new).
        unsafe { pvemp_sv_refcnt_dec(self.perl, self.sv) }
    }
}

#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Serializes into a new Perl value.
#[derive(Clone, Copy)]
pub struct ToPerl<'c> {
    perl: *mut Interpreter,
    statics: &'c Statics,
}

/// Perl strings made once per call for texts a result repeats, as shared
/// strings (perl's table of hash keys): a key stored through one is not
/// hashed and looked up again, and a value copied from one shares its
/// string instead of allocating it.
///
/// - The `'static` texts, names of struct fields and enum variants, which
///   each of thousands of maps or cells repeats: by address.
/// - Short ASCII hash keys (node names, 64 000 times in a cluster matrix)
///   and string values (`active`, `running`, ... on every path), from
///   their second time on: by content, direct-mapped, so hostile input can
///   only make it miss.
pub struct Statics {
    perl: *mut Interpreter,
    by_address: Box<[Cell<Slot>]>,
    by_content: Box<[Cell<Slot>]>,
}

/// A cached shared string, or (`sv` null) a text seen once.
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    text: *const u8,
    len: usize,
    sv: *mut Sv,
}

const EMPTY: Slot = Slot {
    hash: 0,
    text: std::ptr::null(),
    len: 0,
    sv: std::ptr::null_mut(),
};

const STATIC_SLOTS: usize = 256;
const STATIC_PROBES: usize = 8;
const CONTENT_SLOTS: usize = 1024;
/// Longer texts are not cached (WWIDs are 33 bytes).
const CONTENT_MAX_BYTES: usize = 64;

/// Eight bytes at a time, the last word zero-padded; no copy (a copy of a
/// variable length is a call to memcpy for each of thousands of strings).
fn text_hash(bytes: &[u8]) -> u64 {
    let mix =
        |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    let mut chunks = bytes.chunks_exact(8);
    let mut hash = bytes.len() as u64;
    for chunk in &mut chunks {
        hash = mix(
            hash,
            u64::from_le_bytes(chunk.try_into().expect("eight bytes")),
        );
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let word = rest
            .iter()
            .rev()
            .fold(0u64, |word, &byte| (word << 8) | u64::from(byte));
        hash = mix(hash, word);
    }
    hash
}

impl Statics {
    /// # Safety
    ///
    /// `perl` must be the running interpreter; the value is dropped while
    /// it still runs, on its thread.
    pub unsafe fn new(perl: *mut Interpreter) -> Self {
        Self {
            perl,
            by_address: vec![Cell::new(EMPTY); STATIC_SLOTS].into_boxed_slice(),
            by_content: vec![Cell::new(EMPTY); CONTENT_SLOTS].into_boxed_slice(),
        }
    }

    /// Put a new shared string of `text` into `slot` (dropping what was
    /// there) and return it, borrowed: the cache owns it.
    #[cold]
    fn fill(&self, slot: &Cell<Slot>, hash: u64, text: &str) -> *mut Sv {
        // SAFETY: self.perl is the running interpreter (Statics::new); the
        // new SV is ours until dropped, as is the one it replaces. A shared
        // string's buffer lives as long as the SV.
        unsafe {
            let sv = pvemp_new_shared_pvn(
                self.perl,
                text.as_ptr() as *const c_char,
                text.len(),
                c_int::from(!text.is_ascii()),
            );
            let old = slot.get().sv;
            if !old.is_null() {
                pvemp_sv_refcnt_dec(self.perl, old);
            }
            let mut len = 0;
            let buffer = pvemp_sv_pv(self.perl, sv, &mut len) as *const u8;
            slot.set(Slot {
                hash,
                text: buffer,
                len,
                sv,
            });
            sv
        }
    }

    /// The shared string of a `'static` text (borrowed: the cache owns it).
    /// Inlined where the fields of each struct are stored: its home slot
    /// holds it but for the first time.
    #[inline]
    fn get(&self, text: &'static str) -> *mut Sv {
        let address = text.as_ptr() as u64;
        let home = ((address ^ text.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56)
            as usize
            % STATIC_SLOTS;
        let slot = self.by_address[home].get();
        if slot.hash == address && slot.len == text.len() && !slot.sv.is_null() {
            return slot.sv;
        }
        self.get_slow(text, address, home)
    }

    /// [`Statics::get`] past the home slot. A few slots are probed: the
    /// field names of one struct, all hot at once, must not evict each
    /// other (with one slot each, two of some fifty names would share one
    /// in most builds).
    #[cold]
    fn get_slow(&self, text: &'static str, address: u64, home: usize) -> *mut Sv {
        for probe in 0..STATIC_PROBES {
            let slot = &self.by_address[(home + probe) % STATIC_SLOTS];
            let Slot { hash, len, sv, .. } = slot.get();
            if sv.is_null() {
                return self.fill(slot, address, text);
            }
            if hash == address && len == text.len() {
                return sv;
            }
        }
        self.fill(&self.by_address[home], address, text)
    }

    /// The shared string of a short ASCII text seen before (a text seen
    /// once, such as a WWID key, is not worth one); borrowed: the cache
    /// owns it.
    #[inline]
    fn recurring(&self, text: &str) -> Option<*mut Sv> {
        if text.len() > CONTENT_MAX_BYTES || !text.is_ascii() {
            return None;
        }
        let hash = text_hash(text.as_bytes());
        let cell = &self.by_content[(hash >> 54) as usize % CONTENT_SLOTS];
        let slot = cell.get();
        let same = slot.hash == hash && slot.len == text.len();
        if same && !slot.sv.is_null() {
            // SAFETY: the slot's text is the live shared string's buffer.
            if unsafe { std::slice::from_raw_parts(slot.text, slot.len) } == text.as_bytes() {
                return Some(slot.sv);
            }
        }
        if same && slot.sv.is_null() {
            return Some(self.fill(cell, hash, text));
        }
        if slot.sv.is_null() {
            cell.set(Slot {
                hash,
                len: text.len(),
                ..EMPTY
            });
        }
        None
    }
}

impl Drop for Statics {
    fn drop(&mut self) {
        let slots = self.by_address.iter().chain(self.by_content.iter());
        for slot in slots.map(Cell::get).filter(|slot| !slot.sv.is_null()) {
            // SAFETY: each is an SV we own (Statics::fill).
            unsafe { pvemp_sv_refcnt_dec(self.perl, slot.sv) }
        }
    }
}

impl<'c> ToPerl<'c> {
    /// # Safety
    ///
    /// `perl` must be the running interpreter, and the serializer only used
    /// on its thread while it runs.
    pub unsafe fn new(perl: *mut Interpreter, statics: &'c Statics) -> Self {
        Self { perl, statics }
    }

    /// A new string holding a `'static` text: a copy of its shared string.
    fn static_string(self, text: &'static str) -> SvBox {
        let shared = self.statics.get(text);
        // SAFETY: shared is a live shared string of the running interpreter
        // (Statics::fill); the copy is new and ours.
        self.wrap(unsafe { pvemp_new_shared_copy(self.perl, shared) })
    }

    fn wrap(self, sv: *mut Sv) -> SvBox {
        // SAFETY: every pvemp_new_* result is a new SV we own.
        unsafe { SvBox::new(self.perl, sv) }
    }

    fn string(self, text: &str) -> SvBox {
        if let Some(shared) = self.statics.recurring(text) {
            // SAFETY: shared is a live shared string of the running
            // interpreter (Statics::fill); the copy is new and ours.
            return self.wrap(unsafe { pvemp_new_shared_copy(self.perl, shared) });
        }
        // SAFETY: self.perl is the running interpreter (ToPerl::new).
        self.wrap(unsafe { new_string(self.perl, text) })
    }

    /// A hash with room for `keys` entries: a struct's fields (a few may be
    /// skipped) fill it without the table being doubled on the way.
    fn new_hash(self, keys: Option<usize>) -> HashBuilder<'c> {
        // SAFETY: as above; the HV is owned by the builder until finished.
        let hv = unsafe { pvemp_new_hv(self.perl) };
        // perl's default table holds 8 keys
        if let Some(keys) = keys.filter(|keys| (9..=1 << 16).contains(keys)) {
            // SAFETY: hv is the new hash.
            unsafe { pvemp_hv_ksplit(self.perl, hv, keys as isize) };
        }
        HashBuilder {
            to_perl: self,
            hv: self.wrap(hv as *mut Sv),
            pending_key: None,
        }
    }

    fn new_array(self, len: Option<usize>) -> ArrayBuilder<'c> {
        // SAFETY: as above.
        let av = unsafe { pvemp_new_av(self.perl) };
        if let Some(len) = len.filter(|len| *len > 0) {
            // SAFETY: av is the new array.
            unsafe { pvemp_av_extend(self.perl, av, len as isize - 1) };
        }
        ArrayBuilder {
            to_perl: self,
            av: self.wrap(av as *mut Sv),
        }
    }

    /// `{ variant => value }`, as serde_json represents non-unit variants.
    fn variant_hash(self, variant: &str, value: SvBox) -> SvBox {
        let mut hash = self.new_hash(Some(1));
        hash.store(variant, value);
        hash.finish()
    }
}

pub struct HashBuilder<'c> {
    to_perl: ToPerl<'c>,
    hv: SvBox,
    pending_key: Option<String>,
}

impl HashBuilder<'_> {
    fn store(&mut self, key: &str, value: SvBox) {
        let len = key.len() as i32;
        let signed_len = if key.is_ascii() { len } else { -len };
        let value = value.into_raw();
        // SAFETY: hv is our new hash; hv_store takes over the reference to
        // `value`, and on failure (never for a plain hash) we drop it.
        unsafe {
            let perl = self.to_perl.perl;
            let hv = self.hv.sv as *mut Hv;
            if pvemp_hv_store(perl, hv, key.as_ptr() as *const c_char, signed_len, value).is_null()
            {
                pvemp_sv_refcnt_dec(perl, value);
            }
        }
    }

    /// Store under a `'static` key, through its shared string.
    fn store_static(&mut self, key: &'static str, value: SvBox) {
        let key = self.to_perl.statics.get(key);
        self.store_shared(key, value);
    }

    /// Store under a key, through a shared string when it is a short one.
    fn store_text(&mut self, key: &str, value: SvBox) {
        match self.to_perl.statics.recurring(key) {
            Some(shared) => self.store_shared(shared, value),
            None => self.store(key, value),
        }
    }

    /// Store under a shared string's key.
    fn store_shared(&mut self, key: *mut Sv, value: SvBox) {
        let value = value.into_raw();
        // SAFETY: hv is our new hash, key a live shared string; the store
        // takes over the reference to `value`, and on failure (never for a
        // plain hash) we drop it.
        unsafe {
            let perl = self.to_perl.perl;
            let hv = self.hv.sv as *mut Hv;
            if pvemp_hv_store_ent(perl, hv, key, value) == 0 {
                pvemp_sv_refcnt_dec(perl, value);
            }
        }
    }

    fn finish(self) -> SvBox {
        let perl = self.to_perl.perl;
        let hv = self.hv.into_raw();
        // SAFETY: the new RV takes over our reference to the hash.
        self.to_perl.wrap(unsafe { pvemp_new_rv_noinc(perl, hv) })
    }
}

pub struct ArrayBuilder<'c> {
    to_perl: ToPerl<'c>,
    av: SvBox,
}

impl ArrayBuilder<'_> {
    fn push(&mut self, value: SvBox) {
        // SAFETY: av is our new array; av_push takes over the reference.
        unsafe { pvemp_av_push(self.to_perl.perl, self.av.sv as *mut Av, value.into_raw()) }
    }

    fn finish(self) -> SvBox {
        let perl = self.to_perl.perl;
        let av = self.av.into_raw();
        // SAFETY: the new RV takes over our reference to the array.
        self.to_perl.wrap(unsafe { pvemp_new_rv_noinc(perl, av) })
    }
}

/// A tuple or struct variant: the hash around it and the inner value.
pub struct VariantBuilder<T> {
    variant: &'static str,
    inner: T,
}

impl<'c> Serializer for ToPerl<'c> {
    type Ok = SvBox;
    type Error = Error;
    type SerializeSeq = ArrayBuilder<'c>;
    type SerializeTuple = ArrayBuilder<'c>;
    type SerializeTupleStruct = ArrayBuilder<'c>;
    type SerializeTupleVariant = VariantBuilder<ArrayBuilder<'c>>;
    type SerializeMap = HashBuilder<'c>;
    type SerializeStruct = HashBuilder<'c>;
    type SerializeStructVariant = VariantBuilder<HashBuilder<'c>>;

    fn serialize_bool(self, v: bool) -> Result<SvBox, Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i8(self, v: i8) -> Result<SvBox, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<SvBox, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<SvBox, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<SvBox, Error> {
        // SAFETY: self.perl is the running interpreter.
        Ok(self.wrap(unsafe { pvemp_new_iv(self.perl, v) }))
    }
    fn serialize_u8(self, v: u8) -> Result<SvBox, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<SvBox, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<SvBox, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<SvBox, Error> {
        match i64::try_from(v) {
            Ok(v) => self.serialize_i64(v),
            // SAFETY: self.perl is the running interpreter.
            Err(_) => Ok(self.wrap(unsafe { pvemp_new_uv(self.perl, v) })),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<SvBox, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<SvBox, Error> {
        if !v.is_finite() {
            return self.serialize_unit(); // as serde_json does
        }
        // SAFETY: self.perl is the running interpreter.
        Ok(self.wrap(unsafe { pvemp_new_nv(self.perl, v) }))
    }
    fn serialize_char(self, v: char) -> Result<SvBox, Error> {
        Ok(self.string(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<SvBox, Error> {
        Ok(self.string(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<SvBox, Error> {
        // SAFETY: self.perl is the running interpreter; a byte string.
        let sv = unsafe { pvemp_new_pvn(self.perl, v.as_ptr() as *const c_char, v.len(), 0) };
        Ok(self.wrap(sv))
    }
    fn serialize_none(self) -> Result<SvBox, Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<SvBox, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<SvBox, Error> {
        // SAFETY: self.perl is the running interpreter.
        Ok(self.wrap(unsafe { pvemp_new_undef(self.perl) }))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<SvBox, Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<SvBox, Error> {
        Ok(self.static_string(variant))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<SvBox, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<SvBox, Error> {
        let inner = value.serialize(self)?;
        Ok(self.variant_hash(variant, inner))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ArrayBuilder<'c>, Error> {
        Ok(self.new_array(len))
    }
    fn serialize_tuple(self, len: usize) -> Result<ArrayBuilder<'c>, Error> {
        Ok(self.new_array(Some(len)))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<ArrayBuilder<'c>, Error> {
        Ok(self.new_array(Some(len)))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<ArrayBuilder<'c>>, Error> {
        Ok(VariantBuilder {
            variant,
            inner: self.new_array(Some(len)),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<HashBuilder<'c>, Error> {
        Ok(self.new_hash(len))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<HashBuilder<'c>, Error> {
        Ok(self.new_hash(Some(len)))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<HashBuilder<'c>>, Error> {
        Ok(VariantBuilder {
            variant,
            inner: self.new_hash(Some(len)),
        })
    }
}

impl ser::SerializeSeq for ArrayBuilder<'_> {
    type Ok = SvBox;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let value = value.serialize(self.to_perl)?;
        self.push(value);
        Ok(())
    }
    fn end(self) -> Result<SvBox, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for ArrayBuilder<'_> {
    type Ok = SvBox;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<SvBox, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for ArrayBuilder<'_> {
    type Ok = SvBox;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<SvBox, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for VariantBuilder<ArrayBuilder<'_>> {
    type Ok = SvBox;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<SvBox, Error> {
        let to_perl = self.inner.to_perl;
        Ok(to_perl.variant_hash(self.variant, self.inner.finish()))
    }
}

impl ser::SerializeMap for HashBuilder<'_> {
    type Ok = SvBox;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.pending_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| Error("map value without a key".into()))?;
        let value = value.serialize(self.to_perl)?;
        self.store_text(&key, value);
        Ok(())
    }
    /// The value first, then the key straight into the hash: no copy of a
    /// string key is made.
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let value = value.serialize(self.to_perl)?;
        key.serialize(EntryKey {
            hash: self,
            value: Some(value),
        })
    }
    fn end(self) -> Result<SvBox, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for HashBuilder<'_> {
    type Ok = SvBox;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let value = value.serialize(self.to_perl)?;
        self.store_static(key, value);
        Ok(())
    }
    fn end(self) -> Result<SvBox, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for VariantBuilder<HashBuilder<'_>> {
    type Ok = SvBox;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<SvBox, Error> {
        let to_perl = self.inner.to_perl;
        Ok(to_perl.variant_hash(self.variant, self.inner.finish()))
    }
}

/// The key of a hash entry whose value is made: a string is stored as it
/// is, anything else through [`KeySerializer`].
struct EntryKey<'h, 'c> {
    hash: &'h mut HashBuilder<'c>,
    value: Option<SvBox>,
}

impl EntryKey<'_, '_> {
    fn store(mut self, key: &str) -> Result<(), Error> {
        let value = self.value.take().expect("stored once");
        self.hash.store_text(key, value);
        Ok(())
    }

    fn other<T: ?Sized + Serialize>(self, key: &T) -> Result<(), Error> {
        let text = key.serialize(KeySerializer)?;
        self.store(&text)
    }
}

// A hash key is a string (or a number or char as its text); no value and
// every compound value are refused, alike in both key serializers.
macro_rules! refuse_compound_keys {
    ($ok:ty) => {
        fn serialize_none(self) -> Result<$ok, Error> {
            Err(key_error())
        }
        fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<$ok, Error> {
            value.serialize(self)
        }
        fn serialize_unit(self) -> Result<$ok, Error> {
            Err(key_error())
        }
        fn serialize_unit_struct(self, _name: &'static str) -> Result<$ok, Error> {
            Err(key_error())
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _value: &T,
        ) -> Result<$ok, Error> {
            Err(key_error())
        }
        fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
            Err(key_error())
        }
        fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
            Err(key_error())
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err(key_error())
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(key_error())
        }
        fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err(key_error())
        }
        fn serialize_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStruct, Error> {
            Err(key_error())
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(key_error())
        }
    };
}

macro_rules! entry_key_via_text {
    ($($method:ident($type:ty)),*) => {$(
        fn $method(self, v: $type) -> Result<(), Error> {
            self.other(&v)
        }
    )*};
}

impl Serializer for EntryKey<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.store(v)
    }
    entry_key_via_text!(
        serialize_char(char),
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_bytes(&[u8])
    );
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.store(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    refuse_compound_keys!(());
}

/// Hash keys: strings, and numbers or chars as their text (as serde_json).
struct KeySerializer;

fn key_error() -> Error {
    Error("hash keys must be strings".into())
}

impl Serializer for KeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    refuse_compound_keys!(String);
}
