//! The XSUBs: the boot function of each package and the one dispatcher that
//! every export runs through.
//!
//! `croak` longjmps, so it is only ever called from the outermost
//! `extern "C"` function, after every Rust value with a destructor is gone:
//! the work happens in [`call_export`], which never lets a panic or an error
//! escape and hands back a mortal SV either way.

use std::any::Any;
use std::cell::Cell;
use std::ffi::{c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use super::convert::new_string;
use super::ffi::*;
use super::{ArgValues, Export, Output};

const SOURCE_FILE: &std::ffi::CStr = c"pve-multipath (Rust)";

/// The arguments perl passed to an XSUB; taken off the stack on entry.
struct StackFrame {
    mark: isize,
}

impl StackFrame {
    /// # Safety
    ///
    /// Must be called exactly once, first thing in an XSUB.
    unsafe fn enter(perl: *mut Interpreter) -> (Self, Vec<*mut Sv>) {
        // SAFETY: in an XSUB the arguments are the stack entries above the
        // mark perl pushed for it.
        unsafe {
            let mark = pvemp_popmark(perl) as isize;
            let base = pvemp_stack_base(perl);
            let sp = pvemp_stack_sp(perl);
            let items = sp.offset_from(base.offset(mark));
            let args = (1..=items)
                .map(|index| *base.offset(mark + index))
                .collect();
            (Self { mark }, args)
        }
    }

    /// Leave one value on the stack as the XSUB's result.
    ///
    /// # Safety
    ///
    /// `result` must be a mortal (or immortal) SV of `perl`.
    unsafe fn return_one(self, perl: *mut Interpreter, result: *mut Sv) {
        // SAFETY: the stack is extended to hold the slot above the mark.
        unsafe {
            let base = pvemp_stack_base(perl);
            pvemp_stack_extend(perl, base.offset(self.mark), 1);
            let base = pvemp_stack_base(perl); // EXTEND may have moved the stack
            *base.offset(self.mark + 1) = result;
            pvemp_stack_set_sp(perl, base.offset(self.mark + 1));
        }
    }
}

/// Register every export of a package as an XSUB `Package::name`.
///
/// # Safety
///
/// To be called by perl as the package's boot XSUB: `perl` is the running
/// interpreter, `package` is NUL-terminated and `exports` lives for the
/// whole process (the CVs keep pointers to its entries).
pub unsafe fn boot_package(
    perl: *mut Interpreter,
    _cv: *mut Cv,
    package: &'static str,
    exports: &'static [&'static [Export]],
) {
    // SAFETY: the caller's promise; the CVs point to 'static exports.
    unsafe {
        let (frame, _args) = StackFrame::enter(perl);
        install_panic_hook();
        let package = package.trim_end_matches('\0');
        for export in exports.iter().flat_map(|table| table.iter()) {
            let name = CString::new(format!("{package}::{}", export.name))
                .expect("export names contain no NUL");
            let cv = pvemp_new_xs(perl, name.as_ptr(), dispatch_xsub, SOURCE_FILE.as_ptr());
            pvemp_cv_set_any(cv, export as *const Export as *mut c_void);
        }
        frame.return_one(perl, pvemp_sv_yes(perl));
    }
}

/// The XSUB behind every export; the CV carries its [`Export`].
extern "C" fn dispatch_xsub(perl: *mut Interpreter, cv: *mut Cv) {
    // SAFETY: perl calls this as an XSUB of a CV that boot_package made, so
    // the CV's any-pointer is a &'static Export. No Rust value with a
    // destructor is alive when croak_sv longjmps out.
    unsafe {
        let (frame, args) = StackFrame::enter(perl);
        let export = &*(pvemp_cv_any(cv) as *const Export);
        let outcome = call_export(perl, export, args);
        match outcome {
            Ok(result) => frame.return_one(perl, result),
            Err(error) => pvemp_croak_sv(perl, error),
        }
    }
}

/// Run one export; the result or the exception as a mortal SV.
///
/// # Safety
///
/// `args` must be live SVs of the running interpreter `perl`.
#[inline(never)]
unsafe fn call_export(
    perl: *mut Interpreter,
    export: &Export,
    args: Vec<*mut Sv>,
) -> Result<*mut Sv, *mut Sv> {
    let died = Cell::new(None);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        check_argument_count(export, &args)?;
        // SAFETY: args are live SVs of perl (caller) until the call is
        // over, and so is `died`.
        let values = unsafe { ArgValues::new(perl, &args, &died) };
        // SAFETY: perl is the running interpreter.
        let mut output = unsafe { Output::new(perl) };
        (export.call)(values, &mut output).map_err(|err| match died.get() {
            Some(exception) => Failure::Rethrow(exception),
            None => super::error::exception(err, &mut output)
                .map_or_else(Failure::Message, Failure::Value),
        })?;
        Ok(match output.result {
            Some(result) => result.into_raw(),
            // SAFETY: perl is the running interpreter.
            None => unsafe { pvemp_new_undef(perl) },
        })
    }));
    // SAFETY: every SV here is a new one we own; mortal, perl frees it.
    unsafe {
        let message = match outcome {
            Ok(Ok(result)) => return Ok(pvemp_sv_2mortal(perl, result)),
            Ok(Err(Failure::Rethrow(exception))) => return Err(exception),
            Ok(Err(Failure::Value(exception))) => return Err(pvemp_sv_2mortal(perl, exception)),
            Ok(Err(Failure::Message(message))) => message,
            Err(panic) => format!(
                "internal error in {}: {}",
                export.name,
                panic_message(&*panic)
            ),
        };
        let mut message = message.trim_end().to_string();
        message.push('\n');
        Err(pvemp_sv_2mortal(perl, new_string(perl, &message)))
    }
}

/// Why a call failed.
enum Failure {
    /// Perl code run while reading the arguments died: its exception, a
    /// mortal SV.
    Rethrow(*mut Sv),
    /// A structured exception (see `error.rs`), a new SV we own.
    Value(*mut Sv),
    Message(String),
}

/// More arguments than the export takes are refused before any is read.
fn check_argument_count(export: &Export, args: &[*mut Sv]) -> Result<(), Failure> {
    if args.len() > export.params.len() {
        return Err(Failure::Message(format!(
            "{}: too many arguments (got {}, takes at most {})",
            export.name,
            args.len(),
            export.params.len()
        )));
    }
    Ok(())
}

/// One line on stderr (the daemon's journal) per panic, without a backtrace:
/// the panic also reaches the caller as an exception. The hook belongs to
/// this library's copy of std, so other Rust libraries in the process keep
/// theirs.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map(|location| format!(" at {}:{}", location.file(), location.line()))
                .unwrap_or_default();
            eprintln!(
                "pve-multipath: internal error: {}{location}",
                panic_message(info.payload())
            );
        }));
    });
}

fn panic_message(panic: &dyn Any) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "panic"
    }
}
