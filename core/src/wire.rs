//! Byte-level building blocks: a cursor reader that cannot panic and rejects trailing
//! data, a writer, and canonical unsigned LEB128 varints.

use crate::error::Reason;

/// A cursor over untrusted bytes. Every read either returns the bytes asked for or
/// [`Reason::Truncated`]; nothing indexes past the end.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// The bytes not yet read.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Reason> {
        if n > self.rest.len() {
            return Err(Reason::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Reason> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Reason> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Reason> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Reason> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Reason> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A canonical unsigned LEB128 varint of at most 32 bits: no redundant trailing
    /// zero groups, no bits above 2^32.
    pub(crate) fn varint(&mut self) -> Result<u32, Reason> {
        let mut value: u64 = 0;
        for i in 0..5u32 {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i > 0 && byte == 0 {
                    return Err(Reason::NonCanonical);
                }
                return u32::try_from(value).map_err(|_| Reason::NonCanonical);
            }
        }
        Err(Reason::NonCanonical)
    }

    /// Succeeds only if every byte was consumed.
    pub(crate) fn finish(self) -> Result<(), Reason> {
        if self.rest.is_empty() { Ok(()) } else { Err(Reason::TrailingBytes) }
    }
}

/// Appends canonical encodings to a byte vector.
#[derive(Default, Debug)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Writer { buf: Vec::with_capacity(n) }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn varint(&mut self, mut v: u32) -> &mut Self {
        loop {
            let low = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(low);
                return self;
            }
            self.buf.push(low | 0x80);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_at_every_width_boundary() {
        for v in [0u32, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, u32::MAX] {
            let mut w = Writer::default();
            w.varint(v);
            let mut r = Reader::new(&w.buf);
            assert_eq!(r.varint(), Ok(v));
            assert_eq!(r.finish(), Ok(()));
        }
    }

    #[test]
    fn varint_rejects_non_canonical_and_overflow() {
        // 1 encoded with a redundant zero group.
        assert_eq!(Reader::new(&[0x81, 0x00]).varint(), Err(Reason::NonCanonical));
        // 2^32 needs 33 bits.
        assert_eq!(Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10]).varint(), Err(Reason::NonCanonical));
        // Six groups.
        assert_eq!(Reader::new(&[0xff; 6]).varint(), Err(Reason::NonCanonical));
        assert_eq!(Reader::new(&[0x80]).varint(), Err(Reason::Truncated));
    }

    #[test]
    fn reader_reports_truncation_and_trailing_bytes() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.clone().u16(), Err(Reason::Truncated));
        assert_eq!(r.clone().finish(), Err(Reason::TrailingBytes));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.finish(), Ok(()));
    }
}
