//! A minimal PDF file writer: numbered objects, deflated streams, the cross-reference
//! table and trailer. Only what the one-page card needs.

/// Objects of a PDF file, numbered from 1 in the order they are added or reserved.
#[derive(Default)]
pub(super) struct Pdf {
    objects: Vec<Vec<u8>>,
}

impl Pdf {
    /// Reserves the next object number, to be filled by [`Pdf::set`] (objects that refer
    /// to each other).
    pub fn reserve(&mut self) -> usize {
        self.objects.push(Vec::new());
        self.objects.len()
    }

    /// Sets the body of a reserved object.
    pub fn set(&mut self, id: usize, body: impl Into<Vec<u8>>) {
        if let Some(slot) = id.checked_sub(1).and_then(|i| self.objects.get_mut(i)) {
            *slot = body.into();
        }
    }

    /// Adds an object; returns its number.
    pub fn add(&mut self, body: impl Into<Vec<u8>>) -> usize {
        let id = self.reserve();
        self.set(id, body);
        id
    }

    /// Adds a stream, deflated (`FlateDecode`), with extra dictionary entries.
    pub fn stream(&mut self, extra: &str, data: &[u8]) -> usize {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 9);
        let mut body = format!("<< /Length {} /Filter /FlateDecode{extra} >>\nstream\n", packed.len()).into_bytes();
        body.extend_from_slice(&packed);
        body.extend_from_slice(b"\nendstream");
        self.add(body)
    }

    /// The file: header, objects, cross-reference table, trailer with `root` as catalog.
    pub fn finish(self, root: usize) -> Vec<u8> {
        // The binary comment marks the file as binary for transfer programs.
        let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (i, body) in self.objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            pdf.extend_from_slice(body);
            pdf.extend_from_slice(b"\nendobj\n");
        }
        let xref = pdf.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.objects.len() + 1);
        for o in offsets {
            table.push_str(&format!("{o:010} 00000 n \n"));
        }
        pdf.extend_from_slice(table.as_bytes());
        pdf.extend_from_slice(
            format!("trailer\n<< /Size {} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n", self.objects.len() + 1)
                .as_bytes(),
        );
        pdf
    }
}
