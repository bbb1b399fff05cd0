"""Puts the generated binding (and the cdylib beside it) on the import path.

scripts/test-python.sh sets CITYCODE_PY_DIR to a directory holding citycode_ffi.py and
libcitycode_ffi.so.
"""
import os
import sys

sys.path.insert(0, os.environ["CITYCODE_PY_DIR"])
