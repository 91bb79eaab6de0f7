//! The Typst world a document is typeset in: one source, its figures, the embedded fonts, a
//! fixed date. Nothing is read from disk or the network.

use std::collections::HashMap;
use std::sync::OnceLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::ReportError;

/// DejaVu Sans, regular and bold (data/fonts, Bitstream Vera licence), gzip-compressed.
const REGULAR: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans.ttf.gz");
const BOLD: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans-Bold.ttf.gz");

/// The embedded fonts, decompressed once.
pub(crate) fn fonts() -> Result<&'static [Font], ReportError> {
    static FONTS: OnceLock<Result<Vec<Font>, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut out = Vec::new();
            for gz in [REGULAR, BOLD] {
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut data).map_err(|e| e.to_string())?;
                out.extend(Font::iter(Bytes::new(data)));
            }
            if out.len() < 2 { Err("DejaVu Sans did not parse".to_owned()) } else { Ok(out) }
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| ReportError::Fonts(e.clone()))
}

pub(crate) struct MemoryWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: &'static [Font],
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Option<Datetime>,
}

fn id(path: &str) -> Result<FileId, ReportError> {
    let vpath = VirtualPath::new(path).map_err(|e| ReportError::Typeset(format!("{path}: {e:?}")))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl MemoryWorld {
    pub(crate) fn new(source: String, files: Vec<(String, Vec<u8>)>, date: (i32, u8, u8)) -> Result<Self, ReportError> {
        let fonts = fonts()?;
        let main = Source::new(id("/main.typ")?, source);
        let mut map = HashMap::new();
        for (name, bytes) in files {
            map.insert(id(&format!("/{name}"))?, Bytes::new(bytes));
        }
        Ok(Self {
            library: LazyHash::new(<Library as LibraryExt>::default()),
            book: LazyHash::new(FontBook::from_fonts(fonts)),
            fonts,
            main,
            files: map,
            today: Datetime::from_ymd(date.0, date.1, date.2),
        })
    }
}

impl World for MemoryWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::NotFound(std::path::PathBuf::from(format!("{id:?}")))) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files.get(&id).cloned().ok_or_else(|| FileError::NotFound(std::path::PathBuf::from(format!("{id:?}"))))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}
