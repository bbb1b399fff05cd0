"""citycode: signed, short-lived, device-bound city codes (UniFFI bindings of the Rust
library). Every name comes from the generated module; the annotations in it are the
package's type information (PEP 561, `py.typed`)."""

from .ffi import *  # noqa: F401,F403
