#!/usr/bin/env python3
"""Checks the generated Swift binding without a Swift toolchain (none installs here).

What a Swift build would check at link time and at first call, done by hand:
1. every C symbol the Swift file calls is declared in the generated header;
2. every function the header declares is exported by the cdylib and the staticlib;
3. the contract version and every API checksum the Swift file expects equal what the
   library returns when called (the check Swift runs at load time), via ctypes.
What is NOT checked: that the Swift compiles, and its runtime behaviour.
"""
import ctypes
import re
import subprocess
import sys

swift = open("bindings/generated/swift/citycode_ffi.swift", encoding="utf-8").read()
header = open("bindings/generated/swift/citycode_ffiFFI.h", encoding="utf-8").read()
modulemap = open("bindings/generated/swift/citycode_ffiFFI.modulemap", encoding="utf-8").read()
assert 'header "citycode_ffiFFI.h"' in modulemap, "modulemap does not name the header"

sym = re.compile(r"\b((?:uniffi|ffi)_citycode_ffi_[a-z0-9_]+)\s*\(")
called = set(sym.findall(swift))
declared = set(re.findall(r"\b((?:uniffi|ffi)_citycode_ffi_[a-z0-9_]+)\s*\(", header))
missing = called - declared
assert not missing, f"Swift calls undeclared symbols: {sorted(missing)}"


def exported(path, flags):
    out = subprocess.run(["nm", *flags, path], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if " T " in line}


for lib, flags in (("target/debug/libcitycode_ffi.so", ["-D"]), ("target/debug/libcitycode_ffi.a", [])):
    absent = declared - exported(lib, flags)
    assert not absent, f"{lib} lacks {sorted(absent)[:5]}"

lib = ctypes.CDLL("target/debug/libcitycode_ffi.so")
contract = int(re.search(r"let bindings_contract_version = (\d+)", swift).group(1))
fn = lib.ffi_citycode_ffi_uniffi_contract_version
fn.restype = ctypes.c_uint32
assert fn() == contract, f"contract version {fn()} != {contract}"
checks = re.findall(r"if \((uniffi_citycode_ffi_checksum_[a-z0-9_]+)\(\) != (\d+)\)", swift)
assert len(checks) > 20, "too few checksums found"
for name, expected in checks:
    f = getattr(lib, name)
    f.restype = ctypes.c_uint16
    assert f() == int(expected), f"{name}: library {f()} != swift {expected}"
print(f"swift: {len(called)} symbols declared and exported, contract {contract}, {len(checks)} checksums match")
