//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`).

use std::collections::BTreeMap;

use google_health::{
    ListPage,
    catalogue::{CATALOGUE, DataType, Intraday, Standard},
};

use crate::{
    chunks::{ChunkData, Records, Tier},
    import::PageSink,
    points::{self, PointReader},
    series::Series,
};

/// Reads `body` as a `list` page of the data type `index` names (modulo the catalogue), as
/// an import reads one into the chunks of each tier the type has, and checks that every
/// chunk it fills reads back as it was written: a chunk that does not would lose the data.
pub fn read_list_page(index: u8, body: &[u8]) {
    let data_type = &CATALOGUE[usize::from(index) % CATALOGUE.len()];
    let Ok(page) = google_health::fuzzing::list_page(body) else {
        return;
    };
    if let Ok((values, _)) = page.values() {
        for value in &values {
            let _ = points::place(data_type, value);
        }
    }
    if data_type.standard == Standard::List {
        read_into::<Records>(Tier::Standard, data_type, &page);
    }
    if data_type.intraday == Intraday::List {
        read_into::<Series>(Tier::Intraday, data_type, &page);
    }
}

fn read_into<C: ChunkData>(tier: Tier, data_type: &'static DataType, page: &ListPage) {
    let mut reader = PointReader::new(data_type);
    let mut open: BTreeMap<String, C> = BTreeMap::new();
    let mut current = (String::new(), 0, 0);
    let mut sink = PageSink {
        data_type,
        tier,
        civil_range: i64::MIN..i64::MAX,
        reader: &mut reader,
        open: &mut open,
        current: &mut current,
        oldest_seen: i64::MAX,
        points: 0,
    };
    if page.read(&mut sink).is_err() {
        return;
    }
    for (period, chunk) in &open {
        let written = chunk.encode();
        let read = C::decode(&written).unwrap_or_else(|problem| {
            panic!("the chunk for {period} does not read back: {problem}")
        });
        assert!(
            read.encode() == written,
            "the chunk for {period} reads back differently"
        );
    }
}
