//! Compiles the perlguts glue (`src/perl/glue.c`) against the running
//! perl's headers with its own compiler flags. libperl is not linked: the
//! symbols resolve from the perl process that loads the library.

use std::process::Command;

fn perl_config(key: &str) -> String {
    let output = Command::new("perl")
        .args(["-MConfig", "-e", &format!("print $Config{{{key}}}")])
        .output()
        .expect("failed to run perl to read its build configuration");
    assert!(output.status.success(), "perl -MConfig failed for '{key}'");
    String::from_utf8(output.stdout).expect("perl config is not UTF-8")
}

fn main() {
    println!("cargo:rerun-if-changed=src/perl/glue.c");

    let core = format!("{}/CORE", perl_config("archlib"));
    let mut build = cc::Build::new();
    build.file("src/perl/glue.c").include(&core);
    for flag in perl_config("ccflags").split_whitespace() {
        build.flag(flag);
    }
    build.flag("-Wno-unused-parameter");
    build.compile("pvemp_glue");
}
