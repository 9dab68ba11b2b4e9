//! One section of every identity page as zstd frames: written slot by slot with a dictionary
//! trained on the section's first frames, read back one frame at a time.

use std::cell::RefCell;

use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use crate::store::{Result, StoreError};

/// Sample bytes a section's dictionary is trained on, and the dictionary's size.
const SAMPLE_BYTES: usize = 4 << 20;
const DICT_BYTES: usize = 64 << 10;
/// zstd level: the build is on the serving machine, and level 3 costs little more than 1.
const LEVEL: i32 = 3;
/// The most compressed bytes the index may hold; beyond it pages are read from the store.
const MAX_BYTES: usize = 6 << 30;

/// One section of every page: identity `slot`'s frame is `data[ends[slot - 1]..ends[slot]]`
/// (empty: the section has no rows for it).
pub(super) struct Section {
    dict: Option<DDict<'static>>,
    pub(super) data: Vec<u8>,
    pub(super) ends: Vec<u64>,
}

impl Section {
    /// Identity `slot`'s frame, decompressed (`None`: no rows).
    pub(super) fn decode(&self, slot: u32) -> Result<Option<Vec<u8>>> {
        let frame = self.frame(slot);
        if frame.is_empty() {
            return Ok(None);
        }
        let size = zstd::zstd_safe::get_frame_content_size(frame)
            .ok()
            .flatten()
            .ok_or_else(|| StoreError::Invalid("identity page frame has no size".into()))?;
        let mut out: Vec<u8> = Vec::with_capacity(size as usize);
        DCTX.with(|d| {
            let mut d = d.borrow_mut();
            match &self.dict {
                Some(dict) => d.decompress_using_ddict(&mut out, frame, dict),
                None => d.decompress(&mut out, frame),
            }
        })
        .map_err(|code| {
            StoreError::Invalid(format!(
                "identity page frame: {}",
                zstd::zstd_safe::get_error_name(code)
            ))
        })?;
        Ok(Some(out))
    }

    fn frame(&self, slot: u32) -> &[u8] {
        let slot = slot as usize;
        let start = if slot == 0 { 0 } else { self.ends[slot - 1] } as usize;
        let end = self.ends.get(slot).copied().unwrap_or(start as u64) as usize;
        &self.data[start..end.max(start)]
    }
}

thread_local! {
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// Appends one section's frames, slot by slot, training its dictionary on the first ones.
pub(super) struct SectionWriter {
    cctx: CCtx<'static>,
    cdict: Option<CDict<'static>>,
    dict: Option<Vec<u8>>,
    /// Payloads held back until the dictionary is trained: (slot, payload).
    pending: Vec<(u32, Vec<u8>)>,
    pending_bytes: usize,
    data: Vec<u8>,
    ends: Vec<u64>,
    scratch: Vec<u8>,
}

impl SectionWriter {
    pub(super) fn new() -> SectionWriter {
        SectionWriter {
            cctx: CCtx::create(),
            cdict: None,
            dict: None,
            pending: Vec::new(),
            pending_bytes: 0,
            data: Vec::new(),
            ends: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, slot: u32, payload: Vec<u8>) -> Result<()> {
        if self.dict.is_none() && self.cdict.is_none() && self.pending_bytes < SAMPLE_BYTES {
            self.pending_bytes += payload.len();
            self.pending.push((slot, payload));
            if self.pending_bytes >= SAMPLE_BYTES {
                self.train()?;
            }
            return Ok(());
        }
        self.write(slot, &payload)
    }

    /// Trains the dictionary on the payloads held back (none when zstd finds too little to
    /// learn from), then writes them.
    fn train(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let sizes: Vec<usize> = pending.iter().map(|(_, p)| p.len()).collect();
        let joined: Vec<u8> = pending
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        if pending.len() >= 16 {
            if let Ok(dict) = zstd::dict::from_continuous(&joined, &sizes, DICT_BYTES) {
                self.cdict = CDict::try_create(&dict, LEVEL);
                self.dict = Some(dict);
            }
        }
        // Marks the section as trained even without a dictionary.
        self.dict.get_or_insert_with(Vec::new);
        for (slot, payload) in pending {
            self.write(slot, &payload)?;
        }
        Ok(())
    }

    fn write(&mut self, slot: u32, payload: &[u8]) -> Result<()> {
        let slot = slot as usize;
        if slot < self.ends.len() {
            return Err(StoreError::Invalid(
                "identity page sections came out of order".into(),
            ));
        }
        self.ends.resize(slot, self.data.len() as u64);
        // zstd writes from the start of the buffer it is given.
        self.scratch.clear();
        self.scratch
            .reserve(zstd::zstd_safe::compress_bound(payload.len()));
        let written = match &self.cdict {
            Some(cdict) => self
                .cctx
                .compress_using_cdict(&mut self.scratch, payload, cdict),
            None => self.cctx.compress(&mut self.scratch, payload, LEVEL),
        };
        written.map_err(|code| {
            StoreError::Invalid(format!(
                "compressing an identity page failed: {}",
                zstd::zstd_safe::get_error_name(code)
            ))
        })?;
        self.data.extend_from_slice(&self.scratch);
        self.ends.push(self.data.len() as u64);
        if self.data.len() > MAX_BYTES {
            return Err(StoreError::Invalid(
                "identity pages exceed the in-memory limit".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn finish(mut self, slots: usize) -> Result<Section> {
        if !self.pending.is_empty() || self.dict.is_none() {
            self.train()?;
        }
        self.ends.resize(slots, self.data.len() as u64);
        self.data.shrink_to_fit();
        let dict = match self.dict.filter(|d| !d.is_empty()) {
            Some(d) => Some(DDict::try_create(&d).ok_or_else(|| {
                StoreError::Invalid("zstd cannot load a trained dictionary".into())
            })?),
            None => None,
        };
        Ok(Section {
            dict,
            data: self.data,
            ends: self.ends,
        })
    }
}
