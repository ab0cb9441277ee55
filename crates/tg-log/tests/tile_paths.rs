//! C2SP tlog-tiles paths: the specification's examples, and only canonical spellings.

use tg_log::TilePath;

#[test]
fn paths_render_and_parse_as_the_specification_writes_them() {
    let cases = [
        (
            TilePath {
                level: Some(0),
                index: 1_234_067,
                partial: None,
            },
            "tile/0/x001/x234/067",
        ),
        (
            TilePath {
                level: Some(1),
                index: 5,
                partial: Some(17),
            },
            "tile/1/005.p/17",
        ),
        (
            TilePath {
                level: None,
                index: 273,
                partial: Some(112),
            },
            "tile/entries/273.p/112",
        ),
        (
            TilePath {
                level: Some(2),
                index: 1000,
                partial: None,
            },
            "tile/2/x001/000",
        ),
    ];
    for (path, text) in cases {
        assert_eq!(path.render(), text);
        assert_eq!(
            TilePath::parse(text.trim_start_matches("tile/")),
            Some(path)
        );
    }
}

#[test]
fn non_canonical_paths_are_refused() {
    for bad in [
        "0/x000/005",
        "0/5",
        "0/0005",
        "00/005",
        "0/005.p/0",
        "0/005.p/256",
        "0/005.p/07",
        "0/005/x001",
        "entries",
        "0/x001",
        "64/000",
    ] {
        assert_eq!(TilePath::parse(bad), None, "{bad}");
    }
}
